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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from gunicorn.app.base import BaseApplication

from service.cli.web import gunicorn_options


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


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return create_bare_app()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bind", required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    _Server(gunicorn_options(args.bind, args.workers)).run()
