"""Model versions kept in Redis, so every worker on any machine uses the same model.

The registry stores bytes and JSON only: it never imports scikit-learn. Loading a
stored model goes through :func:`classifier.load_model_bytes`, which applies the same
checks as loading a file (skops allowlist, SHA-256 against the card, library version).

Keys::

    cg:models:index          zset  version -> created (unix time)
    cg:models:v:<version>    hash  skops (bytes; absent for a refused candidate and
                                   for a base), card (JSON), created, status, promoted_at
    cg:models:current        the promoted version workers use (absent: their base model)
    cg:models:history        list of JSON events (promote, rollback), newest first

Statuses: ``base`` (a worker's configured model, registered so that one can roll back
to it), ``candidate`` (stored, about to be promoted), ``promoted`` (current now or
earlier) and ``refused`` (the guard did not promote it; only its card is kept).

A base is registered by its card alone: every process holds its base model and never
reads a base's bytes from here, so a site's registry does not keep a copy of it
(:meth:`ModelRegistry.drop_base_bytes` removes the copy registries kept before).
"""

from __future__ import annotations

import builtins
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import redis

from service.core.store import keys
from service.core.store.keys import DEFAULT_SITE

__all__ = [
    "ModelRegistry",
    "ModelVersion",
    "NotRestorableError",
    "StoredModel",
    "UnknownVersionError",
    "lineage",
]

HISTORY_LENGTH = 1000
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")

BASE = "base"
CANDIDATE = "candidate"
PROMOTED = "promoted"
REFUSED = "refused"
STATUSES = (BASE, CANDIDATE, PROMOTED, REFUSED)


def lineage(version: str) -> str:
    """The base model a version descends from: ``cg-abc+u123`` -> ``cg-abc``."""
    return version.split("+", 1)[0]


class UnknownVersionError(LookupError):
    """No stored model has that version."""

    def __init__(self, version: str) -> None:
        super().__init__(f"unknown model version {version!r} (see `commentgate model list`)")
        self.version = version


class NotRestorableError(ValueError):
    """The version exists but cannot be made current (a refused candidate has no model)."""


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One stored version, without its bytes.

    Attributes:
        version: The model version.
        status: ``base``, ``candidate``, ``promoted`` or ``refused``.
        created: When it was stored (unix time).
        promoted_at: When it was last made current, if ever.
        size: Bytes of its skops file (0 when only the card is kept).
        card: Its model card.
        current: Whether workers use it now.
    """

    version: str
    status: str
    created: float
    promoted_at: float | None
    size: int
    card: dict[str, Any]
    current: bool


@dataclass(frozen=True, slots=True)
class StoredModel:
    """A version's skops bytes and the card that vouches for them."""

    version: str
    data: bytes
    card: dict[str, Any]


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


class ModelRegistry:
    """Stores model versions and the pointer to the current one.

    Args:
        client: Redis connection (``decode_responses`` must be off: models are bytes).
        site: The site whose models these are (each site has its own versions).
        keep: How many versions to keep when pruning, besides the current one and its base.
    """

    def __init__(self, client: redis.Redis, *, site: str = DEFAULT_SITE, keep: int = 20) -> None:
        self.client = client
        self.site = site
        self.keep = keep
        self.index_key = keys.models_index(site)
        self.current_key = keys.models_current(site)
        self.history_key = keys.models_history(site)

    def version_key(self, version: str) -> str:
        """The hash holding one of this site's versions."""
        return keys.model_version(self.site, version)

    @staticmethod
    def check_version(version: str) -> str:
        """Return ``version`` if it is a valid version name.

        Raises:
            UnknownVersionError: It cannot name a stored version.
        """
        if not VERSION_PATTERN.match(version):
            raise UnknownVersionError(version)
        return version

    # -- reading -----------------------------------------------------------------------

    def current(self) -> str | None:
        """The version workers should use, or ``None`` for their base model (one GET)."""
        return _text(cast(bytes | None, self.client.get(self.current_key)))

    def current_card(self, base_card: dict[str, Any]) -> dict[str, Any]:
        """The card of the model workers decide with: the current version's, else the base's.

        A current version of another lineage than ``base_card`` names is ignored, as
        :class:`~service.core.model_holder.ModelHolder` ignores it.
        """
        wanted = self.current()
        if wanted is None or lineage(wanted) != base_card.get("model_version"):
            return base_card
        try:
            return self.card(wanted)
        except UnknownVersionError:
            return base_card

    def exists(self, version: str) -> bool:
        """Whether ``version`` is stored (with or without its bytes)."""
        return bool(self.client.exists(self.version_key(self.check_version(version))))

    def get(self, version: str) -> StoredModel:
        """A stored version's bytes and card.

        Raises:
            UnknownVersionError: No such version, or only its card is kept.
        """
        raw = cast(
            list[bytes | None],
            self.client.hmget(self.version_key(self.check_version(version)), "skops", "card"),
        )
        data, card = raw
        if data is None or card is None:
            raise UnknownVersionError(version)
        return StoredModel(version, data, json.loads(card))

    def card(self, version: str) -> dict[str, Any]:
        """A stored version's model card.

        Raises:
            UnknownVersionError: No such version.
        """
        raw = cast(
            bytes | None, self.client.hget(self.version_key(self.check_version(version)), "card")
        )
        if raw is None:
            raise UnknownVersionError(version)
        card: dict[str, Any] = json.loads(raw)
        return card

    def list(self) -> list[ModelVersion]:
        """Every stored version, oldest first."""
        versions = [
            v.decode() for v in cast(list[bytes], self.client.zrange(self.index_key, 0, -1))
        ]
        current = self.current()
        with self.client.pipeline(transaction=False) as pipe:
            for version in versions:
                pipe.hmget(self.version_key(version), "status", "created", "promoted_at", "card")
                pipe.hstrlen(self.version_key(version), "skops")
            rows = pipe.execute()
        out = []
        for index, version in enumerate(versions):
            status, created, promoted_at, card = rows[2 * index]
            if card is None:
                continue  # pruned between the two reads
            out.append(
                ModelVersion(
                    version=version,
                    status=_text(status) or CANDIDATE,
                    created=float(created or 0),
                    promoted_at=float(promoted_at) if promoted_at else None,
                    size=int(rows[2 * index + 1]),
                    card=json.loads(card),
                    current=version == current,
                )
            )
        return out

    def history(self, limit: int = 50) -> builtins.list[dict[str, Any]]:
        """Promotions and rollbacks, newest first."""
        raw = cast(list[bytes], self.client.lrange(self.history_key, 0, max(0, limit - 1)))
        return [json.loads(item) for item in raw]

    # -- writing -----------------------------------------------------------------------

    def put(
        self, version: str, data: bytes | None, card: Mapping[str, Any], *, status: str
    ) -> bool:
        """Store a version (its card, and its skops bytes unless ``data`` is ``None``).

        A version already stored is left as it is (equal versions are equal models).

        Args:
            version: The model version (the card's ``model_version``).
            data: The skops bytes, or ``None`` to keep only the card (a refused candidate,
                a base).
            card: The model card, as written by :func:`classifier.dump_model_bytes`.
            status: ``base``, ``candidate`` or ``refused``.

        Returns:
            Whether the version was stored now.
        """
        self.check_version(version)
        if status not in (BASE, CANDIDATE, REFUSED):
            raise ValueError(f"cannot store a version as {status!r}")
        now = time.time()
        fields: dict[str, bytes | str | float] = {
            "card": json.dumps(dict(card), sort_keys=False),
            "created": now,
            "status": status,
        }
        if data is not None:
            fields["skops"] = data
        key = self.version_key(version)
        with self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]
                    if pipe.exists(key):
                        pipe.unwatch()
                        return False
                    pipe.multi()
                    pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
                    pipe.zadd(self.index_key, {version: now})
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue

    def promote(
        self,
        version: str,
        *,
        actor: str,
        action: str = "promote",
        note: str = "",
        also: Mapping[str, str] | None = None,
    ) -> str | None:
        """Make ``version`` current, atomically with the history entry (and ``also``).

        Args:
            version: A stored version that has its bytes and was not refused.
            actor: Who does it (``learning``, ``cli:NAME``).
            action: ``promote`` or ``rollback``, for the history.
            note: A short reason, for the history.
            also: More keys to SET in the same transaction (the learning cursor).

        Returns:
            The version that was current before (``None``: the base model).

        Raises:
            UnknownVersionError: No such version.
            NotRestorableError: Only the card of the version is kept (refused).
        """
        key = self.version_key(self.check_version(version))  # a base needs no bytes
        with self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key, self.current_key)  # type: ignore[no-untyped-call]
                    status = _text(cast(bytes | None, pipe.hget(key, "status")))
                    if status is None:
                        raise UnknownVersionError(version)
                    if status == REFUSED or (status != BASE and not pipe.hexists(key, "skops")):
                        raise NotRestorableError(
                            f"model version {version!r} was refused by the guard and "
                            "cannot be made current"
                        )
                    previous = _text(cast(bytes | None, pipe.get(self.current_key)))
                    now = time.time()
                    event = {
                        "at": now,
                        "action": action,
                        "version": version,
                        "previous": previous,
                        "actor": actor,
                        "note": note,
                    }
                    pipe.multi()
                    pipe.set(self.current_key, version)
                    pipe.hset(key, mapping={"promoted_at": now})
                    if status == CANDIDATE:
                        pipe.hset(key, "status", PROMOTED)
                    pipe.lpush(self.history_key, json.dumps(event))
                    pipe.ltrim(self.history_key, 0, HISTORY_LENGTH - 1)
                    for name, value in (also or {}).items():
                        pipe.set(name, value)
                    pipe.execute()
                    return previous
                except redis.WatchError:
                    continue

    def rollback(self, version: str, *, actor: str) -> str | None:
        """Make an earlier version (or the base) current again.

        Returns:
            The version that was current before.

        Raises:
            UnknownVersionError: No such version.
            NotRestorableError: The version was refused (never promoted).
        """
        return self.promote(version, actor=actor, action="rollback", note="rollback")

    def drop_base_bytes(self, version: str) -> bool:
        """Delete the bytes a base version was once registered with (its card stays).

        Returns:
            Whether there were bytes to delete (only ever for a version of status base).
        """
        key = self.version_key(self.check_version(version))
        with self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]
                    if pipe.hget(key, "status") != BASE.encode() or not pipe.hexists(key, "skops"):
                        pipe.unwatch()
                        return False
                    pipe.multi()
                    pipe.hdel(key, "skops")
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue

    def prune(self) -> builtins.list[str]:
        """Delete the oldest versions beyond ``keep``; never the current one or its base.

        Returns:
            The versions deleted.
        """
        current = self.current()
        protected: set[str | None] = {current, lineage(current)} if current else set()
        versions = [
            v.decode() for v in cast(list[bytes], self.client.zrevrange(self.index_key, 0, -1))
        ]
        newest_base = next(
            (
                v
                for v in versions
                if self.client.hget(self.version_key(v), "status") == BASE.encode()
            ),
            None,
        )
        protected.add(newest_base)
        kept = 0
        doomed = []
        for version in versions:
            if version in protected:
                continue
            kept += 1
            if kept > self.keep:
                doomed.append(version)
        if doomed:
            with self.client.pipeline() as pipe:
                for version in doomed:
                    pipe.delete(self.version_key(version))
                pipe.zrem(self.index_key, *doomed)
                pipe.execute()
        return doomed
