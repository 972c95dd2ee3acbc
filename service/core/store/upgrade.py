"""Moving keys of an earlier layout to where this version keeps them.

Before sites, the model registry, the block and allow lists, the threads' published
indexes, the moderators' labels and the learning's cursor were global (``cg:models:*``,
``cg:list:*``, ``cg:thread:*``, ``cg:feedback``, ``cg:learning:cursor``). They are the
default site's now, under ``cg:sites:default:``. Layout 4 drops the retired set of
e-mail digests (``cg:authors:approved``, see ``keys.LEGACY_APPROVED_AUTHORS``).
:func:`upgrade_keys` renames (and drops) what an earlier version left, once: the web
app, the workers and the command line call it when they start, and it costs one GET
once done (``cg:schema`` holds the layout's version).
"""

from __future__ import annotations

import logging
from typing import cast

import redis

from service.core.store import keys
from service.core.store.keys import DEFAULT_SITE, PREFIX
from service.core.store.models import DECIDED_STATUSES

__all__ = ["LAYOUT", "upgrade_keys"]

logger = logging.getLogger(__name__)

#: The key layout this version writes.
LAYOUT = 4

#: Earlier layouts' prefixes (the old key is the prefix plus a rest that is kept) ->
#: this one's.
_MOVED_PREFIXES = {
    PREFIX + "models:v:": keys.site_scoped(DEFAULT_SITE, "models:v:"),
    PREFIX + "list:": keys.site_scoped(DEFAULT_SITE, "list:"),
    PREFIX + "thread:": keys.site_scoped(DEFAULT_SITE, "thread:"),
}
_MOVED_KEYS = {
    PREFIX + "models:index": keys.models_index(DEFAULT_SITE),
    PREFIX + "models:current": keys.models_current(DEFAULT_SITE),
    PREFIX + "models:history": keys.models_history(DEFAULT_SITE),
    # layout 2 -> 3: labels and the learning's cursor per site
    keys.LEGACY_FEEDBACK: keys.feedback(DEFAULT_SITE),
    keys.LEGACY_LEARNING_CURSOR: keys.learning_cursor(DEFAULT_SITE),
}


def _index_default_site(client: redis.Redis) -> None:
    """Layout 3 keeps each site's own status indexes beside the global ones.

    Every comment decided before was the default site's: its index of a status starts
    as a copy of the global one (a union, so what a newer process added stays).
    """
    for status in DECIDED_STATUSES:
        client.zunionstore(
            keys.site_status_index(DEFAULT_SITE, status.value),
            [keys.site_status_index(DEFAULT_SITE, status.value), keys.status_index(status.value)],
        )


def upgrade_keys(client: redis.Redis) -> int:
    """Rename an earlier layout's keys to this one's; returns how many moved.

    Idempotent, and safe to run from several processes at once: a key is moved with
    ``RENAMENX``, so one that exists already at the new name is never overwritten (the
    old one is then left for an operator to inspect, and logged).
    """
    layout = cast(bytes | None, client.get(keys.SCHEMA))
    if layout is not None and int(layout) >= LAYOUT:
        return 0
    moves = dict(_MOVED_KEYS)
    for old_prefix, new_prefix in _MOVED_PREFIXES.items():
        for raw in client.scan_iter(match=old_prefix + "*", count=1000):
            old = raw.decode() if isinstance(raw, bytes) else str(raw)
            moves[old] = new_prefix + old.removeprefix(old_prefix)
    moved = 0
    for old, new in moves.items():
        try:
            renamed = client.renamenx(old, new)
        except redis.ResponseError:  # no such key: nothing to move
            continue
        if renamed:
            moved += 1
        else:
            logger.warning("kept %s: %s exists already", old, new)
    if layout is None or int(layout) < 3:
        _index_default_site(client)
    if client.delete(keys.LEGACY_APPROVED_AUTHORS):  # layout 4: personal data nobody reads
        logger.info("deleted the retired approved-authors set")
    client.set(keys.SCHEMA, LAYOUT)
    if moved:
        logger.info("moved %s keys to the layout of version %s", moved, LAYOUT)
    return moved
