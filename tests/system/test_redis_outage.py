"""Redis goes away and comes back under real processes: nothing acknowledged is lost.

A live ``commentgate web`` (gunicorn), a ``commentgate worker`` and the scheduler run
on a private append-only Redis (``appendfsync always``). Neither the web app nor the
workers are restarted: they reconnect by themselves.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
import redis
from rq import Worker
from rq.cron_scheduler_registry import get_keys as cron_scheduler_names

from service.core.queues import COMMENTS, MAINTENANCE
from tests.system.conftest import (
    PUBLISH_ALL,
    LiveServer,
    Poster,
    Processes,
    RedisServer,
    start_commentgate,
    statuses,
    undecided,
    wait_for,
)

pytestmark = pytest.mark.slow

#: Per-client limits off: one test client posts far more than a reader would.
#: The reconciler runs every second and re-queues comments waiting over 2 s (a comment
#: stored while the enqueue of its job failed, or whose job died with Redis).
ENV = {
    "COMMENTGATE_RATE_LIMITS_ENABLED": "false",
    "COMMENTGATE_RECONCILE_AFTER_SECONDS": "2",
    "COMMENTGATE_CLAIM_LEASE_SECONDS": "5",
    **PUBLISH_ALL,
}

#: Seconds the comments may take to be decided after Redis is back.
DECIDE_TIMEOUT = 30.0
#: How long Redis stays down: long enough for every client to notice and back off.
OUTAGE_SECONDS = 3.0


def start_backend(processes: Processes, server: RedisServer) -> None:
    """One scoring worker and the scheduler (reconciler every second), both ready."""
    url = server.url()
    start_commentgate(
        processes, "worker", ["worker", "--queues", f"{COMMENTS},{MAINTENANCE}"], url, **ENV
    )
    start_commentgate(processes, "scheduler", ["scheduler", "--interval", "1"], url, **ENV)
    client = server.client()
    wait_for(
        lambda: Worker.count(connection=client) == 1 and bool(cron_scheduler_names(client)),
        timeout=60,
        what="the worker and the scheduler to start (logs in tmp_path)",
    )


def wait_decided_by_the_same_processes(
    client: redis.Redis,
    ids: list[str],
    processes: Processes,
    web: LiveServer,
    timeout: float = DECIDE_TIMEOUT,
) -> None:
    """Poll until every comment is decided, by the processes started at the beginning.

    Every process must survive: the web server, and the workers and scheduler, whose
    Redis client retries through a restart (RQ 3 itself exits on a connection error
    raised outside its dequeue loop).
    """
    assert web.proc.poll() is None, "the web server died:\n" + web.log()[-3000:]
    left = list(ids)
    deadline = time.monotonic() + timeout
    while left:
        dead = [log.name for proc, log in processes.procs if proc.poll() is not None]
        if dead:
            pytest.fail(f"{dead} exited after the Redis outage\n{processes.logs()}")
        if time.monotonic() > deadline:
            pytest.fail(
                f"{len(left)} of {len(ids)} comments not decided after {timeout} s "
                f"(statuses {statuses(client, left[:3])})\n{processes.logs()}"
            )
        time.sleep(0.05)
        left = undecided(client, left)


def test_redis_restart_while_comments_stream_in_loses_nothing(
    private_redis: RedisServer,
    processes: Processes,
    web_factory: Callable[..., LiveServer],
) -> None:
    """Restart Redis mid-stream: every 202 survives and is decided; the rest are 503s.

    The statuses allowed are 202 and 503 only. A 422 (captcha ``reused``) could come
    only from a client re-posting the token of a submission that Redis stored but
    whose answer was lost with the connection; this client never re-posts a token,
    so a 422 here would be a bug. A transport error (status 0: reset, refused) or a
    500 would be one too.
    """
    web = web_factory(private_redis.url(), **ENV)
    start_backend(processes, private_redis)
    client = private_redis.client()
    poster = Poster(web.url, max_seconds=60)
    poster.start()
    try:
        wait_for(lambda: poster.count(202) >= 20, timeout=30, what="comments before the restart")
        wait_for(
            lambda: len(undecided(client, poster.accepted_ids())) < poster.count(202),
            timeout=30,
            what="the worker to decide comments before the restart",
        )
        private_redis.stop()
        stopped_at = time.monotonic()
        wait_for(
            lambda: (
                poster.count(503, since=stopped_at) >= 5
                and time.monotonic() - stopped_at >= OUTAGE_SECONDS
            ),
            timeout=30,
            what="503s while Redis is down",
        )
        private_redis.start()
        restarted_at = time.monotonic()
        wait_for(
            lambda: poster.count(202, since=restarted_at) >= 20,
            timeout=45,
            what="comments accepted after the restart",
        )
    finally:
        poster.stop()

    outcomes = poster.snapshot()
    tally = poster.tally()
    unexpected = [o for o in outcomes if o.status not in (202, 503)]
    assert not unexpected, f"statuses {dict(tally)}; e.g. {unexpected[:3]}"
    assert all(o.retry_after for o in outcomes if o.status == 503), "a 503 lacked Retry-After"

    ids = poster.accepted_ids()
    missing = [i for i, s in statuses(client, ids).items() if s is None]
    assert not missing, f"{len(missing)} acknowledged comments lost with the restart"
    wait_decided_by_the_same_processes(client, ids, processes, web)


def test_redis_down_gives_503_and_unready_then_recovers_by_itself(
    private_redis: RedisServer,
    processes: Processes,
    web_factory: Callable[..., LiveServer],
) -> None:
    """While Redis is down: intake 503 + Retry-After, /readyz 503 with reasons, /healthz 200."""
    web = web_factory(private_redis.url(), **ENV)
    start_backend(processes, private_redis)
    http = httpx.Client(base_url=web.url, timeout=20, trust_env=False)
    try:
        assert http.get("/readyz").status_code == 200
        private_redis.kill()  # the harshest way down; nothing acknowledged is lost anyway

        intake = Poster._post_one(http, 0)
        assert intake.status == 503, intake
        assert intake.retry_after is not None
        assert int(intake.retry_after) > 0
        ready = http.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["Retry-After"]
        problems = ready.json()["problems"]
        assert any("redis unreachable" in p for p in problems), problems
        assert http.get("/healthz").status_code == 200

        private_redis.start()
        wait_for(
            lambda: http.get("/readyz").status_code == 200, timeout=30, what="/readyz to recover"
        )
        after = Poster._post_one(http, 1)
        assert after.status == 202, after
        assert after.comment_id is not None
        assert http.get("/healthz").status_code == 200
        client = private_redis.client()
        wait_decided_by_the_same_processes(client, [after.comment_id], processes, web)
    finally:
        http.close()
