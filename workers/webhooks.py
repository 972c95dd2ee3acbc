"""Webhook delivery: one RQ job per event and receiver, on its own queue.

Events are stored by :mod:`service.events`. A slow or dead receiver delays nothing but
its own deliveries. A failed delivery raises; RQ retries it with backoff and, when the
retries are spent, keeps it in its failed-job registry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import cast

import httpx
import redis

from service.events import event_key

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Commentgate-Signature"
EVENT_HEADER = "X-Commentgate-Event"
DELIVERY_HEADER = "X-Commentgate-Delivery"


def sign(body: bytes, secret: str) -> str:
    """The signature header value: ``sha256=`` and the hex HMAC of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(client: redis.Redis, event_id: str, url: str, *, secret: str, timeout: float) -> int:
    """POST one stored event to one receiver.

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
