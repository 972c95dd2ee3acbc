"""The admission gate: the GCRA rate and the queue-wait limit, against a real Redis.

Flask is not needed here: the gate is WSGI middleware, so it is driven with environs
and a stand-in application that records what reached it. The end-to-end behaviour
(problem bodies, browser pages, live gunicorn) is in tests/system/test_load_shedding.py.
"""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from service.web.admission import (
    ADMISSION_KEY,
    BURST_SECONDS,
    INTAKE_PATH,
    SHED_RETRY_AFTER_SECONDS,
    AdmissionGate,
    queue_wait_ms,
)

SHED_FIELD = b"commentgate_comments_received|site=|outcome=unavailable"


class App:
    """A WSGI app counting the requests that reach it."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.calls += 1
        start_response("202 ACCEPTED", [("Content-Type", "application/json")])
        return [b"{}"]


def post(gate: AdmissionGate, **environ: Any) -> tuple[str, dict[str, str]]:
    """Send one ``POST /api/v1/comments`` through the gate; its status and headers."""
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen.update(status=status, headers=dict(headers))

    gate({"REQUEST_METHOD": "POST", "PATH_INFO": INTAKE_PATH, **environ}, start_response)
    return seen["status"], seen["headers"]


@pytest.fixture
def waited() -> Iterator[socket.socket]:
    """A server-side TCP connection whose request arrived at least 60 ms ago."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        client.sendall(b"POST /api/v1/comments HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.06)  # the request ages in the backlog: the wait is what is measured
        server, _ = listener.accept()
        try:
            yield server
        finally:
            server.close()
            client.close()


@pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="TCP_INFO is Linux-only")
def test_queue_wait_is_read_from_the_kernel(waited: socket.socket) -> None:
    wait = queue_wait_ms({"gunicorn.socket": waited})
    assert wait is not None
    assert wait >= 50  # 60 ms at least passed; jiffies round it by a few ms at most


def test_queue_wait_is_unknown_without_a_tcp_socket() -> None:
    assert queue_wait_ms({}) is None
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        assert queue_wait_ms({"gunicorn.socket": left}) is None
    assert queue_wait_ms({"gunicorn.socket": object()}) is None


@pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="TCP_INFO is Linux-only")
def test_a_post_that_queued_too_long_is_shed_and_counted(
    redis_client: redis.Redis, waited: socket.socket
) -> None:
    app = App()
    gate = AdmissionGate(app, redis_client, per_second=0, max_wait_ms=20)
    status, headers = post(gate, **{"gunicorn.socket": waited})
    assert status.startswith("503")
    assert headers["Retry-After"] == str(SHED_RETRY_AFTER_SECONDS)
    assert app.calls == 0
    assert redis_client.hget("cg:metrics:counters", SHED_FIELD) == b"1"
    # Within the limit, or where the wait is unknown, the post goes through.
    patient = AdmissionGate(app, redis_client, per_second=0, max_wait_ms=60_000)
    assert post(patient, **{"gunicorn.socket": waited})[0].startswith("202")
    assert post(gate)[0].startswith("202")
    assert app.calls == 2


@pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="TCP_INFO is Linux-only")
def test_the_wait_limit_holds_while_redis_is_down(waited: socket.socket) -> None:
    down = redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.5)
    app = App()
    gate = AdmissionGate(app, down, per_second=10, max_wait_ms=20)
    assert post(gate, **{"gunicorn.socket": waited})[0].startswith("503")
    # The rate cannot be checked: the post is let through (intake answers 503 itself).
    assert post(gate)[0].startswith("202")


def test_the_rate_admits_a_burst_then_one_post_per_interval(redis_client: redis.Redis) -> None:
    per_second = 1000  # a burst of 100, then one post per millisecond
    gate = AdmissionGate(App(), redis_client, per_second=per_second, max_wait_ms=0)
    assert gate.burst == round(per_second * BURST_SECONDS) == 100
    started = time.monotonic()
    admitted = sum(gate.admitted({}) for _ in range(400))
    elapsed = time.monotonic() - started
    # At least the burst; beyond it only what the rate accrued while the loop ran.
    assert gate.burst <= admitted <= gate.burst + math.ceil(elapsed * per_second) + 1
    shed = redis_client.hget("cg:metrics:counters", SHED_FIELD)
    assert int(shed or 0) == 400 - admitted
    # The schedule expires with its horizon: nothing is left behind when traffic stops.
    assert 0 < redis_client.pttl(ADMISSION_KEY) <= 1000 + 400


def test_a_low_rate_admits_one_post_at_a_time(redis_client: redis.Redis) -> None:
    gate = AdmissionGate(App(), redis_client, per_second=2, max_wait_ms=0)
    assert gate.burst == 1
    started = time.monotonic()
    results = [gate.admitted({}) for _ in range(5)]
    if time.monotonic() - started >= 0.5:
        pytest.skip("5 Redis calls took half a second: machine too slow for this check")
    assert results == [True, False, False, False, False]


def test_other_requests_are_never_shed(redis_client: redis.Redis, waited: socket.socket) -> None:
    app = App()
    gate = AdmissionGate(app, redis_client, per_second=1, max_wait_ms=1)
    responses: list[str] = []
    for method, path in [("GET", INTAKE_PATH), ("POST", "/moderate/login"), ("GET", "/healthz")]:
        gate(
            {"REQUEST_METHOD": method, "PATH_INFO": path, "gunicorn.socket": waited},
            lambda status, headers: responses.append(status),
        )
    assert responses == ["202 ACCEPTED"] * 3
    assert redis_client.get(ADMISSION_KEY) is None
