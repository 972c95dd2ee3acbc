"""Webhook events: stored in Redis and queued for delivery, one job per receiver.

Both the workers (``comment.published``, ``comment.held``, ``comment.spam``) and the
moderation API (``comment.moderated``) emit events through :func:`emit`; delivery
happens in :mod:`workers.webhooks` on the webhooks queue, so a slow or dead receiver
never stalls scoring or moderation.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from typing import Any

import redis

from service.queues import Queues
from service.settings import Settings
from service.store import Comment, isoformat
from service.store.keys import PREFIX

#: Events are kept this long for their deliveries (and retries) to read.
EVENT_TTL = 7 * 24 * 3600


def event_key(event_id: str) -> str:
    """Key holding one event's JSON body."""
    return f"{PREFIX}event:{event_id}"


def payload(
    event_type: str, comment: Comment, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON body of an event about a comment (no e-mail, no IP)."""
    data = comment.public_view() | {
        "thread": comment.thread,
        "status": comment.status.value,
        "score": comment.score,
        "model_version": comment.model_version,
        "reasons": comment.reasons,
    }
    if extra:
        data |= extra
    return {"type": event_type, "created_at": isoformat(time.time()), "data": data}


def emit(
    client: redis.Redis, queues: Queues, settings: Settings, events: Sequence[dict[str, Any]]
) -> list[str]:
    """Store events and queue their deliveries to every configured receiver.

    Returns:
        The ids of the stored events (none when no receiver is configured).
    """
    urls = list(settings.webhooks)
    if not urls or not events:
        return []
    ids: list[str] = []
    with client.pipeline(transaction=False) as pipe:
        for event in events:
            event_id = "evt_" + secrets.token_urlsafe(12)
            body = json.dumps({"id": event_id, **event}, separators=(",", ":"))
            pipe.set(event_key(event_id), body, ex=EVENT_TTL)
            ids.append(event_id)
        pipe.execute()
    queues.enqueue_webhooks(
        [(event_id, url) for event_id in ids for url in urls],
        max_retries=settings.webhook_max_retries,
        backoff=settings.webhook_backoff_seconds,
        timeout=settings.webhook_timeout_seconds,
    )
    return ids
