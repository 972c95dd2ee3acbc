"""Webhook delivery to a local receiver: signature, retries with backoff, failure.

Deliveries are checked with the verification snippet of docs/operations.md, extracted
from the document, so the documentation cannot drift from what the workers send.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from rq.registry import FailedJobRegistry

from service.core.queues import WEBHOOKS
from service.core.settings import webhook_key
from service.core.store import keys
from tests.conftest import TEST_SECRET, new_comment
from tests.workers.conftest import Workers, wait_for
from workers.webhooks import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(bytes(range(100, 132))).decode()
OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def documented_verifier() -> dict[str, Any]:
    """Run the verification snippet of docs/operations.md; return its names."""
    text = OPERATIONS.read_text(encoding="utf-8")
    found = re.search(
        r"<!-- webhook-verify:start -->\n```python\n(.*?)```\n<!-- webhook-verify:end -->",
        text,
        re.DOTALL,
    )
    assert found, "docs/operations.md lost its webhook verification snippet"
    namespace: dict[str, Any] = {"__name__": "webhook_receiver"}
    exec(compile(found.group(1), str(OPERATIONS), "exec"), namespace)
    return namespace


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


def hook_env(url: str, secret: str = SECRET, **extra: str) -> dict[str, str]:
    return {
        "COMMENTGATE_WEBHOOKS": f"{url}={secret}",
        "COMMENTGATE_PUBLISH_BELOW": "0.999999",
        "COMMENTGATE_SPAM_ABOVE": "1.0",
        **extra,
    }


def test_each_receiver_gets_a_delivery_signed_with_its_own_secret(
    client: FlaskClient, workers: Workers, receiver: Receiver
) -> None:
    other = Receiver()
    other.thread.start()
    try:
        comment_id = client.post("/api/v1/comments", json=new_comment(client)).get_json()["id"]
        workers.burst(**hook_env(f"{receiver.url}={SECRET},{other.url}", OTHER_SECRET))
        [(headers, body)] = receiver.delivered()
        [(other_headers, other_body)] = other.delivered()
    finally:
        other.server.shutdown()
        other.server.server_close()
    verifier = documented_verifier()
    verify, invalid = verifier["verify"], verifier["InvalidWebhook"]
    event = json.loads(body)
    assert verify(SECRET, headers, body) == event["id"] == headers[ID_HEADER]
    assert verify(OTHER_SECRET, other_headers, other_body) == event["id"]
    with pytest.raises(invalid):
        verify(OTHER_SECRET, headers, body)  # one receiver cannot forge for another
    # the master key signs nothing a receiver sees
    master = sign(TEST_SECRET.encode(), event["id"], int(headers[TIMESTAMP_HEADER]), body)
    assert master not in headers[SIGNATURE_HEADER]
    assert TEST_SECRET not in json.dumps(headers)
    assert event["type"] == headers["X-Commentgate-Event"] == "comment.published"
    assert event["data"]["id"] == comment_id
    assert event["data"]["status"] == "published"
    assert "author_email" not in event["data"]
    assert "ip" not in event["data"]


def test_signature_matches_the_standard_webhooks_worked_example() -> None:
    # The example of the Standard Webhooks specification and its reference libraries:
    # a receiver using any of them accepts what commentgate sends.
    key = webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    signature = sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_documented_verification_refuses_forgeries_and_replays(
    client: FlaskClient, workers: Workers, receiver: Receiver
) -> None:
    client.post("/api/v1/comments", json=new_comment(client))
    workers.burst(**hook_env(receiver.url))
    [(headers, body)] = receiver.delivered()
    verifier = documented_verifier()
    verify, invalid = verifier["verify"], verifier["InvalidWebhook"]
    assert verify(SECRET, headers, body) == headers[ID_HEADER]

    def forged(**changes: str) -> dict[str, str]:
        return {**headers, **changes}

    key = webhook_key(SECRET)
    stale = int(time.time()) - 3600
    attempts: list[tuple[dict[str, str], bytes]] = [
        (headers, body.replace(b'"published"', b'"rejected"')),  # body changed
        (forged(**{TIMESTAMP_HEADER: str(int(headers[TIMESTAMP_HEADER]) + 1)}), body),
        (forged(**{ID_HEADER: "evt_other"}), body),  # id is signed too
        # a correctly signed delivery from an hour ago: a replay
        (
            forged(
                **{
                    TIMESTAMP_HEADER: str(stale),
                    SIGNATURE_HEADER: sign(key, headers[ID_HEADER], stale, body),
                }
            ),
            body,
        ),
        (forged(**{SIGNATURE_HEADER: "v1,\u00e9t\u00e9"}), body),  # not even ASCII
        ({k: v for k, v in headers.items() if k.lower() != SIGNATURE_HEADER}, body),
        ({k: v for k, v in headers.items() if k.lower() != TIMESTAMP_HEADER}, body),
        (forged(**{TIMESTAMP_HEADER: "\u00b2"}), body),  # a digit to str.isdigit, not to int
    ]
    for bad_headers, bad_body in attempts:
        with pytest.raises(invalid):
            verify(SECRET, bad_headers, bad_body)


def test_failed_delivery_is_retried_with_backoff(
    client: FlaskClient, workers: Workers, receiver: Receiver
) -> None:
    receiver.fail_first = 2
    client.post("/api/v1/comments", json=new_comment(client))
    workers.start(**hook_env(receiver.url, COMMENTGATE_WEBHOOK_BACKOFF_SECONDS="1"))
    wait_for(lambda: len(receiver.delivered()) == 1, timeout=60, what="the third attempt")
    assert [status for _, _, status in receiver.requests] == [500, 500, 204]
    # Every attempt is signed afresh and carries the same webhook-id: a receiver that
    # acted on an attempt but failed to answer acts once, following the documentation.
    receive: Callable[[str, dict[str, str], bytes], bool] = documented_verifier()["receive"]
    assert len({headers[ID_HEADER] for headers, _, _ in receiver.requests}) == 1
    assert [receive(SECRET, h, b) for h, b, _ in receiver.requests] == [True, False, False]


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
