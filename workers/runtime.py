"""What a worker process holds for its whole life: settings, clients and the model.

The base model is loaded once per process, never per job. ``commentgate worker``
builds the runtime before it starts taking jobs, so forked work-horses inherit it.
Model versions learnt from moderators live in Redis (:mod:`service.core.model_registry`);
:class:`ModelHolder` checks the current version once per batch and loads a new one
once per process.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import redis

from classifier import DEFAULT_MODEL_PATH, SpamModel, load_model, load_model_bytes
from classifier._reference import Reference, load_reference
from classifier.exceptions import ModelLoadError
from service.core.campaigns import CampaignMemory
from service.core.decision import Policy
from service.core.metrics import Metrics
from service.core.model_registry import ModelRegistry, UnknownVersionError, lineage
from service.core.queues import Queues
from service.core.redis_client import connect, riding_out_outages
from service.core.settings import Settings, load_settings
from service.core.store import CommentStore
from service.core.store.keys import DEFAULT_SITE
from service.core.store.lists import ListStore

logger = logging.getLogger(__name__)


def policy_for(model: SpamModel, settings: Settings) -> Policy:
    """The decision policy: the model card's thresholds unless the settings override them."""
    thresholds = model.thresholds
    return Policy(
        publish_below=(
            settings.publish_below
            if settings.publish_below is not None
            else thresholds.publish_below
        ),
        spam_above=(
            settings.spam_above if settings.spam_above is not None else thresholds.spam_above
        ),
        max_links=settings.max_links,
        max_phone_numbers=settings.max_phone_numbers,
        premoderation=settings.premoderation,
    )


class ModelHolder:
    """The model (and policy) a worker decides with: its base or the promoted version.

    :meth:`refresh` reads the registry's current version (one GET) and switches when it
    changed. A version that fails to load is logged once and skipped: the worker keeps
    the model it has. A version that does not descend from this worker's base model
    (another ``COMMENTGATE_MODEL_PATH``) is ignored in favour of the base.

    Args:
        base: The model from ``COMMENTGATE_MODEL_PATH`` (or the shipped one).
        settings: The settings (threshold overrides).
        registry: Where promoted versions are kept.
    """

    #: Loaded versions kept in memory, so a rollback and back costs no reload.
    CACHE = 3

    def __init__(self, base: SpamModel, settings: Settings, registry: ModelRegistry) -> None:
        self.base = base
        self.registry = registry
        self._settings = settings
        self._active = (base, policy_for(base, settings))
        self._loaded: dict[str, SpamModel] = {base.version: base}
        self._skipped: set[str] = set()

    @functools.cached_property
    def reference(self) -> Reference | None:
        """The base model's reference set (read on first use: only learning needs it).

        Raises:
            ModelLoadError: The file beside the model does not match its card.
        """
        return load_reference(self._settings.model_path or DEFAULT_MODEL_PATH, self.base.card)

    def current(self) -> tuple[SpamModel, Policy]:
        """The model and policy in use (no I/O)."""
        return self._active

    def refresh(self) -> tuple[SpamModel, Policy]:
        """Switch to the registry's current version if it changed; return what to use."""
        wanted = self.registry.current() or self.base.version
        if wanted == self._active[0].version or wanted in self._skipped:
            return self._active
        if lineage(wanted) != self.base.version:
            logger.warning(
                "current model %s does not descend from this worker's base model %s; "
                "using the base model (see `commentgate model list`)",
                wanted,
                self.base.version,
            )
            self._skipped.add(wanted)
            model = self.base
        else:
            loaded = self._loaded.get(wanted) or self._load(wanted)
            if loaded is None:
                return self._active
            model = loaded
        previous = self._active[0].version
        self._active = (model, policy_for(model, self._settings))
        logger.info("switched model %s -> %s", previous, model.version)
        return self._active

    def _load(self, version: str) -> SpamModel | None:
        try:
            stored = self.registry.get(version)
            model = load_model_bytes(stored.data, stored.card, source=f"redis:{version}")
        except (ModelLoadError, UnknownVersionError, ValueError) as exc:
            logger.error("not switching to model %s: %s", version, exc)
            self._skipped.add(version)
            return None
        if model.version != version:
            logger.error("not switching to model %s: its card names %s", version, model.version)
            self._skipped.add(version)
            return None
        self._loaded[version] = model
        while len(self._loaded) > self.CACHE:
            oldest = next(v for v in self._loaded if v != self.base.version)
            del self._loaded[oldest]
        return model


@dataclass(frozen=True)
class WorkerRuntime:
    """Everything a job needs, built once per process."""

    settings: Settings
    redis: redis.Redis
    store: CommentStore
    lists: ListStore
    queues: Queues
    models: ModelHolder
    metrics: Metrics
    campaigns: CampaignMemory

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
        model = load_model(settings.model_path)
        registry = ModelRegistry(client, keep=settings.model_keep_versions)
        models = ModelHolder(model, settings, registry)
        policy = models.current()[1]
        logger.info(
            "worker runtime ready: base model %s, publish below %.3f, spam at or above %.3f",
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
            models=models,
            metrics=Metrics(client),
            campaigns=CampaignMemory(client, DEFAULT_SITE),
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
