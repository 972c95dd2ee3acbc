"""``/healthz`` (the process is up) and ``/readyz`` (it can do its work)."""

from __future__ import annotations

import redis
from flask import Blueprint, Response

from service.core.queues import ALL_QUEUES
from service.web.api.models import Health, NotReady, Ready, respond
from service.web.apidoc import Reply, doc
from service.web.services import services

bp = Blueprint("health", __name__)


#: Bytes below ``maxmemory`` under which Redis counts as full (at most a tenth of it).
#: A full Redis does not sit above its limit: it hovers at it, refusing a write, then
#: taking the next one after a delete (a worker's finished job) frees a few kilobytes.
#: Measured on the fault test's live processes: from 45 kB over the limit to 22 kB
#: under it, under the limit nine probes in ten. Less room than this is full.
WRITE_RESERVE = 1 << 20


def out_of_memory(client: redis.Redis) -> str:
    """Why Redis refuses writes for lack of memory, or ``""`` when it does not.

    Redis refuses a write that may grow its memory when its used memory, less what it
    does not count against ``maxmemory`` (replication and AOF buffers), is above
    ``maxmemory`` and nothing can be evicted (commentgate needs ``noeviction``). It is
    reported full from :data:`WRITE_RESERVE` below the limit (a tenth of a smaller
    limit), because writes are refused on and off from there on.
    A Redis whose ``INFO`` command is disabled is not checked.
    """
    try:
        memory = client.info("memory")
    except redis.ResponseError:
        return ""
    limit = int(memory.get("maxmemory", 0))
    used = int(memory.get("used_memory", 0)) - int(memory.get("mem_not_counted_for_evict", 0))
    reserve = min(WRITE_RESERVE, limit // 10)
    if limit and used > limit - reserve:
        return (
            f"redis: out of memory (used_memory {used} of maxmemory {limit}: "
            f"less than {reserve} bytes left)"
        )
    return ""


@bp.get("/healthz")
@doc("operations", responses={200: Reply("The process answers.", Health)})
def healthz() -> Response:
    """Liveness.

    Answers while the process serves requests.
    """
    return respond(Health(status="ok"))


@bp.get("/readyz")
@doc(
    "operations",
    responses={
        200: Reply("Ready, with queue depths.", Ready),
        503: Reply("Not ready, and why.", NotReady, headers=("Retry-After",)),
    },
)
def readyz() -> Response:
    """Readiness.

    Redis answers and accepts writes, and the queues are known; 503 if not.
    """
    svc = services()
    problems: list[str] = []
    depths: dict[str, int] = {}
    try:
        svc.redis.ping()
        depths = {
            q.name: q.count
            for q in (
                svc.queues.comments,
                svc.queues.webhooks,
                svc.queues.maintenance,
                svc.queues.learning,
            )
        }
        full = out_of_memory(svc.redis)
        if full:
            problems.append(full)
    except redis.RedisError as exc:
        problems.append(f"redis unreachable: {type(exc).__name__}")
    missing = [name for name in ALL_QUEUES if name not in depths]
    if not problems and missing:
        problems.append("queues unknown: " + ", ".join(missing))
    if problems:
        response = respond(NotReady(status="unavailable", problems=problems), 503)
        response.headers["Retry-After"] = "5"
        return response
    return respond(Ready(status="ready", queues=depths))
