"""Webhook events: built with the state change, stored and queued from the outbox.

Both the workers (``comment.published``, ``comment.held``, ``comment.spam``) and the
moderation API (``comment.moderated``) build their events with :func:`new_event`
before the Lua script that changes the comments runs; the script appends them to the
outbox (:mod:`service.core.outbox`) in the same step, so a committed change never loses
its events. Draining the outbox stores each event and queues its deliveries with
:func:`store_and_queue`; delivery happens in :mod:`workers.webhooks` on the webhooks
queue, so a slow or dead receiver never stalls scoring or moderation.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from redis.client import Pipeline

from service.core.queues import Queues
from service.core.settings import Settings
from service.core.store import Comment, isoformat, keys

#: Events are kept this long for their deliveries (and retries) to read.
EVENT_TTL = 7 * 24 * 3600


def event_key(event_id: str) -> str:
    """Key holding one event's JSON body."""
    return keys.event(event_id)


def payload(
    event_type: str, comment: Comment, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON body of an event about a comment (no e-mail, no IP)."""
    data = comment.public_view() | {
        "site": comment.site,
        "thread": comment.thread,
        "status": comment.status.value,
        "score": comment.score,
        "model_version": comment.model_version,
        "reasons": comment.reasons,
    }
    if extra:
        data |= extra
    return {"type": event_type, "created_at": isoformat(time.time()), "data": data}


def new_event(
    event_type: str, comment: Comment, extra: dict[str, Any] | None = None
) -> tuple[str, str]:
    """A new event's id and JSON body, for the outbox.

    The id is fixed here, once: it is the ``webhook-id`` of every delivery of the
    event, however often the outbox is drained.
    """
    event_id = "evt_" + secrets.token_urlsafe(12)
    body = {"id": event_id, **payload(event_type, comment, extra)}
    return event_id, json.dumps(body, separators=(",", ":"))


def receivers_of(settings: Settings, site_receivers: Iterable[str]) -> list[str]:
    """The URLs a site's events go to: the global receivers, then the site's own.

    A URL that is both is delivered to once (signed with the global secret).
    """
    urls = list(settings.webhooks)
    return urls + [url for url in site_receivers if url not in settings.webhooks]


def store_and_queue(
    pipe: Pipeline,
    queues: Queues,
    settings: Settings,
    events: Sequence[tuple[str, str, str]],
    site_receivers: Mapping[str, Iterable[str]],
) -> None:
    """Add to ``pipe`` what stores events and queues their deliveries to every receiver.

    Args:
        pipe: The transaction to add to.
        queues: The delivery queue.
        settings: The global receivers (``COMMENTGATE_WEBHOOKS``) and delivery settings.
        events: Each event's id, body and site.
        site_receivers: Per site, the URLs of its own receivers.

    An event with no receiver is neither stored nor delivered.
    """
    deliveries: list[tuple[str, str, str]] = []
    for event_id, body, site in events:
        urls = receivers_of(settings, site_receivers.get(site, ()))
        if urls:
            pipe.set(event_key(event_id), body, ex=EVENT_TTL)
            deliveries += [(event_id, url, site) for url in urls]
    if not deliveries:
        return
    queues.enqueue_webhooks(
        deliveries,
        max_retries=settings.webhook_max_retries,
        backoff=settings.webhook_backoff_seconds,
        timeout=settings.webhook_timeout_seconds,
        pipeline=pipe,
    )
