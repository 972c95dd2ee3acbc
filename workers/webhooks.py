"""Webhook delivery: one RQ job per event and receiver, on its own queue.

Events are stored by :mod:`service.core.events`. A slow or dead receiver delays nothing but
its own deliveries. A failed delivery raises; RQ retries it with backoff and, when the
retries are spent, keeps it in its failed-job registry.

Deliveries are signed the Standard Webhooks way (https://www.standardwebhooks.com),
with the receiver's own secret: ``webhook-signature`` is ``v1,`` and the base64
HMAC-SHA256 of ``<webhook-id>.<webhook-timestamp>.<body>``. The ``webhook-id`` is the
event's id, the same on every retry, so a receiver can drop a delivery it already
processed; the timestamp is the attempt's, so a receiver can refuse replays.
docs/operations.md shows how a receiver verifies them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from typing import cast

import httpx
import redis

from service.core.events import event_key

logger = logging.getLogger(__name__)

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
EVENT_HEADER = "X-Commentgate-Event"


def sign(key: bytes, delivery_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` and the base64 HMAC of id, time and body.

    Args:
        key: The receiver's key (its ``whsec_`` secret, base64-decoded).
        delivery_id: The ``webhook-id``.
        timestamp: The ``webhook-timestamp``, in whole seconds since the epoch.
        body: The exact bytes sent.
    """
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def deliver(client: redis.Redis, event_id: str, url: str, *, key: bytes, timeout: float) -> int:
    """POST one stored event to one receiver, signed with that receiver's key.

    Returns:
        The receiver's HTTP status, or 0 when the event expired before delivery.

    Raises:
        httpx.HTTPError: The receiver failed or answered outside 2xx (RQ retries).
    """
    body = cast(bytes | None, client.get(event_key(event_id)))
    if body is None:
        logger.warning("webhook event %s expired before delivery to %s", event_id, url)
        return 0
    event_type = json.loads(body)["type"]
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "commentgate-webhooks/2",
        EVENT_HEADER: event_type,
        ID_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(key, event_id, timestamp, body),
    }
    response = httpx.post(url, content=body, headers=headers, timeout=timeout)
    response.raise_for_status()
    logger.info(
        "webhook %s %s delivered to %s: %s", event_type, event_id, url, response.status_code
    )
    return response.status_code
