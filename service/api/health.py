"""``/healthz`` (the process is up) and ``/readyz`` (it can do its work)."""

from __future__ import annotations

import redis
from flask import Blueprint, Response

from service.api.models import Health, NotReady, Ready, respond
from service.queues import ALL_QUEUES
from service.services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: answers while the process serves requests."""
    return respond(Health(status="ok"))


@bp.get("/readyz")
def readyz() -> Response:
    """Readiness: Redis answers and the queues are known; 503 with reasons otherwise."""
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
