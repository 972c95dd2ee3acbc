"""``GET /metrics``: Prometheus text format, figures read from Redis at scrape time."""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator

import redis
from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from rq import Queue
from rq.registry import FailedJobRegistry, StartedJobRegistry

from service.core.metrics import RedisCollector
from service.core.queues import ALL_QUEUES
from service.core.store import keys
from service.web.apidoc import METRICS, STRING, Reply, doc
from service.web.apidoc.replies import UNAVAILABLE
from service.web.services import services

bp = Blueprint("metrics", __name__)
_REGISTRY_KEY = "commentgate.metrics_registry"


def queue_gauges(client: redis.Redis) -> Iterator[Metric]:
    """Queue depths, running and failed jobs, and the comments backlog."""
    depth = GaugeMetricFamily(
        "commentgate_queue_depth", "Jobs waiting per RQ queue.", labels=["queue"]
    )
    started = GaugeMetricFamily(
        "commentgate_queue_started_jobs", "Jobs running per RQ queue.", labels=["queue"]
    )
    failed = GaugeMetricFamily(
        "commentgate_queue_failed_jobs",
        "Jobs in the failed registry per RQ queue.",
        labels=["queue"],
    )
    for name in ALL_QUEUES:
        queue = Queue(name, connection=client)
        depth.add_metric([name], queue.count)
        started.add_metric([name], StartedJobRegistry(queue=queue).count)
        failed.add_metric([name], FailedJobRegistry(queue=queue).count)
    yield from (depth, started, failed)
    with client.pipeline(transaction=False) as pipe:
        pipe.zcard(keys.PENDING)
        pipe.zcard(keys.INFLIGHT)
        pipe.zrange(keys.PENDING, 0, 0, withscores=True)
        pending, inflight, oldest = pipe.execute()
    backlog = GaugeMetricFamily(
        "commentgate_comments_backlog", "Comments waiting for a decision.", labels=["state"]
    )
    backlog.add_metric(["pending"], pending)
    backlog.add_metric(["inflight"], inflight)
    yield backlog
    yield GaugeMetricFamily(
        "commentgate_oldest_pending_age_seconds",
        "Age of the oldest comment waiting for a worker (0 when none).",
        value=max(0.0, time.time() - oldest[0][1]) if oldest else 0.0,
    )


def _registry() -> CollectorRegistry:
    registry: CollectorRegistry | None = current_app.extensions.get(_REGISTRY_KEY)
    if registry is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(RedisCollector(services().redis, gauges=[queue_gauges]))
        current_app.extensions[_REGISTRY_KEY] = registry
    return registry


@bp.get("/metrics")
@doc(
    "operations",
    security=METRICS,
    responses={
        200: Reply("Metrics in the Prometheus text format.", media={"text/plain": STRING}),
        401: Reply(
            "The metrics token is set and was not sent.",
            media={"text/plain": STRING},
            headers=("WWW-Authenticate",),
        ),
        503: UNAVAILABLE,
    },
)
def metrics() -> Response:
    """Prometheus metrics.

    Every metric in the Prometheus text format, read from Redis at scrape time.
    """
    token = services().settings.metrics_token
    if token is not None:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            return Response(
                "metrics need the bearer token\n",
                status=401,
                mimetype="text/plain",
                headers={"WWW-Authenticate": "Bearer"},
            )
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)
