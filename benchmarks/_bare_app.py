"""The baseline for intake: a bare Flask endpoint doing one Redis write, served by
gunicorn with exactly the options ``commentgate web`` uses.

Run: ``python benchmarks/_bare_app.py --bind HOST:PORT --workers N``
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from service.cli.web import GunicornServer, gunicorn_options


def create_bare_app() -> Flask:
    app = Flask(__name__)
    client = redis.Redis.from_url(os.environ["COMMENTGATE_REDIS_URL"])

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        return jsonify({"status": "ok"})

    @app.post("/bare")
    def bare() -> ResponseReturnValue:
        comment_id = uuid.uuid4().hex
        client.set(f"bare:{comment_id}", request.get_data(), ex=600)
        return jsonify({"id": comment_id, "status": "pending"}), 202

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bind", required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    GunicornServer(create_bare_app, gunicorn_options(args.bind, args.workers)).run()
