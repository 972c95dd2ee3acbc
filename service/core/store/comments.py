"""The comment store: every read and state change of comments in Redis."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import cast

import redis

from service.core.commenter_tokens import normalised_address
from service.core.store import keys, scripts
from service.core.store.models import Comment, CommentStatus

logger = logging.getLogger(__name__)
#: Encodes a new comment's fields for ``ACCEPT`` (one encoder: ``json.dumps`` with
#: options builds one per call).
_FIELDS_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Decision:
    """A worker's verdict on one comment."""

    comment: Comment
    status: CommentStatus
    score: float
    model_version: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing and the cursor of the next, if any."""

    items: list[Comment]
    next_cursor: str | None


class NonceSpentError(Exception):
    """The captcha token was used before."""


class InvalidCursorError(ValueError):
    """A pagination cursor that this store did not issue."""


class CommentStore:
    """Reads and writes comments in Redis.

    Args:
        client: A Redis client (``decode_responses=False``).
        schedule_ttl: Seconds the "scoring job scheduled" flag lives; after it, a lost
            job no longer blocks new ones.
    """

    def __init__(self, client: redis.Redis, *, schedule_ttl: int = 30) -> None:
        self.client = client
        self._schedule_ttl = schedule_ttl
        self._accept = client.register_script(scripts.ACCEPT)
        self._claim = client.register_script(scripts.CLAIM)
        self._decide = client.register_script(scripts.DECIDE)
        self._wrong_answer = client.register_script(scripts.WRONG_ANSWER)
        self._import_published = client.register_script(scripts.IMPORT_PUBLISHED)

    def accept(
        self,
        comment: Comment,
        *,
        nonce: str | None,
        nonce_ttl: int,
        counter: tuple[str, str] = ("", ""),
    ) -> bool:
        """Store a new pending comment and spend its captcha nonce, atomically.

        Args:
            comment: The comment, with status ``pending``.
            nonce: The captcha token's nonce, or ``None`` when no captcha applies.
            nonce_ttl: Seconds to remember the spent nonce (the token's lifetime).
            counter: A (hash, field) counter to add one to in the same round trip.

        Returns:
            True when the caller must enqueue a scoring job (none is scheduled).

        Raises:
            NonceSpentError: The token was used before; nothing was stored.
        """
        result = self._accept(
            keys=[
                keys.spent_nonce(nonce) if nonce else "",
                keys.comment(comment.id),
                keys.PENDING,
                keys.DRAIN_SCHEDULED,
                counter[0],
            ],
            args=[
                nonce_ttl,
                comment.id,
                comment.created_at,
                self._schedule_ttl,
                counter[1],
                _FIELDS_JSON.encode(list(chain.from_iterable(comment.to_redis().items()))),
            ],
        )
        if result == -1:
            raise NonceSpentError(comment.id)
        return bool(result == 1)

    def record_wrong_answer(self, nonce: str, *, ttl: int, max_attempts: int) -> bool:
        """Count a wrong captcha answer; True when the token is now spent."""
        result = self._wrong_answer(
            keys=[keys.captcha_attempts(nonce), keys.spent_nonce(nonce)], args=[ttl, max_attempts]
        )
        return bool(result == 1)

    def get(self, comment_id: str) -> Comment | None:
        """Return the comment, or ``None`` when there is none with that id."""
        raw = self.client.hgetall(keys.comment(comment_id))
        return Comment.from_redis(raw) if raw else None

    def get_many(self, comment_ids: Sequence[str]) -> list[Comment]:
        """Return the comments that exist among ``comment_ids``, in that order."""
        with self.client.pipeline(transaction=False) as pipe:
            for comment_id in comment_ids:
                pipe.hgetall(keys.comment(comment_id))
            rows = pipe.execute()
        return [Comment.from_redis(raw) for raw in rows if raw]

    # -- the scoring queue ---------------------------------------------------------

    def mark_scheduled(self) -> bool:
        """Set the "scoring job scheduled" flag; True when it was not set."""
        return bool(self.client.set(keys.DRAIN_SCHEDULED, "1", nx=True, ex=self._schedule_ttl))

    def clear_scheduled(self) -> None:
        """Clear the flag, so comments arriving from now on schedule a new job."""
        self.client.delete(keys.DRAIN_SCHEDULED)

    def claim(self, limit: int, *, lease_seconds: float) -> list[str]:
        """Claim up to ``limit`` comments to decide, expired leases first.

        Args:
            limit: Most comments to claim.
            lease_seconds: After this, another worker may claim them again.

        Returns:
            The claimed ids.
        """
        now = time.time()
        ids = self._claim(
            keys=[keys.PENDING, keys.INFLIGHT], args=[now, now + lease_seconds, limit]
        )
        return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]

    def record_decisions(
        self,
        decisions: Sequence[Decision],
        events: Sequence[tuple[str, str] | None] | None = None,
    ) -> list[str]:
        """Store decisions for comments still pending; others are left as they are.

        Args:
            decisions: The decisions.
            events: Per decision, its webhook event's id and body, or ``None``: each
                decided comment's event goes to the outbox in the same step.

        Returns:
            The ids decided by this call (a decision repeated changes nothing).
        """
        if not decisions:
            return []
        redis_keys = [keys.PENDING, keys.INFLIGHT, keys.OUTBOX]
        args: list[str | float] = [time.time()]
        for d, event in zip(decisions, events or [None] * len(decisions), strict=True):
            c = d.comment
            redis_keys += [
                keys.comment(c.id),
                keys.thread_published(c.site, c.thread),
                keys.status_index(d.status.value),
                keys.site_status_index(c.site, d.status.value),
            ]
            args += [
                c.id,
                d.status.value,
                repr(float(d.score)),
                d.model_version,
                json.dumps(list(d.reasons)),
                c.created_at,
                *(event or ("", "")),
                c.site,
            ]
        decided = self._decide(keys=redis_keys, args=args)
        return [i.decode() if isinstance(i, bytes) else str(i) for i in decided]

    def import_published(self, comments: Sequence[Comment]) -> int:
        """Publish comments imported from another system, one batch atomically.

        A comment whose id exists already is left as it is, so a second import of the
        same export (same derived ids) adds nothing and does not undo moderation since.
        A reply keeps its ``parent_id`` only when that parent is published (imported
        earlier, or earlier in this batch). No commenter token is ever issued for an
        imported comment (there was no 202, so no receipt): an export's approvals are
        not this site's.

        Args:
            comments: Comments with status ``published``, in the order to store them.

        Returns:
            How many were published by this call.
        """
        if not comments:
            return 0
        redis_keys = [keys.status_index(CommentStatus.PUBLISHED.value)]
        args: list[str | float] = []
        for c in comments:
            fields = c.to_redis()
            parent = fields.pop("parent_id", "")
            redis_keys += [
                keys.comment(c.id),
                keys.thread_published(c.site, c.thread),
                keys.comment(parent) if parent else "",
                keys.site_status_index(c.site, CommentStatus.PUBLISHED.value),
            ]
            args += [
                c.id,
                c.created_at,
                parent,
                _FIELDS_JSON.encode(list(chain.from_iterable(fields.items()))),
            ]
        return int(self._import_published(keys=redis_keys, args=args))

    def release(self, comment_ids: Sequence[str]) -> None:
        """Drop the claim on comments (decided, or no longer pending)."""
        if comment_ids:
            self.client.zrem(keys.INFLIGHT, *comment_ids)

    def backlog(self) -> tuple[int, int, float | None]:
        """Return (pending, in flight, creation time of the oldest pending)."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.zcard(keys.PENDING)
            pipe.zcard(keys.INFLIGHT)
            pipe.zrange(keys.PENDING, 0, 0, withscores=True)
            pending, inflight, oldest = pipe.execute()
        return int(pending), int(inflight), (float(oldest[0][1]) if oldest else None)

    def expired_leases(self) -> int:
        """How many claimed comments outlived their lease (their worker died)."""
        return int(self.client.zcount(keys.INFLIGHT, "-inf", time.time()))

    # -- authors ----------------------------------------------------------------

    def previously_approved(self, comments: Sequence[Comment]) -> list[bool]:
        """For each comment, whether its commenter token still vouches for its author.

        Intake checked the token (signature, age, that it names the comment's e-mail
        address) and kept the id of the comment that earned it (``vouched_by``). That
        comment must still be published, by the same address: a moderator who marks it
        spam or rejects it revokes the token. A bare e-mail address counts for nothing.
        """
        earning = [c.vouched_by for c in comments]
        with self.client.pipeline(transaction=False) as pipe:
            for comment_id in earning:
                if comment_id:
                    pipe.hmget(keys.comment(comment_id), ["status", "author_email"])
            found = iter(pipe.execute())
        vouched = []
        for comment, comment_id in zip(comments, earning, strict=True):
            status, email = next(found) if comment_id else (None, None)
            vouched.append(
                comment_id not in ("", comment.id)
                and status == CommentStatus.PUBLISHED.value.encode()
                and email is not None
                and bool(comment.author_email)
                and normalised_address(email.decode()) == normalised_address(comment.author_email)
            )
        return vouched

    # -- public listing -----------------------------------------------------------

    def published(
        self, thread: str, *, limit: int, cursor: str | None = None, site: str = keys.DEFAULT_SITE
    ) -> Page:
        """Published comments of a site's thread, oldest first.

        Args:
            thread: The thread's URL or slug.
            site: The site the thread belongs to.
            limit: Page size.
            cursor: The ``next_cursor`` of the previous page.

        Raises:
            InvalidCursorError: The cursor is not one this store issued.
        """
        return self.page(keys.thread_published(site, thread), limit=limit, cursor=cursor)

    def page(
        self,
        key: str,
        *,
        limit: int,
        cursor: str | None = None,
        newest_first: bool = False,
        where: Callable[[Comment], bool] | None = None,
        max_scan: int = 5000,
    ) -> Page:
        """One page of the comments in a sorted set scored by creation time.

        Args:
            key: The sorted set.
            limit: Page size.
            cursor: The ``next_cursor`` of the previous page.
            newest_first: Order by creation time descending.
            where: Keep only comments it accepts (search, thread filter).
            max_scan: With ``where``, stop after examining this many comments and return
                a cursor to continue from, so a rare match never scans everything.

        Raises:
            InvalidCursorError: The cursor is not one this store issued.
        """
        after = _decode_cursor(cursor) if cursor else None
        items: list[Comment] = []
        last: tuple[float, str] | None = None
        scanned = 0
        offset = 0
        chunk = limit + 1 if where is None else max(4 * limit, 200)
        while len(items) <= limit and scanned < max_scan:
            bound: str | float = after[0] if after else ("+inf" if newest_first else "-inf")
            batch = cast(
                list[tuple[bytes, float]],
                self.client.zrange(
                    key,
                    bound,
                    "-inf" if newest_first else "+inf",
                    desc=newest_first,
                    byscore=True,
                    offset=offset,
                    num=chunk,
                    withscores=True,
                ),
            )
            if not batch:
                last = None
                break
            offset += len(batch)
            fresh = []
            for raw_id, score in batch:
                position = (score, raw_id.decode())
                if after is not None and (position >= after if newest_first else position <= after):
                    continue
                fresh.append(position)
            by_id = {c.id: c for c in self.get_many([member for _, member in fresh])}
            for position in fresh:
                scanned += 1
                last = position
                comment = by_id.get(position[1])
                if comment is not None and (where is None or where(comment)):
                    items.append(comment)
                    if len(items) > limit:
                        break
        if len(items) > limit:
            items = items[:limit]
            return Page(items=items, next_cursor=_encode_cursor(items[-1].created_at, items[-1].id))
        if scanned >= max_scan and last is not None:
            return Page(items=items, next_cursor=_encode_cursor(*last))
        return Page(items=items, next_cursor=None)


def _encode_cursor(score: float, member: str) -> str:
    raw = json.dumps([score, member]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        score, member = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(member, str) or not isinstance(score, int | float):
            raise TypeError
        if not math.isfinite(score):
            raise ValueError
        return float(score), member
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise InvalidCursorError("invalid cursor") from None
