"""Redis fills up to ``maxmemory`` under real processes, then is freed: nothing is lost.

A live ``commentgate web``, two scoring workers and the scheduler run on a private Redis
(``maxmemory-policy noeviction``, as commentgate needs). Comments stream in; once the
warm-up is decided, ``maxmemory`` is set just above what Redis uses, so the stream fills
it and Redis refuses writes (``-OOM``). While it is full, intake answers 503 with
``Retry-After`` (never 500), a moderator's decision is 503 or committed with its
follow-up, ``/readyz`` says why it is not ready, and every process stays up. Then the
limit is lifted: every comment that got a 202 is decided by the same processes, and
every decision (the workers' and the moderator's) reaches the webhook receiver, and the
moderator's labels queue a model update.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest
import redis
from rq import Queue

from service.core import outbox
from service.core.accounts import ModeratorStore
from service.core.queues import COMMENTS, LEARNING, MAINTENANCE, WEBHOOKS
from service.core.store import keys
from tests.system.conftest import (
    PUBLISH_ALL,
    LiveServer,
    Poster,
    Processes,
    RedisServer,
    WebhookReceiver,
    start_commentgate,
    statuses,
    undecided,
    wait_for,
)
from tests.system.test_redis_outage import wait_decided_by_the_same_processes

pytestmark = pytest.mark.slow

#: Bytes of head room above what Redis uses once the warm-up is decided: the stream
#: of comments (and the workers' writes) fills it in a few hundred comments.
HEADROOM = 200_000
#: The events of a worker's decision.
WORKER_EVENTS = frozenset({"comment.published", "comment.held", "comment.spam"})
#: Seconds for the backlog of a full Redis to be decided once it has room (a loaded
#: test machine decides slowly: a bound, not a wait).
DECIDE_TIMEOUT = 120.0
#: Seconds for every webhook to arrive once Redis has room again.
DELIVERY_TIMEOUT = 60.0


def moderate(http: httpx.Client, token: str, comment_id: str, action: str) -> httpx.Response:
    return http.post(
        f"/api/v1/moderation/comments/{comment_id}",
        json={"action": action},
        headers={"Authorization": f"Bearer {token}"},
    )


def delivered_about(client: redis.Redis, receiver: WebhookReceiver) -> dict[str, set[str]]:
    """Event types delivered to ``receiver``, by comment id (events read back from Redis)."""
    with receiver.lock:
        event_ids = list(receiver.attempts)
    found: dict[str, set[str]] = {}
    for event_id in event_ids:
        body = client.get(f"cg:event:{event_id}")
        assert body is not None, f"delivered event {event_id} is not stored"
        event = json.loads(body)
        found.setdefault(event["data"]["id"], set()).add(event["type"])
    return found


def webhook_jobs(client: redis.Redis) -> dict[str, int]:
    """Delivery jobs by RQ registry, for a failure message."""
    queue = Queue(WEBHOOKS, connection=client)
    return {
        "queued": queue.count,
        "started": queue.started_job_registry.count,
        "scheduled": queue.scheduled_job_registry.count,
        "failed": queue.failed_job_registry.count,
        "finished": queue.finished_job_registry.count,
    }


def test_a_full_redis_refuses_with_503_and_loses_nothing_once_freed(
    private_redis: RedisServer,
    processes: Processes,
    web_factory: Callable[..., LiveServer],
) -> None:
    receiver = WebhookReceiver()
    env = {
        "COMMENTGATE_WEBHOOKS": receiver.setting,
        "COMMENTGATE_RATE_LIMITS_ENABLED": "false",
        "COMMENTGATE_RECONCILE_AFTER_SECONDS": "2",
        "COMMENTGATE_CLAIM_LEASE_SECONDS": "5",
        **PUBLISH_ALL,
    }
    url = private_redis.url()
    client = private_redis.client()
    token = ModeratorStore(client).add("mia")
    web = web_factory(url, **env)
    queues = f"{COMMENTS},{WEBHOOKS},{MAINTENANCE}"  # not learning: its queue is checked
    for name in ("worker-1", "worker-2"):
        start_commentgate(processes, name, ["worker", "--queues", queues], url, **env)
    start_commentgate(processes, "scheduler", ["scheduler", "--interval", "1"], url, **env)
    http = httpx.Client(base_url=web.url, timeout=20, trust_env=False)
    poster = Poster(web.url, max_seconds=120)
    moderated: dict[str, int] = {}
    try:
        poster.start()
        wait_for(lambda: poster.count(202) >= 20, timeout=60, what="comments before the fill")
        warm = poster.accepted_ids()
        wait_for(lambda: not undecided(client, warm), timeout=60, what="the warm-up decided")

        used = int(client.info("memory")["used_memory"])
        client.config_set("maxmemory", used + HEADROOM)
        filled_at = time.monotonic()
        wait_for(
            lambda: poster.count(503, since=filled_at) >= 20 or poster.count(500) > 0,
            timeout=90,
            what="intake refusing comments on a full Redis",
        )
        assert not poster.count(500), f"intake answered 500 on a full Redis: {poster.tally()}"
        ready = http.get("/readyz")
        assert ready.status_code == 503, ready.text
        assert ready.headers["Retry-After"]
        assert any(p.startswith("redis: out of memory") for p in ready.json()["problems"])
        assert http.get("/healthz").status_code == 200

        # A moderator on the full Redis: refused whole (503) or committed with its
        # follow-up; never a 500.
        for comment_id in warm[:5]:
            response = moderate(http, token, comment_id, "spam")
            assert response.status_code in (200, 503), response.text
            assert response.status_code == 200 or response.headers["Retry-After"]
            moderated[comment_id] = response.status_code
        refused = [i for i, code in moderated.items() if code == 503]
        assert all(s == "published" for s in statuses(client, refused).values())

        full_since = poster.count(503)
        wait_for(
            lambda: poster.count(503) >= full_since + 20,
            timeout=60,
            what="the full Redis to last while the workers and scheduler run",
        )
        dead = [log.name for proc, log in processes.procs if proc.poll() is not None]
        assert not dead, f"{dead} exited on a full Redis\n{processes.logs()}"

        client.config_set("maxmemory", 0)
        freed_at = time.monotonic()
        wait_for(
            lambda: poster.count(202, since=freed_at) >= 20,
            timeout=60,
            what="comments accepted once Redis has room",
        )
    finally:
        poster.stop()
        client.config_set("maxmemory", 0)

    try:
        outcomes = poster.snapshot()
        unexpected = [o for o in outcomes if o.status not in (202, 503)]
        assert not unexpected, f"statuses {dict(poster.tally())}; e.g. {unexpected[:3]}"
        assert all(o.retry_after for o in outcomes if o.status == 503), "a 503 lacked Retry-After"
        assert http.get("/readyz").status_code == 200

        ids = poster.accepted_ids()
        assert not [i for i, s in statuses(client, ids).items() if s is None]
        wait_decided_by_the_same_processes(client, ids, processes, web, timeout=DECIDE_TIMEOUT)

        for comment_id in warm[5:8]:
            response = moderate(http, token, comment_id, "spam")
            assert response.status_code == 200, response.text
            moderated[comment_id] = 200
        committed = [i for i, code in moderated.items() if code == 200]
        assert all(s == "spam" for s in statuses(client, committed).values())

        def decided_event(about: dict[str, set[str]], comment_id: str) -> bool:
            # Published, or spam once the moderator's labels make a campaign of the
            # stream's look-alike comments.
            return bool(about.get(comment_id, set()) & WORKER_EVENTS)

        def everything_delivered() -> bool:
            about = delivered_about(client, receiver)
            return all(decided_event(about, i) for i in ids) and all(
                "comment.moderated" in about.get(i, ()) for i in committed
            )

        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while not everything_delivered():
            if time.monotonic() > deadline:
                about = delivered_about(client, receiver)
                missing = [i for i in ids if not decided_event(about, i)]
                pytest.fail(
                    f"{len(missing)} of {len(ids)} decided comments never reached the "
                    f"receiver; outbox holds {outbox.pending(client)}; webhook jobs "
                    f"{webhook_jobs(client)}\n{processes.logs()}"
                )
            time.sleep(0.05)
        wait_for(lambda: outbox.pending(client) == 0, timeout=30, what="the outbox drained")
        assert client.llen(f"rq:queue:{LEARNING}") == 1, "the moderator's labels queued no update"
        assert client.xlen(keys.feedback(keys.DEFAULT_SITE)) == len(committed)
        dead = [log.name for proc, log in processes.procs if proc.poll() is not None]
        assert not dead, f"{dead} exited\n{processes.logs()}"
    finally:
        http.close()
        receiver.close()
