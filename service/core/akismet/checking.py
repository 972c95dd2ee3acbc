"""Synchronous checks: a site's comment judged in the web process, stored with its verdict.

The web process answering ``comment-check`` holds one :class:`AkismetChecker`: the base
model is loaded once, on the first check, and each site's judging context (its promoted
model, campaign memory, lists and settings) is the workers' own
(:class:`~service.core.site_contexts.SiteContexts`), its judge kept for a second. A
check is judged by :class:`~service.core.judging.SiteJudge`, the path the workers use,
and stored already decided in one MULTI/EXEC, so moderators find it in their queue and
correct it like any other comment.

**What the answer means.** Akismet knows spam (``true``) and not spam (``false``);
commentgate has a third verdict, *held* for a moderator. A WordPress site files ``true``
in its spam folder, which it empties after 15 days, and runs ``false`` through its own
moderation rules. So that a real comment is never lost on a guess, *held* is answered
``false`` with an ``X-akismet-recheck-after`` header: the WordPress plugin then keeps the
comment pending for moderators (and falls back to its own rules after twice that
delay). Only *spam* is ``true``.

**Discard.** ``X-akismet-pro-tip: discard`` lets a client drop a comment without
keeping it. It is sent only for *blatant* spam (:func:`blatant`): a comment on the
site's block list, a near-copy of a comment its moderators marked as spam, or a model
score within a quarter of the way from ``spam_above`` to certainty, with every view of
the model agreeing. A filled honeypot alone files as spam but is not discarded (a
browser's autofill can fill a hidden field). Commentgate keeps discarded comments in
its spam queue all the same, where moderators can still find them.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from classifier import SpamModel, load_model
from service.core import events, metrics, outbox
from service.core.decision import Policy, Reason
from service.core.judging import SiteJudge
from service.core.site_contexts import SiteContexts
from service.core.sites import Site
from service.core.store import Comment, CommentStatus, Decision, keys, new_comment_id

if TYPE_CHECKING:
    from service.core.akismet.fields import Submission
    from service.core.moderation import Clients

__all__ = [
    "DISCARD_SHARE",
    "FINGERPRINT_TTL",
    "RECHECK_AFTER_SECONDS",
    "AkismetChecker",
    "Verdict",
    "blatant",
]

logger = logging.getLogger(__name__)

#: Blatant spam scores within this share of the way from ``spam_above`` to 1.
DISCARD_SHARE = 0.25
#: ``X-akismet-recheck-after`` of a held comment: WordPress keeps it pending for twice
#: this long, then applies its own moderation rules.
RECHECK_AFTER_SECONDS = 12 * 3600
#: How long a process judges a site's checks with what it read of the site's model
#: version, campaign memory and lists (a worker reads them once per batch).
REFRESH_SECONDS = 1.0
#: How long a checked comment can be found by its content for a report without guid.
FINGERPRINT_TTL = 30 * 24 * 3600
#: Reasons that make a spam decision blatant whatever the score.
_BLATANT_REASONS = frozenset({Reason.BLOCKLIST, Reason.CAMPAIGN})


def discard_above(policy: Policy) -> float:
    """The score from which model-scored spam is blatant."""
    return 1.0 - (1.0 - policy.spam_above) * DISCARD_SHARE


def blatant(decision: Decision, policy: Policy) -> bool:
    """Whether a decision is spam so clear that the client may discard the comment.

    Spam on the block list or a campaign's near-copy, or spam by a score at or above
    :func:`discard_above` (a spam decision by score means the model's views agreed).
    """
    if decision.status is not CommentStatus.SPAM:
        return False
    reasons = set(decision.reasons)
    if reasons & _BLATANT_REASONS:
        return True
    return Reason.MODEL_SCORE in reasons and decision.score >= discard_above(policy)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to one check.

    Attributes:
        status: The comment's status (for a recheck, its current one).
        discard: Blatant spam (see :func:`blatant`).
        comment_id: The stored comment's id (``''`` for a test call).
    """

    status: CommentStatus
    discard: bool = False
    comment_id: str = ""

    @property
    def spam(self) -> bool:
        """What ``comment-check`` answers: ``true`` for spam only."""
        return self.status is CommentStatus.SPAM

    @property
    def held(self) -> bool:
        """Whether the comment waits for a moderator."""
        return self.status in (CommentStatus.HELD, CommentStatus.PENDING)


class AkismetChecker:
    """Judges and stores the comments that sites send through the Akismet protocol.

    Args:
        clients: Settings, Redis, the comment store and the queues (the web app's services).
        base: The base model; by default ``COMMENTGATE_MODEL_PATH``'s (or the shipped
            one), loaded on the first check.
    """

    def __init__(self, clients: Clients, *, base: SpamModel | None = None) -> None:
        self.clients = clients
        self._base = base
        self._lock = threading.Lock()
        self._contexts: SiteContexts | None = None
        self._judges: dict[str, tuple[float, SiteJudge]] = {}

    # -- judging -------------------------------------------------------------------------

    def contexts(self) -> SiteContexts:
        """Each site's judging context, on the base model loaded on first use.

        Call with the lock held.
        """
        if self._contexts is None:
            if self._base is None:
                self._base = load_model(self.clients.settings.model_path)
                logger.info("Akismet checks: base model %s loaded", self._base.version)
            clients = self.clients
            self._contexts = SiteContexts(
                clients.redis, self._base, clients.settings, clients.store
            )
        return self._contexts

    def judge(self, site: Site, comment: Comment) -> tuple[Decision, Policy]:
        """Score and decide one comment of a site (nothing is written).

        The site's judge (its settings, model version, campaign memory and lists, read
        as a worker reads them per batch) is kept for :data:`REFRESH_SECONDS`.
        """
        with self._lock:
            now = time.monotonic()
            kept = self._judges.get(site.name)
            if kept is None or now >= kept[0]:
                judge, _ = self.contexts().judge(site.name)
                kept = self._judges[site.name] = (now + REFRESH_SECONDS, judge)
            judge = kept[1]
            return judge.judge([comment])[0], judge.policy

    # -- checks --------------------------------------------------------------------------

    def check(self, site: Site, submission: Submission, *, request_id: str = "") -> Verdict:
        """Answer ``comment-check``: judge the comment and store it with its decision.

        A test call (``is_test``) is judged but neither stored nor learnt from. A recheck
        (``recheck_reason``) of a comment stored before answers with its current status,
        which moderators may have changed. A comment by the site's administrator
        (``user_role``) is not spam, as with Akismet, and is not stored.
        """
        if submission.trusted_author:
            return Verdict(CommentStatus.PUBLISHED)
        if submission.recheck_reason and not submission.is_test:
            earlier = self.find(site, submission)
            if earlier is not None:
                return Verdict(earlier.status, comment_id=earlier.id)
        comment = new_comment(site, submission, request_id=request_id)
        decision, policy = self.judge(site, comment)
        discard = blatant(decision, policy)
        if submission.is_test:
            return Verdict(decision.status, discard=discard)
        self.record(site, decision, submission.fingerprint())
        return Verdict(decision.status, discard=discard, comment_id=comment.id)

    def record(self, site: Site, decision: Decision, fingerprint: str) -> None:
        """Store a new comment of ``site`` with its decision, all in one MULTI/EXEC.

        The comment joins its status's queue (and its thread, when published), its
        fingerprint points to it, it is counted as received and its decision as
        decided, and its webhook event goes to the outbox, as a worker's decision does.
        """
        comment = replace(
            decision.comment,
            status=decision.status,
            score=decision.score,
            model_version=decision.model_version,
            reasons=list(decision.reasons),
            decided_at=time.time(),
        )
        settings = self.clients.settings
        with_events = bool(settings.webhooks or site.webhooks)  # as the directory read it
        with self.clients.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.comment(comment.id), mapping=comment.to_redis())  # type: ignore[arg-type]
            created = {comment.id: comment.created_at}
            pipe.zadd(keys.status_index(comment.status.value), created)
            pipe.zadd(keys.site_status_index(comment.site, comment.status.value), created)
            if comment.status is CommentStatus.PUBLISHED:
                pipe.zadd(keys.thread_published(comment.site, comment.thread), created)
            pipe.set(
                keys.akismet_fingerprint(comment.site, fingerprint), comment.id, ex=FINGERPRINT_TTL
            )
            received = metrics.Metrics.counter_field(
                metrics.COMMENTS_RECEIVED, site=comment.site, outcome="accepted"
            )
            pipe.hincrby(*received, 1)
            for reason in comment.reasons:
                counter, field = metrics.Metrics.counter_field(
                    metrics.DECISIONS,
                    site=comment.site,
                    status=comment.status.value,
                    reason=reason,
                )
                pipe.hincrby(counter, field, 1)
            if with_events:
                event_id, body = events.new_event(f"comment.{comment.status.value}", comment)
                pipe.xadd(
                    keys.OUTBOX,
                    {"kind": outbox.EVENT, "id": event_id, "body": body, "site": comment.site},
                )
            pipe.execute()
        if with_events:
            outbox.drain_soon(self.clients.redis, self.clients.queues, settings)
        logger.info(
            "Akismet check of site %s: comment %s %s (score %.3f)",
            comment.site,
            comment.id,
            comment.status.value,
            comment.score or 0.0,
        )

    def find(self, site: Site, submission: Submission) -> Comment | None:
        """The site's stored comment a report or recheck is about, if any.

        By its ``guid`` (the comment's id) when given, else by its fingerprint (text,
        author and address) among the comments checked in the last 30 days. Another
        site's comment is never found.
        """
        store = self.clients.store
        comment_id = submission.guid
        if not comment_id:
            raw = self.clients.redis.get(
                keys.akismet_fingerprint(site.name, submission.fingerprint())
            )
            comment_id = raw.decode() if isinstance(raw, bytes) else ""
        if not comment_id or len(comment_id) > 64:
            return None
        comment = store.get(comment_id)
        return comment if comment is not None and comment.site == site.name else None


def new_comment(site: Site, submission: Submission, *, request_id: str = "") -> Comment:
    """The comment a submission describes, pending, in the site's thread."""
    return Comment(
        id=new_comment_id(),
        thread=submission.thread,
        body=submission.content,
        author_name=submission.author,
        author_email=submission.author_email,
        author_url=submission.author_url,
        created_at=time.time(),
        status=CommentStatus.PENDING,
        ip=submission.user_ip,
        user_agent=submission.user_agent,
        request_id=request_id,
        honeypot=submission.honeypot,
        site=site.name,
    )
