"""How long commenters' IP addresses and user agents are kept.

Intake stores each comment's IP address and user agent, for the block list's IP
ranges and for moderators. After ``COMMENTGATE_IP_RETENTION_DAYS`` the scheduler's
``purge_client_data`` job replaces the address of every decided comment by a keyed
hash (:func:`pseudonym`, shown as ``hmac-sha256:…``) and drops the user agent. The
hash still shows that two comments came from one address, and the hash of a live
address finds its old comments, but without the secret key it gives no address back.

The job walks the four status indexes together, in creation order, from a cursor kept
in Redis, so each run reads only the comments that crossed the retention line since
the previous one. A comment past retention still waiting for a worker (in no status
index yet) is set aside first and purged on a later run, once decided. Every write
goes through the ``FORGET_CLIENT`` script, which rechecks each comment inside Redis
(see :mod:`service.core.store.scripts`).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import redis

from service.core.store import DECIDED_STATUSES, keys, scripts

logger = logging.getLogger(__name__)

#: What a hashed address starts with; never the start of an IP address.
PSEUDONYM_PREFIX = "hmac-sha256:"
#: Hex digits of the HMAC kept (128 bits: no collisions among any site's commenters).
_PSEUDONYM_HEX = 32
_KEY_CONTEXT = b"commentgate/ip-pseudonym/v1"

Position = tuple[float, str]


def pseudonym_key(secret: str) -> bytes:
    """The HMAC key for addresses, derived from the secret key (never the key itself)."""
    return hmac.new(secret.encode(), _KEY_CONTEXT, hashlib.sha256).digest()


def pseudonym(key: bytes, ip: str) -> str:
    """The keyed hash that replaces an address, e.g. ``hmac-sha256:3f9a…``.

    The address is hashed in its canonical form, so ``2001:DB8::1`` and
    ``2001:db8:0::1`` give the same hash.
    """
    try:
        canonical = str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        canonical = ip.strip()
    digest = hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:_PSEUDONYM_HEX]


def is_pseudonym(value: str) -> bool:
    """Whether a stored address is a keyed hash rather than an address."""
    return value.startswith(PSEUDONYM_PREFIX)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A decided comment past retention, with the address read before hashing it."""

    comment_id: str
    created_at: float
    ip: str


class ClientDataPurge:
    """Hashes the addresses and drops the user agents of comments past retention.

    Args:
        client: A Redis client (``decode_responses=False``).
        key: From :func:`pseudonym_key`.
        batch_size: Comments read and rewritten per round trip.
    """

    def __init__(self, client: redis.Redis, key: bytes, *, batch_size: int = 200) -> None:
        self.client = client
        self.key = key
        self.batch_size = batch_size
        self._forget = client.register_script(scripts.FORGET_CLIENT)

    def run(self, older_than: float) -> int:
        """Purge every decided comment created before ``older_than`` not yet purged.

        Returns:
            How many comments changed.
        """
        self.defer_undecided(older_than)
        cursor = self.cursor()
        changed = 0
        while True:
            batch = self.select(cursor, older_than)
            changed += self.apply(batch)
            if batch:
                cursor = (batch[-1].created_at, batch[-1].comment_id)
                self.client.set(keys.CLIENT_DATA_CURSOR, json.dumps(cursor))
            if len(batch) < self.batch_size:
                return changed + self.revisit_deferred()

    def cursor(self) -> Position | None:
        """The position of the last comment purged, if any."""
        raw = cast(bytes | None, self.client.get(keys.CLIENT_DATA_CURSOR))
        if raw is None:
            return None
        created_at, comment_id = json.loads(raw)
        return float(created_at), str(comment_id)

    def defer_undecided(self, older_than: float) -> int:
        """Remember the comments past retention still waiting for or held by a worker.

        The cursor is about to pass them while they are in no status index; they are
        purged by :meth:`revisit_deferred` once decided. Returns how many there are.
        """
        with self.client.pipeline(transaction=True) as pipe:
            pipe.zrange(keys.PENDING, "-inf", f"({older_than!r}", byscore=True, withscores=True)
            pipe.zrange(keys.INFLIGHT, 0, -1)
            pending, inflight = pipe.execute()
        waiting = {raw_id.decode(): float(score) for raw_id, score in pending}
        if inflight:
            with self.client.pipeline(transaction=False) as pipe:
                for raw_id in inflight:
                    pipe.hget(keys.comment(raw_id.decode()), "created_at")
                created = pipe.execute()
            for raw_id, created_at in zip(inflight, created, strict=True):
                if created_at is not None and float(created_at) < older_than:
                    waiting[raw_id.decode()] = float(created_at)
        if waiting:
            self.client.zadd(keys.CLIENT_DATA_DEFERRED, waiting)
        return len(waiting)

    def revisit_deferred(self) -> int:
        """Purge the deferred comments decided since; returns how many changed."""
        deferred = cast(
            list[tuple[bytes, float]],
            self.client.zrange(keys.CLIENT_DATA_DEFERRED, 0, -1, withscores=True),
        )
        if not deferred:
            return 0
        with self.client.pipeline(transaction=False) as pipe:
            for raw_id, _ in deferred:
                pipe.hmget(keys.comment(raw_id.decode()), ["status", "ip"])
            rows = pipe.execute()
        done: list[bytes] = []
        batch: list[Candidate] = []
        for (raw_id, created_at), (status, ip) in zip(deferred, rows, strict=True):
            if status is None:  # deleted meanwhile
                done.append(raw_id)
            elif status != b"pending":
                done.append(raw_id)
                batch.append(Candidate(raw_id.decode(), created_at, (ip or b"").decode()))
        changed = self.apply(batch)
        if done:
            self.client.zrem(keys.CLIENT_DATA_DEFERRED, *done)
        return changed

    def select(self, after: Position | None, before: float) -> list[Candidate]:
        """The next decided comments after ``after`` and created before ``before``.

        The four status indexes are read in one transaction, so a comment a moderator
        moves from one to another meanwhile is seen exactly once.
        """
        indexes = [keys.status_index(s) for s in DECIDED_STATUSES]
        upper = f"({before!r}" if math.isfinite(before) else "+inf"
        with self.client.pipeline(transaction=True) as pipe:
            for index in indexes:
                lower = f"({after[0]!r}" if after else "-inf"
                pipe.zrange(
                    index,
                    lower,
                    upper,
                    byscore=True,
                    offset=0,
                    num=self.batch_size,
                    withscores=True,
                )
                if after:  # same creation time as the cursor: ordered by id
                    pipe.zrange(index, after[0], after[0], byscore=True, withscores=True)
            rows = cast(list[list[tuple[bytes, float]]], pipe.execute())
        positions = sorted(
            {
                (float(score), raw_id.decode())
                for row in rows
                for raw_id, score in row
                if (after is None or (float(score), raw_id.decode()) > after) and score < before
            }
        )[: self.batch_size]
        with self.client.pipeline(transaction=False) as pipe:
            for _, comment_id in positions:
                pipe.hget(keys.comment(comment_id), "ip")
            ips = pipe.execute()
        return [
            Candidate(comment_id, created_at, (ip or b"").decode())
            for (created_at, comment_id), ip in zip(positions, ips, strict=True)
        ]

    def apply(self, batch: Sequence[Candidate]) -> int:
        """Hash the addresses read by :meth:`select`; returns how many comments changed."""
        if not batch:
            return 0
        args: list[str] = []
        for c in batch:
            hashed = c.ip if not c.ip or is_pseudonym(c.ip) else pseudonym(self.key, c.ip)
            args += [c.ip, hashed]
        return int(self._forget(keys=[keys.comment(c.comment_id) for c in batch], args=args))
