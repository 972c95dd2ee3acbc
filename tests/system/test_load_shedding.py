"""Intake sheds load: ``COMMENTGATE_INTAKE_MAX_PER_SECOND`` and ``..._MAX_WAIT_MS``.

In process first (what is counted, what a shed request gets), then against a live
gunicorn server: a post that queued behind a busy worker is shed, and a flood from many
concurrent clients gets only 202 and 503, never a 500 or a connection error. The gate's
own mechanics are in tests/service/web/test_admission.py.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import redis
from flask.testing import FlaskClient

from service.core.settings import Settings
from service.web.admission import BURST_SECONDS, SHED_RETRY_AFTER_SECONDS
from tests.conftest import new_comment, solved
from tests.system.conftest import PUBLISH_ALL, LiveServer

#: Attempts at a check that must fit within one admission interval.
WINDOW_ATTEMPTS = 3


def client_for(make_settings: Callable[..., Settings], **overrides: Any) -> FlaskClient:
    from service.web.app import create_app

    return create_app(make_settings(**overrides)).test_client()


def burst_within_one_window(
    client: FlaskClient, redis_client: redis.Redis, count: int
) -> list[tuple[int, dict[str, Any], dict[str, str]]]:
    """Post ``count`` comments within 0.8 s (retried if the machine is slow).

    Returns:
        (status, body, headers) of each post.
    """
    for _attempt in range(WINDOW_ATTEMPTS):
        redis_client.flushdb()
        payloads = [new_comment(client) for _ in range(count)]
        started = time.monotonic()
        responses = [client.post("/api/v1/comments", json=p) for p in payloads]
        if time.monotonic() - started < 0.8:
            return [(r.status_code, r.get_json(), dict(r.headers)) for r in responses]
    pytest.skip(f"{count} posts took over 0.8 s {WINDOW_ATTEMPTS} times: machine too slow")


@pytest.mark.parametrize("per_client_limits", [True, False])
def test_posts_over_the_admission_limit_get_503_with_retry_after(
    make_settings: Callable[..., Settings], redis_client: redis.Redis, per_client_limits: bool
) -> None:
    client = client_for(
        make_settings,
        intake_max_per_second=1,
        rate_limits_enabled=per_client_limits,
        rate_limit_comments="1000/minute",
    )
    results = burst_within_one_window(client, redis_client, 5)
    # One post per second: the first goes through, the next within the second are shed.
    assert [status for status, _, _ in results] == [202, 503, 503, 503, 503]
    for _, body, headers in results[1:]:
        assert body["code"] == "unavailable"
        assert body["status"] == 503
        assert headers["Content-Type"].startswith("application/problem+json")
        assert headers["Retry-After"] == str(SHED_RETRY_AFTER_SECONDS)
    # Counted like any other rejected submission; nothing was stored for them.
    counters = redis_client.hgetall("cg:metrics:counters")
    assert counters[b"commentgate_comments_received|site=|outcome=unavailable"] == b"4"
    assert counters[b"commentgate_comments_received|site=default|outcome=accepted"] == b"1"


def test_shed_browser_form_gets_a_page(
    make_settings: Callable[..., Settings], redis_client: redis.Redis
) -> None:
    client = client_for(make_settings, intake_max_per_second=1, rate_limits_enabled=False)
    headers = {"Accept": "text/html,application/xhtml+xml"}
    answers = [
        client.post("/api/v1/comments", data=new_comment(client), headers=headers) for _ in range(2)
    ]
    assert answers[0].status_code == 303  # admitted: back to the page it came from
    shed = answers[1]
    assert shed.status_code == 503
    assert shed.mimetype == "text/html"
    assert shed.headers["Retry-After"] == str(SHED_RETRY_AFTER_SECONDS)
    assert b"nothing was saved" in shed.data


def test_redis_down_admits_and_intake_answers_503(make_settings: Callable[..., Settings]) -> None:
    from service.web.app import create_app

    client = create_app(
        make_settings(redis_url="redis://127.0.0.1:9/0", intake_max_per_second=1)
    ).test_client()
    response = client.post("/api/v1/comments", json=new_comment(client))
    # The gate could not count it, so it let it through; intake then answered 503 itself.
    assert response.status_code == 503
    assert response.get_json()["code"] == "unavailable"
    assert response.headers["Retry-After"]


def test_admission_limit_counts_comment_posts_only(
    make_settings: Callable[..., Settings], redis_client: redis.Redis
) -> None:
    client = client_for(make_settings, intake_max_per_second=1, rate_limits_enabled=False)
    assert client.post("/api/v1/comments", json=new_comment(client)).status_code == 202
    # Reading, captchas and health are never shed, however busy intake is.
    assert {client.get("/api/v1/captcha").status_code for _ in range(5)} == {200}
    assert client.get("/api/v1/comments?thread=t").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_per_client_limit_still_answers_429(
    make_settings: Callable[..., Settings], redis_client: redis.Redis
) -> None:
    client = client_for(make_settings, intake_max_per_second=100, rate_limit_comments="2/minute")
    codes = [client.post("/api/v1/comments", json=new_comment(client)) for _ in range(3)]
    assert [r.status_code for r in codes] == [202, 202, 429]
    assert codes[-1].get_json()["code"] == "rate_limited"
    assert int(codes[-1].headers["Retry-After"]) > 0


def test_admission_limit_is_off_by_default(
    make_settings: Callable[..., Settings], redis_client: redis.Redis
) -> None:
    assert make_settings().intake_max_per_second == 0
    client = client_for(make_settings, rate_limits_enabled=False)
    results = burst_within_one_window(client, redis_client, 8)
    assert {status for status, _, _ in results} == {202}


def test_invalid_admission_limit_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.core.exceptions import ConfigurationError
    from service.core.settings import load_settings

    monkeypatch.setenv("COMMENTGATE_SECRET_KEY", "s")
    monkeypatch.setenv("COMMENTGATE_INTAKE_MAX_PER_SECOND", "-1")
    with pytest.raises(ConfigurationError, match="COMMENTGATE_INTAKE_MAX_PER_SECOND"):
        load_settings()


# -- a flood against a live server -----------------------------------------------------

#: Concurrent clients of the flood, each on its own connections.
FLOOD_CLIENTS = 24
#: Seconds the flood lasts.
FLOOD_SECONDS = 3.0
#: Admitted posts per second.
ADMIT_PER_SECOND = 20


@pytest.mark.slow
def test_flood_from_many_clients_is_shed_never_failed(
    redis_url: str, web_factory: Callable[..., LiveServer]
) -> None:
    """Many concurrent clients: 202 up to the admission limit, 503 beyond, nothing else."""
    web = web_factory(
        redis_url,
        COMMENTGATE_INTAKE_MAX_PER_SECOND=str(ADMIT_PER_SECOND),
        COMMENTGATE_RATE_LIMITS_ENABLED="false",
        **PUBLISH_ALL,
    )
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    retry_after: set[str | None] = set()
    lock = threading.Lock()
    deadline = time.monotonic() + FLOOD_SECONDS

    def flood(client_no: int) -> None:
        with httpx.Client(base_url=web.url, timeout=30, trust_env=False) as http:
            for i in range(10_000):  # bounded; the deadline ends it first
                if time.monotonic() > deadline:
                    return
                try:
                    response = http.post(
                        "/api/v1/comments",
                        json=solved(
                            http.get("/api/v1/captcha").json(),
                            thread="https://blog.example/posts/flood",
                            body=f"Flood comment {client_no}-{i}, about the article.",
                            author_name=f"visitor{client_no}",
                        ),
                    )
                except httpx.TransportError as exc:
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                with lock:
                    statuses[response.status_code] += 1
                    if response.status_code == 503:
                        retry_after.add(response.headers.get("Retry-After"))

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=FLOOD_CLIENTS) as pool:
        list(pool.map(flood, range(FLOOD_CLIENTS)))
    elapsed = time.monotonic() - started

    assert not errors, f"transport errors: {errors[:3]} ({len(errors)})"
    assert set(statuses) <= {202, 503}, dict(statuses)
    assert statuses[503] > 0, f"nothing was shed: {dict(statuses)}"
    # A rate: at most the burst plus what the rate allowed while the flood lasted.
    burst = max(1, round(ADMIT_PER_SECOND * BURST_SECONDS))
    assert statuses[202] <= burst + ADMIT_PER_SECOND * elapsed + 1, dict(statuses)
    assert retry_after == {str(SHED_RETRY_AFTER_SECONDS)}
    assert web.proc.poll() is None


@pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="TCP_INFO is Linux-only")
def test_post_that_queued_behind_a_busy_worker_is_shed(
    redis_url: str, web_factory: Callable[..., LiveServer]
) -> None:
    """One gunicorn worker held by a slow client: the post queued behind it gets 503."""
    web = web_factory(
        redis_url, COMMENTGATE_INTAKE_MAX_WAIT_MS="100", COMMENTGATE_RATE_LIMITS_ENABLED="false"
    )
    host, port = web.url.removeprefix("http://").split(":")
    with httpx.Client(base_url=web.url, timeout=30, trust_env=False) as http:
        payloads = [
            json.dumps(
                solved(http.get("/api/v1/captcha").json(), thread="t", body=f"Queued {i}.")
            ).encode()
            for i in range(2)
        ]
    requests = [
        b"POST /api/v1/comments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        for body in payloads
    ]
    with (
        socket.create_connection((host, int(port))) as slow,
        socket.create_connection((host, int(port))) as queued,
    ):
        slow.sendall(requests[0][:40])  # the only worker now waits for the rest of it
        queued.sendall(requests[1])  # complete, but queued behind the slow one
        time.sleep(0.3)  # the queued post ages past the 100 ms limit
        slow.sendall(requests[0][40:])
        answers = [read_response(sock) for sock in (slow, queued)]
    assert answers[0].startswith(b"HTTP/1.1 202"), answers[0][:80]
    assert answers[1].startswith(b"HTTP/1.1 503"), answers[1][:80]
    assert b"Retry-After: 1" in answers[1]
    assert b'"code": "unavailable"' in answers[1]


def read_response(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(30)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)
