"""The model a process decides with: its base, or the site model promoted in Redis.

The workers hold one, and so does the web process that answers the Akismet
protocol's synchronous checks. The base model is loaded once per process, never per
comment; :class:`ModelHolder` checks the registry's current version (one GET) when
asked and loads a new version once per process. A site model loads onto the base
(``load_model_bytes(..., base=)``): every site's model in a process shares the one base
and costs only its layer.
"""

from __future__ import annotations

import functools
import logging

from classifier import DEFAULT_MODEL_PATH, SpamModel, load_model_bytes
from classifier._reference import Reference, load_reference
from classifier.exceptions import ModelLoadError
from service.core.decision import Policy, policy_for
from service.core.model_registry import ModelRegistry, UnknownVersionError, lineage
from service.core.settings import Settings

__all__ = ["ModelHolder"]

logger = logging.getLogger(__name__)


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
        self._active = (base, policy_for(base.card, settings))
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
        self._active = (model, policy_for(model.card, self._settings))
        logger.info("switched model %s -> %s", previous, model.version)
        return self._active

    def _load(self, version: str) -> SpamModel | None:
        try:
            stored = self.registry.get(version)
            model = load_model_bytes(
                stored.data, stored.card, source=f"redis:{version}", base=self.base
            )
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
