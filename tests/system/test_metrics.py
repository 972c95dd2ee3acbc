"""``/metrics`` after real traffic: every family the ops issue names, with sensible
values, in text that Prometheus's own ``promtool check metrics`` accepts.

Traffic: comments accepted by a live ``commentgate web``, a wrong captcha answer, an
invalid submission, then a burst worker that decides the comments and delivers their
webhooks to a local receiver. Scraped once for the module.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from service.core.queues import ALL_QUEUES
from tests.browser.conftest import start_live_server
from tests.conftest import solved
from tests.system.conftest import (
    COMMENTGATE,
    PUBLISH_ALL,
    REDIS_SERVER,
    RedisServer,
    WebhookReceiver,
    commentgate_env,
)

pytestmark = pytest.mark.slow

ACCEPTED = 3


def post(http: httpx.Client, i: int, **changes: str) -> httpx.Response:
    payload = solved(
        http.get("/api/v1/captcha").json(),
        thread="https://blog.example/posts/metrics",
        body=f"Comment {i}: a clear explanation, thank you for writing it.",
        author_name=f"reader{i}",
    )
    payload.update(changes)
    return http.post("/api/v1/comments", json=payload)


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The text of ``/metrics`` after the traffic described in the module docstring."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (scripts/system-deps installs it)")
    tmp = tmp_path_factory.mktemp("metrics")
    (tmp / "redis").mkdir()
    redis_server = RedisServer(tmp / "redis")
    receiver = WebhookReceiver()
    redis_server.start()
    env = {
        "COMMENTGATE_WEBHOOKS": receiver.setting,
        "COMMENTGATE_RATE_LIMITS_ENABLED": "false",
        **PUBLISH_ALL,
    }
    web = start_live_server(redis_server.url(), tmp, **env)
    try:
        with httpx.Client(base_url=web.url, timeout=20, trust_env=False) as http:
            for i in range(ACCEPTED):
                assert post(http, i).status_code == 202
            assert post(http, 90, captcha_answer="-1").status_code == 422
            assert post(http, 91, body="").status_code == 422
            burst = subprocess.run(
                [COMMENTGATE, "worker", "--burst"],
                env=commentgate_env(redis_server.url(), **env),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert burst.returncode == 0, burst.stderr[-3000:]
            assert receiver.total_attempts() == ACCEPTED
            response = http.get("/metrics")
            assert response.status_code == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            yield response.text
    finally:
        web.stop()
        receiver.close()
        redis_server.kill()


@pytest.fixture(scope="module")
def families(scraped: str) -> dict[str, Metric]:
    return {family.name: family for family in text_string_to_metric_families(scraped)}


def values(family: Metric, suffix: str = "") -> dict[tuple[tuple[str, str], ...], float]:
    """Sample values by their sorted labels (``suffix``: ``_total``, ``_count``...)."""
    return {
        tuple(sorted(s.labels.items())): s.value
        for s in family.samples
        if s.name == family.name + suffix
    }


def test_comments_received_by_outcome(families: dict[str, Metric]) -> None:
    family = families["commentgate_comments_received"]
    assert family.type == "counter"
    by_outcome = {
        (dict(k)["site"], dict(k)["outcome"]): v for k, v in values(family, "_total").items()
    }
    assert by_outcome == {
        ("default", "accepted"): ACCEPTED,
        ("default", "captcha_invalid"): 1,
        ("", "invalid"): 1,  # refused before its site was known
    }


def test_decisions_by_site_status_and_reason(families: dict[str, Metric]) -> None:
    family = families["commentgate_decisions"]
    assert family.type == "counter"
    samples = values(family, "_total")
    assert samples, "no decisions counted"
    assert {dict(k)["status"] for k in samples} == {"published"}
    assert {dict(k)["site"] for k in samples} == {"default"}
    assert all(dict(k)["reason"] for k in samples)
    # Every decision has at least one reason; a decision may have several.
    assert sum(samples.values()) >= ACCEPTED


def test_captcha_failures_by_reason(families: dict[str, Metric]) -> None:
    family = families["commentgate_captcha_failures"]
    assert family.type == "counter"
    assert values(family, "_total") == {(("reason", "wrong_answer"),): 1}


def test_queue_depths_are_read_at_scrape_time(families: dict[str, Metric]) -> None:
    for name in ("commentgate_queue_depth", "commentgate_queue_failed_jobs"):
        family = families[name]
        assert family.type == "gauge"
        depths = {dict(k)["queue"]: v for k, v in values(family).items()}
        assert set(depths) == set(ALL_QUEUES)
        assert set(depths.values()) == {0}, depths  # the burst worker emptied them
    backlog = families["commentgate_comments_backlog"]
    assert {dict(k)["state"]: v for k, v in values(backlog).items()} == {
        "pending": 0,
        "inflight": 0,
    }


def check_histogram(family: Metric, labels: tuple[tuple[str, str], ...]) -> float:
    """Assert the buckets are cumulative and end in the count; return the count."""
    buckets = sorted(
        (float(s.labels["le"]), s.value)
        for s in family.samples
        if s.name == family.name + "_bucket"
        and tuple(sorted((k, v) for k, v in s.labels.items() if k != "le")) == labels
    )
    counts = [count for _, count in buckets]
    assert counts == sorted(counts), f"{family.name} buckets are not cumulative: {buckets}"
    assert buckets[-1][0] == float("inf")
    count = values(family, "_count")[labels]
    assert buckets[-1][1] == count
    assert values(family, "_sum")[labels] > 0
    return count


def test_job_durations(families: dict[str, Metric]) -> None:
    family = families["commentgate_job_duration_seconds"]
    assert family.type == "histogram"
    jobs = {dict(k)["job"] for k in values(family, "_count")}
    assert {"process_pending", "deliver_webhook"} <= jobs
    assert check_histogram(family, (("job", "deliver_webhook"),)) == ACCEPTED
    assert check_histogram(family, (("job", "process_pending"),)) >= 1


def test_end_to_end_decision_latency_histogram(families: dict[str, Metric]) -> None:
    family = families["commentgate_decision_latency_seconds"]
    assert family.type == "histogram"
    assert check_histogram(family, ()) == ACCEPTED
    mean = values(family, "_sum")[()] / ACCEPTED
    assert 0 < mean < 120, f"mean decision latency {mean} s"


def test_webhook_deliveries_by_result(families: dict[str, Metric]) -> None:
    family = families["commentgate_webhook_deliveries"]
    assert family.type == "counter"
    assert values(family, "_total") == {(("result", "delivered"),): ACCEPTED}


def test_model_version_info(families: dict[str, Metric]) -> None:
    family = families["commentgate_model_info"]
    versions = {dict(k)["version"]: v for k, v in values(family).items()}
    assert len(versions) == 1, versions
    [(version, last_used)] = versions.items()
    assert version
    assert time.time() - 600 < last_used <= time.time() + 1


def test_promtool_accepts_the_metrics(scraped: str, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (scripts/system-deps installs Debian's prometheus)")
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=scraped,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (result.stdout + result.stderr).strip(), result.stdout + result.stderr
