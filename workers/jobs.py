"""RQ jobs. Each is an importable top-level function taking ids, never objects.

Errors propagate to RQ (its retries and failed-job registry); nothing here catches
and logs them away.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from rq import get_current_job

from service.core import events, metrics, outbox
from service.core.logs import request_id_var
from service.core.moderation import Moderation
from service.core.privacy import ClientDataPurge, pseudonym_key
from service.core.settings import webhook_key
from service.core.sites import SiteRegistry
from service.core.store import Comment, CommentStatus, Decision
from service.core.store.keys import DEFAULT_SITE
from workers import webhooks
from workers.runtime import WorkerRuntime, get_runtime

logger = logging.getLogger(__name__)

EVENT_TYPES = {
    CommentStatus.PUBLISHED: "comment.published",
    CommentStatus.HELD: "comment.held",
    CommentStatus.SPAM: "comment.spam",
}


#: Jobs whose successful runs are logged at DEBUG: they come every few seconds.
ROUTINE_JOBS = frozenset({"reconcile"})


def job_log_level(name: str, outcome: str) -> int:
    """DEBUG for a routine job that finished (the reconciler runs every few seconds)."""
    return logging.DEBUG if outcome == "finished" and name in ROUTINE_JOBS else logging.INFO


P = ParamSpec("P")
R = TypeVar("R")


def _job(func: Callable[P, R]) -> Callable[P, R]:
    """Time a job, log one line for it, carrying the request id that queued it."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        job = get_current_job()
        request_id = str((job.meta or {}).get("request_id", "")) if job else ""
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        outcome = "failed"
        try:
            result = func(*args, **kwargs)
            outcome = "finished"
            return result
        finally:
            duration = time.perf_counter() - started
            request_id_var.reset(token)
            logger.log(
                job_log_level(func.__name__, outcome),
                "job %s %s %s in %.1f ms",
                func.__name__,
                job.id if job else "-",
                outcome,
                duration * 1000,
                extra={
                    "job": func.__name__,
                    "job_id": job.id if job else None,
                    "outcome": outcome,
                    "duration_ms": round(duration * 1000, 2),
                    "request_id": request_id,
                },
            )
            get_runtime().metrics.observe(metrics.JOB_DURATION, [duration], job=func.__name__)

    return run


@_job
def process_pending() -> dict[str, int]:
    """Claim a batch of waiting comments, score them together and decide each.

    If more comments wait after the claim, another job is queued first, so several
    workers decide batches in parallel. A comment is decided at most once: deciding
    a comment that is no longer pending changes nothing.

    Returns:
        How many comments were claimed and decided.
    """
    rt = get_runtime()
    rt.store.clear_scheduled()
    ids = rt.store.claim(rt.settings.batch_size, lease_seconds=rt.settings.claim_lease_seconds)
    if not ids:
        return {"claimed": 0, "decided": 0}
    pending, _, _ = rt.store.backlog()
    if pending and rt.store.mark_scheduled():
        rt.queues.enqueue_scoring()
    decided = decide_comments(rt, ids)
    return {"claimed": len(ids), "decided": len(decided)}


def decide_comments(rt: WorkerRuntime, ids: list[str]) -> list[str]:
    """Score and decide the given comments, each with its site's context.

    The batch is split by site; each site's comments are judged together with its
    model, policy, campaign memory and lists (:class:`~service.core.site_contexts.SiteContexts`),
    then every decision is recorded in one step.

    Returns:
        The ids decided now.
    """
    started = time.perf_counter()
    comments = [c for c in rt.store.get_many(ids) if c.status is CommentStatus.PENDING]
    if not comments:
        rt.store.release(ids)
        return []
    by_site: dict[str, list[Comment]] = {}
    for comment in comments:
        by_site.setdefault(comment.site, []).append(comment)
    decisions: list[Decision] = []
    recorded_events: list[tuple[str, str] | None] = []
    with_events = False
    for name, group in by_site.items():
        judge, site = rt.sites.judge(name)
        judged = judge.judge(group)
        decisions += judged
        site_events = bool(rt.settings.webhooks or site.webhooks)
        with_events |= site_events
        recorded_events += _events(judged) if site_events else [None] * len(judged)
    decided = set(rt.store.record_decisions(decisions, recorded_events))
    rt.store.release(ids)
    applied = [d for d in decisions if d.comment.id in decided]
    _record_metrics(rt, applied)
    if applied and with_events:  # queue the deliveries of the events in the outbox
        outbox.drain_soon(rt.redis, rt.queues, rt.settings)
    logger.info(
        "decided %s of %s comments in %.1f ms with models %s",
        len(decided),
        len(ids),
        (time.perf_counter() - started) * 1000,
        ",".join(sorted({d.model_version for d in decisions})),
    )
    return [d.comment.id for d in decisions if d.comment.id in decided]


def _record_metrics(rt: WorkerRuntime, decisions: list[Decision]) -> None:
    if not decisions:
        return
    by_reason: Counter[tuple[str, ...]] = Counter(
        (d.comment.site, d.status.value, reason) for d in decisions for reason in d.reasons
    )
    rt.metrics.count(metrics.DECISIONS, amounts=by_reason)
    now = time.time()
    rt.metrics.observe(metrics.DECISION_LATENCY, [now - d.comment.created_at for d in decisions])
    for version in {d.model_version for d in decisions}:
        rt.metrics.model_seen(version)


def _events(decisions: list[Decision]) -> list[tuple[str, str] | None]:
    """Each decision's webhook event, recorded with it."""
    return [events.new_event(EVENT_TYPES[d.status], _decided_view(d)) for d in decisions]


def _decided_view(d: Decision) -> Comment:
    return dataclasses.replace(
        d.comment,
        status=d.status,
        score=d.score,
        model_version=d.model_version,
        reasons=list(d.reasons),
    )


@_job
def deliver_webhook(event_id: str, url: str, site: str = DEFAULT_SITE) -> int:
    """Deliver one stored event to one receiver (retried by RQ on failure).

    Signed with that receiver's own secret: a global receiver's from
    ``COMMENTGATE_WEBHOOKS``, else the event's site's own receiver's. A receiver no
    longer configured gets nothing.
    """
    rt = get_runtime()
    global_secret = rt.settings.webhooks.get(url)
    secret = (
        global_secret.get_secret_value()
        if global_secret is not None
        else SiteRegistry(rt.redis).receivers(site).get(url)
    )
    if secret is None:
        logger.warning(
            "dropping delivery of %s: %s is no longer a receiver of site %s", event_id, url, site
        )
        return 0
    try:
        status = webhooks.deliver(
            rt.redis,
            event_id,
            url,
            key=webhook_key(secret),
            timeout=rt.settings.webhook_timeout_seconds,
        )
    except Exception:
        rt.metrics.count(metrics.WEBHOOK_DELIVERIES, result="failed")
        raise
    rt.metrics.count(metrics.WEBHOOK_DELIVERIES, result="delivered" if status else "expired")
    return status


@_job
def reconcile() -> dict[str, Any]:
    """Re-queue scoring when comments wait too long or a worker died holding some.

    Also queues the follow-up work (webhooks, model updates) left in the outbox by a
    change whose process could not queue it (see :mod:`service.core.outbox`).
    Run every few seconds by ``commentgate scheduler``; idempotent.
    """
    rt = get_runtime()
    pending, inflight, oldest = rt.store.backlog()
    expired = rt.store.expired_leases()
    waited = time.time() - oldest if oldest is not None else 0.0
    requeued = bool(expired) or waited > rt.settings.reconcile_after_seconds
    if requeued:
        rt.store.mark_scheduled()
        rt.queues.enqueue_scoring()
        logger.warning(
            "reconciler re-queued scoring: %s pending (oldest %.0f s), %s in flight, %s expired",
            pending,
            waited,
            inflight,
            expired,
        )
    drained = outbox.drain(rt.redis, rt.queues, rt.settings)
    if drained:
        logger.info("reconciler queued the follow-up work of %s outbox entries", drained)
    return {
        "pending": pending,
        "inflight": inflight,
        "expired": expired,
        "requeued": requeued,
        "outbox": drained,
    }


@_job
def purge_expired() -> dict[str, int]:
    """Delete spam and rejected comments older than the retention period.

    Run hourly by ``commentgate scheduler``; idempotent.
    """
    rt = get_runtime()
    cutoff = time.time() - rt.settings.retention_days * 86400
    purged = Moderation(rt.redis, rt.store).purge(
        (CommentStatus.SPAM.value, CommentStatus.REJECTED.value), older_than=cutoff
    )
    if purged:
        logger.info("purged %s spam and rejected comments past retention", purged)
    return {"purged": purged}


@_job
def purge_client_data() -> dict[str, int]:
    """Hash the IP addresses and drop the user agents of comments past their retention.

    Run hourly by ``commentgate scheduler``; idempotent. See :mod:`service.core.privacy`.
    """
    rt = get_runtime()
    cutoff = time.time() - rt.settings.ip_retention_days * 86400
    purge = ClientDataPurge(rt.redis, pseudonym_key(rt.settings.secret))
    changed = purge.run(older_than=cutoff)
    if changed:
        logger.info("hashed the IP addresses of %s comments past retention", changed)
    return {"pseudonymised": changed}
