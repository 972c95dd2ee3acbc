"""No accepted comment is lost or decided twice: idempotency, reconciler, SIGKILL."""

from __future__ import annotations

import os
import secrets
import signal
import time
from typing import Any

import redis
from flask.testing import FlaskClient
from rq.job import Job
from rq.registry import FinishedJobRegistry

from service.core.queues import COMMENTS, RECONCILE, Queues
from service.core.store import Comment, CommentStatus, CommentStore, keys, new_comment_id
from tests.conftest import new_comment
from tests.workers.conftest import Workers, wait_for
from workers import jobs

PUBLISH_ALL = {"publish_below": 0.999999, "spam_above": 1.0}


def queued_jobs(redis_client: redis.Redis) -> int:
    return int(redis_client.llen(f"rq:queue:{COMMENTS}"))


def test_a_job_run_twice_decides_nothing_the_second_time(
    client: FlaskClient, runtime: Any, redis_client: redis.Redis
) -> None:
    rt = runtime(**PUBLISH_ALL)
    ids = [
        client.post("/api/v1/comments", json=new_comment(client)).get_json()["id"] for _ in range(3)
    ]
    assert jobs.process_pending() == {"claimed": 3, "decided": 3}
    assert jobs.process_pending() == {"claimed": 0, "decided": 0}
    # Deciding the same comments again (a slow worker whose lease expired) changes nothing.
    before = {i: redis_client.hgetall(keys.comment(i)) for i in ids}
    assert jobs.decide_comments(rt, ids) == []
    assert {i: redis_client.hgetall(keys.comment(i)) for i in ids} == before


def test_large_backlog_is_split_into_parallel_batches(
    client: FlaskClient, runtime: Any, redis_client: redis.Redis
) -> None:
    runtime(batch_size=2, **PUBLISH_ALL)
    for _ in range(5):
        client.post("/api/v1/comments", json=new_comment(client))
    redis_client.delete(f"rq:queue:{COMMENTS}")
    assert jobs.process_pending()["claimed"] == 2
    assert queued_jobs(redis_client) == 1  # the rest is offered to another worker


def store_orphan(redis_client: redis.Redis, created_at: float) -> str:
    """A comment stored but never queued: a crash between store and enqueue."""
    store = CommentStore(redis_client)
    comment = Comment(
        id=new_comment_id(),
        thread="t",
        body="hello there",
        author_name="a",
        created_at=created_at,
        status=CommentStatus.PENDING,
    )
    store.accept(comment, nonce=None, nonce_ttl=60)
    redis_client.delete(keys.DRAIN_SCHEDULED, f"rq:queue:{COMMENTS}")
    return comment.id


def test_reconciler_requeues_stale_pending(runtime: Any, redis_client: redis.Redis) -> None:
    runtime(reconcile_after_seconds=30, **PUBLISH_ALL)
    fresh = store_orphan(redis_client, time.time())
    assert jobs.reconcile()["requeued"] is False
    assert queued_jobs(redis_client) == 0
    store_orphan(redis_client, time.time() - 60)
    assert jobs.reconcile()["requeued"] is True
    assert queued_jobs(redis_client) == 1
    assert jobs.process_pending()["decided"] == 2
    assert redis_client.hget(keys.comment(fresh), "status") == b"published"


def test_reconciler_reclaims_comments_of_a_dead_worker(
    runtime: Any, redis_client: redis.Redis
) -> None:
    rt = runtime(**PUBLISH_ALL)
    comment_id = store_orphan(redis_client, time.time())
    assert rt.store.claim(10, lease_seconds=-1) == [comment_id]  # its worker died at once
    assert jobs.reconcile()["expired"] == 1
    assert jobs.process_pending() == {"claimed": 1, "decided": 1}


def seed_pending(redis_client: redis.Redis, count: int) -> list[str]:
    """Store ``count`` pending comments quickly, as intake would."""
    now = time.time()
    ids = []
    with redis_client.pipeline(transaction=False) as pipe:
        for i in range(count):
            comment = Comment(
                id=f"seed{i:06d}{secrets.token_hex(6)}",
                thread="t",
                body=f"comment {i} about the video",
                author_name="a",
                created_at=now + i * 1e-6,
                status=CommentStatus.PENDING,
            )
            ids.append(comment.id)
            pipe.hset(keys.comment(comment.id), mapping=comment.to_redis())
            pipe.zadd(keys.PENDING, {comment.id: comment.created_at})
        pipe.execute()
    return ids


def test_worker_killed_mid_batch_loses_nothing(workers: Workers, redis_client: redis.Redis) -> None:
    """SIGKILL a worker holding a large batch; another worker decides it exactly once."""
    count = 10_000
    ids = seed_pending(redis_client, count)
    queues = Queues.connect(redis_client)
    queues.enqueue_scoring()
    env = {
        "COMMENTGATE_BATCH_SIZE": str(count),
        "COMMENTGATE_CLAIM_LEASE_SECONDS": "1",
        "COMMENTGATE_PUBLISH_BELOW": "0.999999",
        "COMMENTGATE_SPAM_ABOVE": "1.0",
    }
    victim = workers.start("worker", "--burst", **env)
    wait_for(lambda: redis_client.zcard(keys.INFLIGHT) == count, what="the batch to be claimed")
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    assert redis_client.hget(keys.comment(ids[0]), "status") == b"pending", (
        "the victim finished its batch before it was killed"
    )
    store = CommentStore(redis_client)
    wait_for(lambda: store.expired_leases() == count, timeout=10, what="the lease to expire")

    # The scheduler's reconciler job, run by a fresh worker, re-queues the batch.
    queues.maintenance.enqueue(RECONCILE)
    workers.burst(**env | {"COMMENTGATE_CLAIM_LEASE_SECONDS": "60"})

    with redis_client.pipeline(transaction=False) as pipe:
        for comment_id in ids:
            pipe.hget(keys.comment(comment_id), "status")
        statuses = pipe.execute()
    assert set(statuses) == {b"published"}
    assert redis_client.zcard(keys.PENDING) == redis_client.zcard(keys.INFLIGHT) == 0
    finished = FinishedJobRegistry(COMMENTS, connection=redis_client)
    results = [
        Job.fetch(job_id, connection=redis_client).return_value()
        for job_id in finished.get_job_ids()
    ]
    assert sum(r["decided"] for r in results if r) == count  # each decided exactly once
