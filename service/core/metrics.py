"""Service metrics kept in Redis and rendered for Prometheus at ``/metrics``.

Every process (gunicorn workers, RQ workers on any machine) adds to the same figures.

Counters and histograms are hash fields incremented with ``HINCRBY``/``HINCRBYFLOAT``;
gauges (queue depths) are read when scraped.
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import redis
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from service.core.store import keys
from service.core.store.keys import DEFAULT_SITE

logger = logging.getLogger(__name__)

COUNTERS_KEY = keys.METRIC_COUNTERS
HISTOGRAMS_KEY = keys.METRIC_HISTOGRAMS
MODELS_KEY = keys.METRIC_MODELS

Labels = tuple[tuple[str, str], ...]
#: Reads gauges from Redis when scraped (queue depths and the like).
GaugeSource = Callable[[redis.Redis], Iterable[Metric]]


@dataclass(frozen=True)
class Definition:
    """A metric's name, help text, kind and label names."""

    name: str
    help: str
    kind: str  # "counter" or "histogram"
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()
    #: Labels added since figures were first recorded, with the value older figures
    #: (recorded without them) count under.
    added: tuple[tuple[str, str], ...] = ()


_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

COMMENTS_RECEIVED = Definition(
    "commentgate_comments_received",
    "Comment submissions by site and outcome (site empty: refused before it was known).",
    "counter",
    ("site", "outcome"),
    added=(("site", DEFAULT_SITE),),  # counted before sites: the default site's
)
DECISIONS = Definition(
    "commentgate_decisions",
    "Decisions by site, status and reason.",
    "counter",
    ("site", "status", "reason"),
    added=(("site", DEFAULT_SITE),),  # counted before sites: the default site's
)
CAPTCHA_FAILURES = Definition(
    "commentgate_captcha_failures", "Rejected captcha answers by reason.", "counter", ("reason",)
)
WEBHOOK_DELIVERIES = Definition(
    "commentgate_webhook_deliveries", "Webhook delivery attempts by result.", "counter", ("result",)
)
JOB_DURATION = Definition(
    "commentgate_job_duration_seconds",
    "Duration of RQ jobs by function.",
    "histogram",
    ("job",),
    _LATENCY_BUCKETS,
)
DECISION_LATENCY = Definition(
    "commentgate_decision_latency_seconds",
    "Time from intake to the final status of a comment.",
    "histogram",
    (),
    _LATENCY_BUCKETS,
)
DEFINITIONS = (
    COMMENTS_RECEIVED,
    DECISIONS,
    CAPTCHA_FAILURES,
    WEBHOOK_DELIVERIES,
    JOB_DURATION,
    DECISION_LATENCY,
)


def _field(definition: Definition, labels: Mapping[str, str], suffix: str = "") -> str:
    if set(labels) != set(definition.labels):
        raise ValueError(
            f"{definition.name} takes labels {definition.labels}, not {sorted(labels)}"
        )
    parts = [definition.name, *(f"{k}={labels[k]}" for k in definition.labels)]
    if suffix:
        parts.append(suffix)
    return "|".join(parts)


def _parse_field(field: str, definition: Definition) -> tuple[Labels, str] | None:
    """Split a hash field into its labels and, for histograms, its suffix."""
    parts = field.split("|")
    histogram = definition.kind == "histogram"
    if parts[0] != definition.name:
        return None
    found = dict(part.partition("=")[::2] for part in parts[1 : len(parts) - histogram])
    for name, value in definition.added:
        found.setdefault(name, value)
    if len(parts) < 1 + histogram or set(found) != set(definition.labels):
        return None
    labels = tuple((name, found[name]) for name in definition.labels)
    return labels, (parts[-1] if histogram else "")


class Metrics:
    """Records metrics in Redis.

    Args:
        client: The Redis client.
        fail_silently: Drop a failed write with a warning (the web app: metrics must
            never fail a request); workers let errors propagate.
    """

    def __init__(self, client: redis.Redis, *, fail_silently: bool = False) -> None:
        self.client = client
        self.fail_silently = fail_silently

    def count(
        self,
        definition: Definition,
        amounts: Mapping[tuple[str, ...], int] | None = None,
        **labels: str,
    ) -> None:
        """Add to a counter: one label set via ``labels``, or many via ``amounts``."""
        fields: Counter[str] = Counter()
        if amounts is None:
            fields[_field(definition, labels)] += 1
        else:
            for values, amount in amounts.items():
                fields[_field(definition, dict(zip(definition.labels, values, strict=True)))] += (
                    amount
                )
        self._write(COUNTERS_KEY, fields, {})

    @staticmethod
    def counter_field(definition: Definition, **labels: str) -> tuple[str, str]:
        """The (hash, field) of one counter, for scripts that increment it themselves."""
        return COUNTERS_KEY, _field(definition, labels)

    def observe(self, definition: Definition, values: Sequence[float], **labels: str) -> None:
        """Record observations of a histogram."""
        if not values:
            return
        counts: Counter[str] = Counter()
        for value in values:
            index = bisect_left(definition.buckets, value)
            bound = definition.buckets[index] if index < len(definition.buckets) else "+Inf"
            counts[_field(definition, labels, f"le={bound}")] += 1
        counts[_field(definition, labels, "count")] += len(values)
        self._write(HISTOGRAMS_KEY, counts, {_field(definition, labels, "sum"): float(sum(values))})

    def model_seen(self, version: str) -> None:
        """Note that a worker decided with this model version now."""
        try:
            self.client.hset(MODELS_KEY, version, time.time())
        except redis.RedisError:
            if not self.fail_silently:
                raise

    def _write(self, key: str, increments: Mapping[str, int], floats: Mapping[str, float]) -> None:
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for field, amount in increments.items():
                    pipe.hincrby(key, field, amount)
                for field, amount_f in floats.items():
                    pipe.hincrbyfloat(key, field, amount_f)
                pipe.execute()
        except redis.RedisError as exc:
            if not self.fail_silently:
                raise
            logger.warning("metrics not recorded: %s", type(exc).__name__)


class RedisCollector(Collector):
    """A Prometheus collector that reads the figures from Redis when scraped.

    Args:
        client: The Redis client.
        gauges: Callables yielding gauge families, read at scrape time.
    """

    def __init__(self, client: redis.Redis, gauges: Iterable[GaugeSource] = ()) -> None:
        self.client = client
        self.gauges = list(gauges)

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.hgetall(COUNTERS_KEY)
            pipe.hgetall(HISTOGRAMS_KEY)
            pipe.hgetall(MODELS_KEY)
            counters_raw, histograms_raw, models_raw = pipe.execute()
        counters = {k.decode(): int(v) for k, v in counters_raw.items()}
        histograms = {k.decode(): float(v) for k, v in histograms_raw.items()}
        for definition in DEFINITIONS:
            if definition.kind == "counter":
                yield self._counter(definition, counters)
            else:
                yield self._histogram(definition, histograms)
        info = GaugeMetricFamily(
            "commentgate_model_info",
            "Model versions that decided comments in the last day (value: last use, unix time).",
            labels=["version"],
        )
        day_ago = time.time() - 86400
        for version, seen in sorted(models_raw.items()):
            if float(seen) >= day_ago:
                info.add_metric([version.decode()], float(seen))
        yield info
        for gauge in self.gauges:
            yield from gauge(self.client)

    @staticmethod
    def _counter(definition: Definition, counters: Mapping[str, int]) -> Metric:
        family = CounterMetricFamily(definition.name, definition.help, labels=definition.labels)
        totals: Counter[Labels] = Counter()
        for field, value in counters.items():
            parsed = _parse_field(field, definition)
            if parsed is not None:
                totals[parsed[0]] += value  # an older field and a newer one may coincide
        for labels, total in sorted(totals.items()):
            family.add_metric([v for _, v in labels], total)
        return family

    @staticmethod
    def _histogram(definition: Definition, values: Mapping[str, float]) -> Metric:
        family = HistogramMetricFamily(definition.name, definition.help, labels=definition.labels)
        series: dict[Labels, dict[str, float]] = {}
        for field, value in values.items():
            parsed = _parse_field(field, definition)
            if parsed is not None:
                figures = series.setdefault(parsed[0], {})
                figures[parsed[1]] = figures.get(parsed[1], 0.0) + value
        for labels, figures in sorted(series.items()):
            cumulative = 0.0
            buckets: list[tuple[str, float]] = []
            for bound in definition.buckets:
                cumulative += figures.get(f"le={bound}", 0.0)
                buckets.append((str(float(bound)), cumulative))
            buckets.append(("+Inf", cumulative + figures.get("le=+Inf", 0.0)))
            family.add_metric([v for _, v in labels], buckets, figures.get("sum", 0.0))
        return family
