"""Webhook delivery to a local receiver: signature, retries with backoff, failure."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from rq.registry import FailedJobRegistry

from service.queues import WEBHOOKS
from service.store import keys
from tests.conftest import new_comment
from tests.workers.conftest import Workers, wait_for

SECRET = "whsec-test"


class Receiver:
    """An HTTP server on a free loopback port that records what it is sent."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    status = 500 if len(receiver.requests) < receiver.fail_first else 204
                    receiver.requests.append((dict(self.headers), body, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def delivered(self) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(h, b) for h, b, status in self.requests if status < 300]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def hook_env(url: str, **extra: str) -> dict[str, str]:
    return {
        "COMMENTGATE_WEBHOOK_URLS": url,
        "COMMENTGATE_WEBHOOK_SECRET": SECRET,
        "COMMENTGATE_PUBLISH_BELOW": "0.999999",
        "COMMENTGATE_SPAM_ABOVE": "1.0",
        **extra,
    }


def test_published_event_is_signed(
    client: FlaskClient, workers: Workers, receiver: Receiver
) -> None:
    comment_id = client.post("/api/v1/comments", json=new_comment(client)).get_json()["id"]
    workers.burst(**hook_env(receiver.url))
    [(headers, body)] = receiver.delivered()
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Commentgate-Signature"], expected)
    event = json.loads(body)
    assert event["type"] == headers["X-Commentgate-Event"] == "comment.published"
    assert event["data"]["id"] == comment_id
    assert event["data"]["status"] == "published"
    assert "author_email" not in event["data"]
    assert "ip" not in event["data"]


def test_failed_delivery_is_retried_with_backoff(
    client: FlaskClient, workers: Workers, receiver: Receiver
) -> None:
    receiver.fail_first = 2
    client.post("/api/v1/comments", json=new_comment(client))
    workers.start(**hook_env(receiver.url, COMMENTGATE_WEBHOOK_BACKOFF_SECONDS="1"))
    wait_for(lambda: len(receiver.delivered()) == 1, timeout=60, what="the third attempt")
    assert [status for _, _, status in receiver.requests] == [500, 500, 204]


def test_dead_receiver_ends_in_failed_registry_without_stalling_scoring(
    client: FlaskClient, workers: Workers, redis_client: redis.Redis
) -> None:
    dead = "http://127.0.0.1:9/hook"  # discard port: connection refused
    ids = [
        client.post("/api/v1/comments", json=new_comment(client)).get_json()["id"] for _ in range(3)
    ]
    workers.start(
        **hook_env(
            dead,
            COMMENTGATE_WEBHOOK_MAX_RETRIES="1",
            COMMENTGATE_WEBHOOK_BACKOFF_SECONDS="1",
            COMMENTGATE_WEBHOOK_TIMEOUT_SECONDS="1",
        )
    )
    failed = FailedJobRegistry(WEBHOOKS, connection=redis_client)
    wait_for(lambda: failed.count == 3, timeout=60, what="deliveries to fail")
    for comment_id in ids:
        assert redis_client.hget(keys.comment(comment_id), "status") == b"published"
