"""The outbox: follow-up work committed in the same Redis step as the change causing it.

A worker's decisions (``DECIDE``) and a moderator's (``MODERATE``) append, in the
same Lua script that changes the comments, the work that must follow: one webhook
event per comment (when receivers are configured) and, for a labelled decision, a
model update. An error between the change and the queueing of that work (a full
Redis, a crash) can then delay it but never lose it.

:func:`drain` turns entries into RQ jobs. The process that made the change drains
right after it (:func:`drain_soon`); the reconciler, every few seconds, drains what is
left. Each batch of entries is queued and deleted in one MULTI/EXEC, watched against
other drains, so its webhook deliveries are queued exactly once; a crash before the
EXEC leaves the batch for the next drain. A site's model update is queued just before its
batch's transaction: the site's "scheduled" flag
(:func:`service.core.store.keys.learning_scheduled`) makes a second attempt queue nothing.
An event goes to the global receivers and to its site's own (:mod:`service.core.sites`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import cast

import redis

from service.core import events
from service.core.queues import Queues
from service.core.settings import Settings
from service.core.sites import SiteRegistry
from service.core.store import keys
from service.core.store.keys import DEFAULT_SITE

logger = logging.getLogger(__name__)

#: ``kind`` of an entry: a webhook event (fields ``id``, ``body``, ``site``; ``previous``
#: for a moderation, the status the script found), or a model update of a site
#: (``request_id``, ``site``). Entries written before sites have no ``site``: the
#: default site's.
EVENT = "event"
LEARNING = "learning"
#: Entries drained per transaction.
BATCH = 200
#: Attempts at one batch while other drains or new entries change the outbox.
ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Entry:
    """One outbox entry, decoded."""

    id: str
    kind: str
    fields: dict[str, str]

    @property
    def site(self) -> str:
        """The site whose comment the entry is about."""
        return self.fields.get("site") or DEFAULT_SITE

    def event(self) -> tuple[str, str, str]:
        """The event's id, the body to store (with the previous status, if any), its site."""
        body = self.fields["body"]
        if "previous" in self.fields:
            parsed = json.loads(body)
            parsed["data"]["previous_status"] = self.fields["previous"]
            body = json.dumps(parsed, separators=(",", ":"))
        return self.fields["id"], body, self.site


def pending(client: redis.Redis) -> int:
    """How many entries wait to be drained."""
    return int(client.xlen(keys.OUTBOX))


def drain(client: redis.Redis, queues: Queues, settings: Settings, *, batches: int = 50) -> int:
    """Queue the jobs of waiting entries and delete the entries; idempotent.

    Args:
        client: The Redis client.
        queues: Where to queue the jobs.
        settings: The webhook receivers and their delivery settings.
        batches: Most batches of :data:`BATCH` entries to drain in this call.

    Returns:
        How many entries were drained.

    Raises:
        redis.RedisError: Redis failed or refused the writes (out of memory); the
            entries not drained stay for the next drain.
    """
    drained = 0
    for _ in range(batches):
        done = _drain_batch(client, queues, settings)
        drained += done
        if done < BATCH:
            break
    return drained


def drain_soon(client: redis.Redis, queues: Queues, settings: Settings) -> None:
    """Drain right after a change; on a Redis error, leave it to the reconciler."""
    try:
        drain(client, queues, settings)
    except redis.RedisError as exc:
        logger.warning("outbox not drained now (the reconciler will): %s", exc, exc_info=True)


def _drain_batch(client: redis.Redis, queues: Queues, settings: Settings) -> int:
    for _ in range(ATTEMPTS):
        with client.pipeline() as pipe:
            try:
                pipe.watch(keys.OUTBOX)  # type: ignore[no-untyped-call]
                rows = cast(
                    list[tuple[bytes, dict[bytes, bytes]]],
                    pipe.xrange(keys.OUTBOX, count=BATCH),
                )
                if not rows:
                    return 0
                entries = [_decode(entry_id, fields) for entry_id, fields in rows]
                learning = {e.site: e for e in entries if e.kind == LEARNING}  # the last per site
                for site, entry in learning.items():
                    queues.enqueue_learning(site, request_id=entry.fields.get("request_id", ""))
                found = [e.event() for e in entries if e.kind == EVENT]
                registry = SiteRegistry(client)
                receivers = {site: registry.receivers(site) for site in {e[2] for e in found}}
                pipe.multi()
                events.store_and_queue(pipe, queues, settings, found, receivers)
                pipe.xdel(keys.OUTBOX, *(e.id for e in entries))
                pipe.execute()
            except redis.WatchError:
                continue
        return len(entries)
    logger.info("outbox busy: %s drains in a row raced another; the next drain continues", ATTEMPTS)
    return 0


def _decode(entry_id: bytes, fields: dict[bytes, bytes]) -> Entry:
    decoded = {k.decode(): v.decode() for k, v in fields.items()}
    return Entry(id=entry_id.decode(), kind=decoded.pop("kind", ""), fields=decoded)
