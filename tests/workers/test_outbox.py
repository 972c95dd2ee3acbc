"""The outbox: nothing committed loses its webhook or its model update, nothing doubles.

A decision (a worker's or a moderator's) and the work that must follow it are written
by one Lua script; queueing that work can then fail (Redis full, a crash) and the
reconciler queues it later, exactly once.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from redis.client import Pipeline
from rq.job import Job

from service.core import outbox
from service.core.queues import LEARNING, WEBHOOKS, Queues
from service.core.store import keys
from service.core.store.keys import DEFAULT_SITE, learning_scheduled
from tests.conftest import auth, decided, new_comment
from workers import jobs
from workers.cli import run_until_stopped

HOOK = "http://127.0.0.1:9/hook"
WEBHOOKS_SETTING = {HOOK: "whsec_" + "A" * 32}
PUBLISH_ALL = {"publish_below": 0.999999, "spam_above": 1.0}
OOM = redis.exceptions.OutOfMemoryError("command not allowed when used memory > 'maxmemory'.")


def refuse(*_args: Any, **_kwargs: Any) -> Any:
    raise OOM


def deliveries(redis_client: redis.Redis) -> list[tuple[str, str]]:
    """(event id, url) of every webhook delivery job queued."""
    ids = [j.decode() for j in redis_client.lrange(f"rq:queue:{WEBHOOKS}", 0, -1)]
    return [tuple(Job.fetch(i, connection=redis_client).args) for i in ids]  # type: ignore[misc]


def stored_event(redis_client: redis.Redis, event_id: str) -> dict[str, Any]:
    body = redis_client.get(f"cg:event:{event_id}")
    assert body is not None, f"event {event_id} not stored"
    return dict(json.loads(body))


@pytest.fixture
def web(make_settings: Any) -> FlaskClient:
    from service.web.app import create_app

    return create_app(make_settings(webhooks=WEBHOOKS_SETTING)).test_client()


def test_approve_is_answered_200_when_its_follow_up_cannot_be_queued(
    web: FlaskClient,
    runtime: Any,
    tokens: dict[str, str],
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Redis refuses the queueing after the decision committed: 200, then the reconciler."""
    runtime(webhooks=WEBHOOKS_SETTING)
    comment_id = decided(redis_client)
    with monkeypatch.context() as m:
        m.setattr(Queues, "enqueue_learning", refuse)
        m.setattr(Queues, "enqueue_webhooks", refuse)
        response = web.post(
            f"/api/v1/moderation/comments/{comment_id}",
            json={"action": "approve"},
            headers=auth(tokens["moderator"]),
        )
    assert response.status_code == 200, response.get_json()
    assert redis_client.hget(keys.comment(comment_id), "status") == b"published"
    assert deliveries(redis_client) == []
    assert redis_client.llen(f"rq:queue:{LEARNING}") == 0
    assert outbox.pending(redis_client) == 2  # the event and the model update

    assert jobs.reconcile()["outbox"] == 2
    [(event_id, url, site)] = deliveries(redis_client)
    assert (url, site) == (HOOK, "default")
    event = stored_event(redis_client, event_id)
    assert event["id"] == event_id
    assert event["type"] == "comment.moderated"
    assert event["data"] | {"created_at": None} == event["data"] | {
        "id": comment_id,
        "status": "published",
        "action": "approve",
        "moderator": "mia",
        "previous_status": "held",
        "created_at": None,
    }
    assert redis_client.llen(f"rq:queue:{LEARNING}") == 1
    assert outbox.pending(redis_client) == 0
    assert jobs.reconcile()["outbox"] == 0
    assert len(deliveries(redis_client)) == 1
    assert redis_client.llen(f"rq:queue:{LEARNING}") == 1


def test_a_refused_decision_changes_nothing_and_leaves_nothing_to_send(
    web: FlaskClient,
    tokens: dict[str, str],
    redis_client: redis.Redis,
) -> None:
    comment_id = decided(redis_client)
    response = web.post(
        f"/api/v1/moderation/comments/{comment_id}",
        json={"action": "approve", "expected_status": "spam"},
        headers=auth(tokens["moderator"]),
    )
    assert response.status_code == 409
    assert outbox.pending(redis_client) == 0
    assert deliveries(redis_client) == []


def test_worker_decisions_keep_their_events_when_queueing_fails(
    client: FlaskClient, runtime: Any, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = runtime(webhooks=WEBHOOKS_SETTING, **PUBLISH_ALL)
    ids = [
        client.post("/api/v1/comments", json=new_comment(client)).get_json()["id"] for _ in range(3)
    ]
    with monkeypatch.context() as m:
        m.setattr(Queues, "enqueue_webhooks", refuse)
        assert sorted(jobs.decide_comments(rt, ids)) == sorted(ids)
    assert deliveries(redis_client) == []
    assert outbox.pending(redis_client) == 3

    jobs.reconcile()
    queued = deliveries(redis_client)
    assert len(queued) == 3
    events = [stored_event(redis_client, event_id) for event_id, _, _ in queued]
    assert sorted(e["data"]["id"] for e in events) == sorted(ids)
    assert {e["type"] for e in events} == {"comment.published"}
    # Deciding again (a slow worker whose lease expired) decides nothing and sends nothing.
    assert jobs.decide_comments(rt, ids) == []
    assert jobs.reconcile()["outbox"] == 0
    assert len(deliveries(redis_client)) == 3


def test_a_drain_that_fails_before_its_transaction_commits_loses_and_doubles_nothing(
    client: FlaskClient, runtime: Any, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The jobs and the removal of their entries are one MULTI/EXEC: all or nothing."""
    rt = runtime(webhooks=WEBHOOKS_SETTING, **PUBLISH_ALL)
    ids = [
        client.post("/api/v1/comments", json=new_comment(client)).get_json()["id"] for _ in range(2)
    ]
    real_execute = Pipeline.execute

    def crash(self: Pipeline, raise_on_error: bool = True) -> Any:
        if any(args[0] == "XDEL" for args, _ in self.command_stack):
            raise redis.ConnectionError("connection lost before EXEC")
        return real_execute(self, raise_on_error)

    with monkeypatch.context() as m:
        m.setattr(Pipeline, "execute", crash)
        jobs.decide_comments(rt, ids)  # its drain fails: logged, left to the reconciler
        with pytest.raises(redis.ConnectionError):
            outbox.drain(rt.redis, rt.queues, rt.settings)
    assert deliveries(redis_client) == []
    assert outbox.pending(redis_client) == 2
    assert outbox.drain(rt.redis, rt.queues, rt.settings) == 2
    assert outbox.drain(rt.redis, rt.queues, rt.settings) == 0
    queued = deliveries(redis_client)
    assert len(queued) == 2
    assert len({event_id for event_id, _, _ in queued}) == 2


def test_a_drain_racing_another_change_to_the_outbox_starts_again(
    client: FlaskClient, runtime: Any, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry added between the read and the EXEC aborts the EXEC (WATCH); the retry
    takes both, once each."""
    rt = runtime(webhooks=WEBHOOKS_SETTING, **PUBLISH_ALL)
    first, second = (
        client.post("/api/v1/comments", json=new_comment(client)).get_json()["id"] for _ in range(2)
    )
    with monkeypatch.context() as m:
        m.setattr(Queues, "enqueue_webhooks", refuse)
        jobs.decide_comments(rt, [first])
    real_multi = Pipeline.multi
    raced: list[bool] = []

    def race(self: Pipeline) -> None:
        if not raced:
            raced.append(True)
            with monkeypatch.context() as m:
                m.setattr(Queues, "enqueue_webhooks", refuse)
                jobs.decide_comments(rt, [second])  # another process, meanwhile
        real_multi(self)

    monkeypatch.setattr(Pipeline, "multi", race)
    assert outbox.drain(rt.redis, rt.queues, rt.settings) == 2
    queued = deliveries(redis_client)
    assert len(queued) == 2
    assert sorted(stored_event(redis_client, e)["data"]["id"] for e, _, _ in queued) == sorted(
        [first, second]
    )


def test_learning_flag_is_cleared_when_the_update_job_cannot_be_queued(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Else a refused enqueue would block model updates for the flag's hour."""
    queues = Queues.connect(redis_client)
    monkeypatch.setattr(type(queues.learning), "enqueue", refuse)
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        queues.enqueue_learning()
    assert not redis_client.exists(learning_scheduled(DEFAULT_SITE))


def test_worker_and_scheduler_loops_start_again_after_redis_refuses_writes() -> None:
    outcomes: list[Any] = [OOM, False, OOM, True]
    calls: list[int] = []
    waits: list[float] = []

    def run() -> bool:
        calls.append(1)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return bool(outcome)

    run_until_stopped(run, "worker", backoff=(1.0, 3.0), sleep=waits.append)
    assert len(calls) == 4
    assert waits == [1.0, 2.0, 3.0]
