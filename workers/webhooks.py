"""Webhook events: built when a comment is decided, delivered from their own queue.

Each delivery is an RQ job on the webhooks queue, so a slow or dead receiver delays
nothing but its own deliveries. A failed delivery raises; RQ retries it with backoff
and, when the retries are spent, keeps it in its failed-job registry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Iterable
from typing import Any, cast

import httpx
import redis

from service.store import Comment, isoformat
from service.store.keys import PREFIX

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Commentgate-Signature"
EVENT_HEADER = "X-Commentgate-Event"
DELIVERY_HEADER = "X-Commentgate-Delivery"
#: Events are kept this long for their deliveries (and retries) to read.
EVENT_TTL = 7 * 24 * 3600


def _event_key(event_id: str) -> str:
    return f"{PREFIX}event:{event_id}"


def sign(body: bytes, secret: str) -> str:
    """The signature header value: ``sha256=`` and the hex HMAC of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event_payload(
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


def store_events(client: redis.Redis, events: Iterable[dict[str, Any]]) -> list[str]:
    """Store events for delivery; returns their ids."""
    ids: list[str] = []
    with client.pipeline(transaction=False) as pipe:
        for event in events:
            event_id = "evt_" + secrets.token_urlsafe(12)
            body = json.dumps({"id": event_id, **event}, separators=(",", ":"))
            pipe.set(_event_key(event_id), body, ex=EVENT_TTL)
            ids.append(event_id)
        pipe.execute()
    return ids


def deliver(client: redis.Redis, event_id: str, url: str, *, secret: str, timeout: float) -> int:
    """POST one stored event to one receiver.

    Returns:
        The receiver's HTTP status.

    Raises:
        httpx.HTTPError: The receiver failed or answered outside 2xx (RQ retries).
    """
    body = cast(bytes | None, client.get(_event_key(event_id)))
    if body is None:
        logger.warning("webhook event %s expired before delivery to %s", event_id, url)
        return 0
    event_type = json.loads(body)["type"]
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "commentgate-webhooks/1",
        EVENT_HEADER: event_type,
        DELIVERY_HEADER: event_id,
        SIGNATURE_HEADER: sign(body, secret),
    }
    response = httpx.post(url, content=body, headers=headers, timeout=timeout)
    response.raise_for_status()
    logger.info(
        "webhook %s %s delivered to %s: %s", event_type, event_id, url, response.status_code
    )
    return response.status_code
