"""What a worker process holds for its whole life: settings, clients and the model.

The base model is loaded once per process, never per job. ``commentgate worker``
builds the runtime before it starts taking jobs, so forked work-horses inherit it.
Model versions learnt from moderators live in Redis, per site
(:mod:`service.core.model_registry`); each site's context
(:class:`~service.core.site_contexts.SiteContexts`: model holder, campaign memory,
lists, settings) is made when the worker first meets the site, shares the one base
model, and is refreshed once per batch of that site's comments.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from classifier import SpamModel, load_model
from service.core.campaigns import CampaignMemory
from service.core.decision import Policy
from service.core.metrics import Metrics
from service.core.model_holder import ModelHolder
from service.core.queues import Queues
from service.core.redis_client import connect, riding_out_outages
from service.core.settings import Settings, load_settings
from service.core.site_contexts import SiteContexts
from service.core.store import CommentStore
from service.core.store.keys import DEFAULT_SITE
from service.core.store.lists import ListStore
from service.core.store.upgrade import upgrade_keys

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerRuntime:
    """Everything a job needs, built once per process.

    ``models``, ``lists`` and ``campaigns`` are the default site's (those of
    ``sites.context(DEFAULT_SITE)``); ``models.base`` is every site's base model.
    """

    settings: Settings
    redis: redis.Redis
    store: CommentStore
    lists: ListStore
    queues: Queues
    models: ModelHolder
    metrics: Metrics
    campaigns: CampaignMemory
    sites: SiteContexts

    @property
    def model(self) -> SpamModel:
        """The model in use (see :meth:`ModelHolder.refresh`)."""
        return self.models.current()[0]

    @property
    def policy(self) -> Policy:
        """The decision policy of the model in use."""
        return self.models.current()[1]

    @classmethod
    def build(cls, settings: Settings) -> WorkerRuntime:
        """Connect to Redis and load the model named by the settings."""
        client = connect(settings.redis_url, health_check_interval=30, **riding_out_outages())
        try:
            upgrade_keys(client)
        except redis.ResponseError:  # a full Redis refuses the renames: next start
            logger.warning("Redis refused writes: keys of an earlier version not moved yet")
        model = load_model(settings.model_path)
        store = CommentStore(client, schedule_ttl=settings.reconcile_after_seconds)
        sites = SiteContexts(client, model, settings, store)
        default = sites.context(DEFAULT_SITE)
        policy = default.models.current()[1]
        logger.info(
            "worker runtime ready: base model %s, publish below %.3f, spam at or above %.3f",
            model.version,
            policy.publish_below,
            policy.spam_above,
        )
        return cls(
            settings=settings,
            redis=client,
            store=store,
            lists=default.lists,
            queues=Queues.connect(client),
            models=default.models,
            metrics=Metrics(client),
            campaigns=default.campaigns,
            sites=sites,
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
