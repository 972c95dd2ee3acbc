"""The counters' site label, and figures counted before it existed."""

from __future__ import annotations

import redis

from service.core import metrics
from service.core.metrics import Metrics, RedisCollector


def decisions(client: redis.Redis) -> dict[tuple[str, str, str], float]:
    family = next(f for f in RedisCollector(client).collect() if f.name == "commentgate_decisions")
    return {
        (s.labels["site"], s.labels["status"], s.labels["reason"]): s.value
        for s in family.samples
        if s.name.endswith("_total")
    }


def test_decisions_are_counted_per_site(redis_client: redis.Redis) -> None:
    Metrics(redis_client).count(
        metrics.DECISIONS,
        amounts={("blog", "spam", "model"): 2, ("default", "published", "model"): 3},
    )
    assert decisions(redis_client) == {
        ("blog", "spam", "model"): 2,
        ("default", "published", "model"): 3,
    }


def test_decisions_counted_before_sites_are_the_default_sites(redis_client: redis.Redis) -> None:
    redis_client.hset(
        metrics.COUNTERS_KEY, "commentgate_decisions|status=held|reason=model", 4
    )  # how the version before sites recorded them
    Metrics(redis_client).count(metrics.DECISIONS, site="default", status="held", reason="model")
    Metrics(redis_client).count(metrics.DECISIONS, site="blog", status="held", reason="model")
    assert decisions(redis_client) == {
        ("default", "held", "model"): 5,  # one series, old and new figures together
        ("blog", "held", "model"): 1,
    }


def test_histograms_still_parse(redis_client: redis.Redis) -> None:
    Metrics(redis_client).observe(metrics.JOB_DURATION, [0.004, 2.0], job="x")
    family = next(
        f
        for f in RedisCollector(redis_client).collect()
        if f.name == "commentgate_job_duration_seconds"
    )
    counts = {s.name: s.value for s in family.samples if s.labels.get("le") in (None, "+Inf")}
    assert counts["commentgate_job_duration_seconds_count"] == 2


def received(client: redis.Redis) -> dict[tuple[str, str], float]:
    family = next(
        f for f in RedisCollector(client).collect() if f.name == "commentgate_comments_received"
    )
    return {
        (s.labels["site"], s.labels["outcome"]): s.value
        for s in family.samples
        if s.name.endswith("_total")
    }


def test_submissions_counted_before_sites_are_the_default_sites(
    redis_client: redis.Redis,
) -> None:
    redis_client.hset(metrics.COUNTERS_KEY, "commentgate_comments_received|outcome=accepted", 7)
    Metrics(redis_client).count(metrics.COMMENTS_RECEIVED, site="default", outcome="accepted")
    Metrics(redis_client).count(metrics.COMMENTS_RECEIVED, site="", outcome="unavailable")
    assert received(redis_client) == {("default", "accepted"): 8, ("", "unavailable"): 1}
