"""A full Redis (``maxmemory`` reached, ``noeviction``) seen by the web app.

Redis answers a refused write with ``-OOM``, which redis-py raises as
``OutOfMemoryError`` (a ``ResponseError``), from a plain command, a pipeline and a Lua
script alike. These tests raise it where Redis would; tests/system/test_redis_full.py
fills a real Redis.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from service.core.store import CommentStore
from service.web.api.health import WRITE_RESERVE
from tests.conftest import new_comment

OOM = redis.exceptions.OutOfMemoryError("command not allowed when used memory > 'maxmemory'.")


def refuse(*_args: Any, **_kwargs: Any) -> Any:
    raise OOM


def memory_info(monkeypatch: pytest.MonkeyPatch, **memory: int) -> None:
    """``INFO memory`` answers with ``memory`` over what Redis says."""
    real_info = redis.Redis.info

    def info(self: redis.Redis, section: str | None = None, *args: Any) -> Any:
        answer = real_info(self, section, *args)
        return answer | memory if section == "memory" else answer

    monkeypatch.setattr(redis.Redis, "info", info)


LIMIT = 100_000_000


def test_intake_answers_503_with_retry_after_when_redis_refuses_the_write(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = new_comment(client)
    monkeypatch.setattr(CommentStore, "accept", refuse)
    response = client.post("/api/v1/comments", json=payload)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "unavailable"
    assert "full" in body["detail"]


def test_readyz_is_not_ready_while_redis_is_out_of_memory(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.get("/readyz").status_code == 200
    memory_info(monkeypatch, maxmemory=1_000_000, used_memory=1_000_001)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    [problem] = response.get_json()["problems"]
    assert problem.startswith("redis: out of memory"), problem


def test_readyz_counts_only_the_memory_redis_counts_against_maxmemory(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Within the reserve only with the AOF and replica buffers.
    used = LIMIT - WRITE_RESERVE + 500
    memory_info(monkeypatch, maxmemory=LIMIT, used_memory=used, mem_not_counted_for_evict=1000)
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize(
    ("limit", "room", "status"),
    [
        (LIMIT, WRITE_RESERVE + 1, 200),
        (LIMIT, WRITE_RESERVE - 1, 503),
        (LIMIT, 0, 503),
        (2_000_000, 200_001, 200),  # a small limit keeps a tenth of it
        (2_000_000, 199_999, 503),
    ],
)
def test_readyz_counts_redis_full_within_its_write_reserve(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, limit: int, room: int, status: int
) -> None:
    """A full Redis hovers at its limit, taking a write now and then; it is full still."""
    memory_info(monkeypatch, maxmemory=limit, used_memory=limit - room, mem_not_counted_for_evict=0)
    response = client.get("/readyz")
    assert response.status_code == status, response.text


def test_an_unhandled_error_is_logged_with_its_traceback(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    payload = new_comment(client)

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(CommentStore, "accept", broken)
    with caplog.at_level(logging.ERROR, logger="service.web.problems"):
        response = client.post("/api/v1/comments", json=payload)
    assert response.status_code == 500
    [record] = [r for r in caplog.records if r.name == "service.web.problems"]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)


def test_a_script_refused_by_redis_6_is_a_503_too(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis 6.2 wraps a write refused inside a Lua script in a plain script error."""
    payload = new_comment(client)

    def refused_in_script(*_args: Any, **_kwargs: Any) -> Any:
        raise redis.ResponseError(
            "Error running script (call to f_0123): @user_script:5: @user_script: 5: "
            "-OOM command not allowed when used memory > 'maxmemory'."
        )

    monkeypatch.setattr(CommentStore, "accept", refused_in_script)
    response = client.post("/api/v1/comments", json=payload)
    assert response.status_code == 503
    assert response.headers["Retry-After"]


def test_other_redis_errors_are_still_500(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = new_comment(client)

    def wrong_type(*_args: Any, **_kwargs: Any) -> Any:
        raise redis.ResponseError("WRONGTYPE Operation against a key holding the wrong kind")

    monkeypatch.setattr(CommentStore, "accept", wrong_type)
    assert client.post("/api/v1/comments", json=payload).status_code == 500
