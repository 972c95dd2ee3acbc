"""Moderators' decisions on comments: approve, spam, reject; the queues they work from.

What they read besides has a module each: the audit log of their decisions
(:mod:`service.core.moderation_audit`) and the export of decided comments
(:mod:`service.core.moderation_export`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, cast

import redis

from service.core import campaigns, events, outbox
from service.core.sites import SiteRegistry
from service.core.store import (
    DECIDED_STATUSES,
    Comment,
    CommentStatus,
    CommentStore,
    Page,
    isoformat,
    keys,
)
from service.core.store.scripts import MODERATE

if TYPE_CHECKING:
    from service.core.queues import Queues
    from service.core.settings import Settings


class Clients(Protocol):
    """What :func:`apply_decision` needs of its caller (the web app's services have it)."""

    @property
    def settings(self) -> Settings: ...  # noqa: D102

    @property
    def redis(self) -> redis.Redis: ...  # noqa: D102

    @property
    def store(self) -> CommentStore: ...  # noqa: D102

    @property
    def queues(self) -> Queues: ...  # noqa: D102


#: Which sites a moderator sees: a set of names, or ``None`` for every site.
Sites = Collection[str] | None
#: Most pending comments examined to count a site's (the backlog is normally short).
PENDING_COUNT_SCAN = 10_000


def visible_sites(allowed: Sites, wanted: str | None) -> Sites:
    """The sites a view shows: the moderator's (``None``: all), narrowed to ``wanted``.

    A site the moderator may not see is as absent: asking for it shows nothing.
    """
    if wanted is None:
        return allowed
    return {wanted} if allowed is None or wanted in allowed else set()


class Action(StrEnum):
    """What a moderator does to a comment."""

    APPROVE = "approve"
    SPAM = "spam"
    REJECT = "reject"


#: Each action's resulting status and the label it teaches the model ('' for none).
TRANSITIONS: dict[Action, tuple[CommentStatus, str]] = {
    Action.APPROVE: (CommentStatus.PUBLISHED, "ham"),
    Action.SPAM: (CommentStatus.SPAM, "spam"),
    Action.REJECT: (CommentStatus.REJECTED, ""),
}
QUEUE_STATUSES = DECIDED_STATUSES


class UnknownCommentError(LookupError):
    """No comment with that id."""

    def __init__(self, comment_id: str) -> None:
        super().__init__(comment_id)
        self.comment_id = comment_id


class StatusConflictError(Exception):
    """The comment's status is not the one the moderator saw: someone acted first."""

    def __init__(self, comment_id: str, current: str) -> None:
        super().__init__(comment_id)
        self.comment_id = comment_id
        self.current = current


@dataclass(frozen=True, slots=True)
class Outcome:
    """A comment moved from one status to another."""

    comment_id: str
    previous: str
    current: str


def moderator_view(comment: Comment) -> dict[str, Any]:
    """Everything a moderator sees about a comment."""
    return {
        "id": comment.id,
        "site": comment.site,
        "thread": comment.thread,
        "status": comment.status.value,
        "parent_id": comment.parent_id or None,
        "author_name": comment.author_name,
        "author_email": comment.author_email or None,
        "author_url": comment.author_url or None,
        "ip": comment.ip or None,
        "user_agent": comment.user_agent or None,
        "body": comment.body,
        "created_at": isoformat(comment.created_at),
        "decided_at": isoformat(comment.decided_at) if comment.decided_at else None,
        "score": comment.score,
        "reasons": comment.reasons,
        "model_version": comment.model_version or None,
        "moderated_by": comment.moderated_by or None,
    }


class Moderation:
    """Applies moderators' decisions and reads what they need, on Redis."""

    def __init__(self, client: redis.Redis, store: CommentStore) -> None:
        self.client = client
        self.store = store
        self._moderate = client.register_script(MODERATE)

    def act(
        self,
        comment_ids: Sequence[str],
        action: Action,
        moderator: str,
        expected: Sequence[str | None] | None = None,
        *,
        with_events: bool = False,
        request_id: str = "",
        sites: Sites = None,
    ) -> list[Outcome]:
        """Apply one action to comments, all or nothing.

        The work that follows (``comment.moderated`` events, a model update for approve
        and spam) goes to the outbox in the same step (:mod:`service.core.outbox`).

        Args:
            comment_ids: The comments.
            action: What to do.
            moderator: Who does it (for the audit log and the feedback).
            expected: Per comment, the status the moderator saw; a comment whose status
                differs is a conflict. ``None`` accepts any status.
            with_events: Whether to add a webhook event per comment (global receivers
                are configured); events are added too when a comment's site has its own
                receivers.
            request_id: The request's id, carried by the model update job.
            sites: The sites the moderator may act on (``None``: all); a comment of
                another site is as absent.

        Returns:
            Each comment's previous and new status.

        Raises:
            UnknownCommentError: An id names no comment (of the moderator's sites);
                nothing changed.
            StatusConflictError: A comment changed under the moderator; nothing changed.
        """
        expected = expected or [None] * len(comment_ids)
        found = {
            c.id: c for c in self.store.get_many(comment_ids) if sites is None or c.site in sites
        }
        for comment_id in comment_ids:
            if comment_id not in found:
                raise UnknownCommentError(comment_id)
        status, label = TRANSITIONS[action]
        if not with_events:
            registry = SiteRegistry(self.client)
            with_events = any(registry.receivers(s) for s in {c.site for c in found.values()})
        redis_keys = [
            keys.PENDING,
            keys.INFLIGHT,
            keys.AUDIT,
            *(keys.status_index(s) for s in DECIDED_STATUSES),
            keys.OUTBOX,
        ]
        extra = {"action": action.value, "moderator": moderator, "previous_status": None}
        moderated = [
            events.new_event(
                "comment.moderated", dataclasses.replace(found[i], status=status), extra
            )
            for i in comment_ids
        ]
        args: list[str | float | bytes] = [
            status.value,
            label,
            moderator,
            time.time(),
            action.value,
            campaigns.STREAM_MAXLEN,
            json.dumps(moderated) if with_events else "",
            request_id,
        ]
        signatures = campaigns.record_signatures([found[i].body for i in comment_ids], label)
        for comment_id, seen, signature in zip(comment_ids, expected, signatures, strict=True):
            comment = found[comment_id]
            redis_keys += [
                keys.comment(comment_id),
                keys.thread_published(comment.site, comment.thread),
                keys.feedback(comment.site),  # a comment's site never changes
                keys.campaigns(comment.site),
                *(keys.site_status_index(comment.site, s) for s in DECIDED_STATUSES),
            ]
            args += [
                comment_id,
                seen or "",
                signature,
                comment.site,
            ]
        result = [
            r.decode() if isinstance(r, bytes) else str(r)
            for r in self._moderate(keys=redis_keys, args=args)
        ]
        if result[0] == "failed":
            _, comment_id, why, current = result
            if why == "missing":
                raise UnknownCommentError(comment_id)
            raise StatusConflictError(comment_id, current)
        return [
            Outcome(comment_id, previous, status.value)
            for comment_id, previous in zip(comment_ids, result[1:], strict=True)
        ]

    def queue(
        self,
        status: CommentStatus,
        *,
        limit: int,
        cursor: str | None = None,
        thread: str | None = None,
        query: str | None = None,
        sites: Sites = None,
    ) -> Page:
        """Comments of one status, newest first, optionally filtered.

        Args:
            status: Which queue.
            limit: Page size.
            cursor: From the previous page.
            thread: Only this thread.
            query: Case-insensitive text found in the body, author, e-mail, URL or thread.
            sites: Only these sites' comments (``None``: every site's). One site's
                queue is read from its own index.
        """
        needle = query.casefold() if query else None
        index = keys.status_index(status.value)
        if sites is not None and len(sites) == 1:
            index = keys.site_status_index(next(iter(sites)), status.value)
            sites = None  # its index holds only its comments
        elif sites is not None and not sites:
            return Page(items=[], next_cursor=None)

        def matches(comment: Comment) -> bool:
            if sites is not None and comment.site not in sites:
                return False
            if thread and comment.thread != thread:
                return False
            if needle is None:
                return True
            haystack = "\n".join(
                (
                    comment.body,
                    comment.author_name,
                    comment.author_email,
                    comment.author_url,
                    comment.thread,
                )
            )
            return needle in haystack.casefold()

        return self.store.page(
            index,
            limit=limit,
            cursor=cursor,
            newest_first=True,
            where=matches if (thread or needle or sites is not None) else None,
        )

    def counts(self, sites: Sites = None) -> dict[str, int]:
        """How many comments each status holds (of these sites only, unless ``None``)."""
        if sites is None:
            with self.client.pipeline(transaction=False) as pipe:
                pipe.zcard(keys.PENDING)
                for status in DECIDED_STATUSES:
                    pipe.zcard(keys.status_index(status))
                pending, *rest = pipe.execute()
            return {"pending": int(pending)} | {
                status: int(n) for status, n in zip(DECIDED_STATUSES, rest, strict=True)
            }
        chosen = sorted(sites)
        with self.client.pipeline(transaction=False) as pipe:
            for site in chosen:
                for status in DECIDED_STATUSES:
                    pipe.zcard(keys.site_status_index(site, status))
            sizes = [int(n) for n in pipe.execute()]
        counts = {"pending": self._pending_of(set(chosen))}
        for i, status in enumerate(DECIDED_STATUSES):
            counts[status] = sum(sizes[i :: len(DECIDED_STATUSES)])
        return counts

    def _pending_of(self, sites: set[str]) -> int:
        """How many comments waiting for a worker belong to ``sites`` (a bounded scan)."""
        if not sites:
            return 0
        ids = cast(list[bytes], self.client.zrange(keys.PENDING, 0, PENDING_COUNT_SCAN - 1))
        with self.client.pipeline(transaction=False) as pipe:
            for raw_id in ids:
                pipe.hget(keys.comment(raw_id.decode()), "site")
            owners = pipe.execute()
        return sum(1 for owner in owners if (owner or b"default").decode() in sites)

    def purge(self, statuses: Sequence[str], older_than: float) -> int:
        """Delete comments of these statuses created before ``older_than`` (retention)."""
        purged = 0
        for status in statuses:
            index = keys.status_index(status)
            while True:
                ids = [
                    i.decode()
                    for i in cast(
                        list[bytes],
                        self.client.zrange(
                            index, "-inf", older_than, byscore=True, offset=0, num=500
                        ),
                    )
                ]
                if not ids:
                    break
                comments = self.store.get_many(ids)
                with self.client.pipeline() as pipe:
                    for comment in comments:
                        pipe.delete(keys.comment(comment.id))
                        pipe.zrem(keys.thread_published(comment.site, comment.thread), comment.id)
                        pipe.zrem(keys.site_status_index(comment.site, status), comment.id)
                    pipe.zrem(index, *ids)
                    pipe.execute()
                purged += len(ids)
        return purged


def apply_decision(
    svc: Clients,
    comment_ids: Sequence[str],
    action: Action,
    moderator: str,
    expected: CommentStatus | None = None,
    *,
    request_id: str = "",
    sites: Sites = None,
) -> list[Outcome]:
    """A moderator's decision with its consequences: the one path the API and UI share.

    Applies the action (all or nothing) with, in the same step, its ``comment.moderated``
    webhook events and, for approve and spam, a model update from the new labels in the
    outbox; then queues them. A decision committed is answered as such: when queueing
    fails (Redis refuses writes), the reconciler queues them later.

    ``sites`` are those the moderator may act on (``None``: all).

    Raises:
        UnknownCommentError: An id names no comment (of ``sites``); nothing changed.
        StatusConflictError: A comment is not in ``expected``; nothing changed.
    """
    seen = [expected.value if expected else None] * len(comment_ids)
    outcomes = Moderation(svc.redis, svc.store).act(
        comment_ids,
        action,
        moderator,
        seen,
        with_events=bool(svc.settings.webhooks),
        request_id=request_id,
        sites=sites,
    )
    outbox.drain_soon(svc.redis, svc.queues, svc.settings)  # events of a site's receivers too
    return outcomes
