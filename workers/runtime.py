"""What a worker process holds for its whole life: settings, clients and the model.

The model is loaded once per process, never per job. ``commentgate worker`` builds
the runtime before it starts taking jobs, so forked work-horses inherit it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from classifier import SpamModel, load_model
from service.metrics import Metrics
from service.queues import Queues
from service.settings import Settings, load_settings
from service.store import CommentStore
from service.store.lists import ListStore
from workers.decision import Policy

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerRuntime:
    """Everything a job needs, built once per process."""

    settings: Settings
    redis: redis.Redis
    store: CommentStore
    lists: ListStore
    queues: Queues
    model: SpamModel
    policy: Policy
    metrics: Metrics

    @classmethod
    def build(cls, settings: Settings) -> WorkerRuntime:
        """Connect to Redis and load the model named by the settings."""
        client = redis.Redis.from_url(settings.redis_url, health_check_interval=30)
        model = load_model(settings.model_path)
        thresholds = model.thresholds
        policy = Policy(
            publish_below=(
                settings.publish_below
                if settings.publish_below is not None
                else thresholds.publish_below
            ),
            spam_above=(
                settings.spam_above if settings.spam_above is not None else thresholds.spam_above
            ),
            max_links=settings.max_links,
            premoderation=settings.premoderation,
        )
        logger.info(
            "worker runtime ready: model %s, publish below %.3f, spam at or above %.3f",
            model.version,
            policy.publish_below,
            policy.spam_above,
        )
        return cls(
            settings=settings,
            redis=client,
            store=CommentStore(client, schedule_ttl=settings.reconcile_after_seconds),
            lists=ListStore(client),
            queues=Queues.connect(client),
            model=model,
            policy=policy,
            metrics=Metrics(client),
        )


_runtime: WorkerRuntime | None = None


def get_runtime() -> WorkerRuntime:
    """The process's runtime, built from the environment on first use."""
    global _runtime
    if _runtime is None:
        _runtime = WorkerRuntime.build(load_settings())
    return _runtime


def set_runtime(runtime: WorkerRuntime | None) -> None:
    """Install (or drop, with ``None``) the process's runtime."""
    global _runtime
    _runtime = runtime
