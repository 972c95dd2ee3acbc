"""Learning from moderators: the RQ job that trains a site's layer from its labels.

Every approve (ham) and spam decision is an entry of the comment's site's feedback
stream (:func:`service.core.store.keys.feedback`) and schedules :func:`update_model`
for that site on the ``commentgate.learning`` queue (through the outbox, one job
waiting per site: :meth:`service.core.queues.Queues.enqueue_learning`). The job, for
one site:

1. reads the site's entries after the last consumed one (the site's cursor), keeping
   each comment's
   latest label and skipping comments purged since, and adds them to the site's
   labelled history as hashed feature vectors (:mod:`service.core.site_labels`; imports add
   to the same history), then moves the cursor;
2. sets aside labellers whose labels contradict everybody else's
   (:func:`classifier._site_learning.contradicting_labellers`);
3. weighs the labels so that no moderator carries more than
   ``COMMENTGATE_FEEDBACK_MODERATOR_CAP`` of the moderators' weight over the whole
   history (:func:`labeller_weights`);
4. trains the site's layer on the whole history (``train_site_model``) and judges it
   (``judge_site_model``: base contradiction, the reference set shipped with the base
   model, signal);
5. stores the candidate with its model card (decision and figures recorded in it) in
   the site's model registry and, if it passed, makes it current there. Workers switch
   at their next batch of that site's comments.

A site with learning off (:attr:`service.core.sites.Site.learns`) still keeps its labels
in its history (step 1), so turning learning on later learns from them, but gets no
site model.

Labels are learnt in batches: the job waits until the oldest unconsumed entry is
``COMMENTGATE_LEARNING_DELAY_SECONDS`` old (it re-queues itself for then), so a burst of
decisions makes one update. A history is judged once per change. Logs carry ids and
counts, never comment text.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections import Counter
from typing import Any, cast

import numpy as np
import redis
from rq import Retry

from classifier import SpamModel, dump_model_bytes
from classifier._site_layer import MIN_LABELS_PER_CLASS
from classifier._site_learning import (
    contradicting_labellers,
    judge_site_model,
    train_site_model,
)
from service.core.judging import comment_input
from service.core.model_registry import BASE, CANDIDATE, REFUSED, ModelRegistry
from service.core.queues import FAILURE_TTL, UPDATE_MODEL
from service.core.site_labels import LabelledComment, SiteLabels, record_labels
from service.core.sites import Site, SiteRegistry
from service.core.store import keys
from service.core.store.keys import DEFAULT_SITE
from workers.feedback import Example, labeller_weights, latest_per_comment, read_feedback
from workers.jobs import _job
from workers.runtime import WorkerRuntime, get_runtime

__all__ = ["TRAINED_KEY", "update_model"]

logger = logging.getLogger(__name__)

LOCK_KEY = keys.LEARNING_LOCK
TRAINED_KEY = keys.LEARNING_TRAINED
#: An update that finds another running tries again this much later.
BUSY_RETRY_SECONDS = 30
#: Like :meth:`service.core.queues.Queues.enqueue_learning`.
JOB_TIMEOUT = 1800
RESULT_TTL = 7 * 24 * 3600
_READ_CHUNK = 1000


def _redis_now(client: redis.Redis) -> float:
    seconds, micros = client.time()
    return seconds + micros / 1e6


def _defer(rt: WorkerRuntime, site: str, seconds: float, status: str) -> dict[str, Any]:
    """Run the site's update again in ``seconds``, unless another one is queued."""
    wait = max(1, math.ceil(seconds))
    if rt.redis.set(keys.learning_scheduled(site), "1", nx=True, ex=wait + 3600):
        rt.queues.learning.enqueue_in(
            dt.timedelta(seconds=wait),
            UPDATE_MODEL,
            args=(site,),
            job_timeout=JOB_TIMEOUT,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            retry=Retry(max=2, interval=[60, 300]),
        )
    logger.info("site %s model update %s: again in %s s", site, status, wait)
    return {"status": status, "retry_in": wait}


@_job
def update_model(site: str = DEFAULT_SITE) -> dict[str, Any]:
    """Learn a site's new labels; promote its new model if it passes the guard.

    Args:
        site: The site whose labels to learn.

    Returns:
        What happened: ``status`` (``promoted``, ``refused``, ``unchanged``,
        ``nothing_new``, ``nothing_to_learn``, ``waiting``, ``busy``,
        ``waiting_for_labels``, ``learning_off``) and, for an update, the version,
        labels and the guard's figures.
    """
    rt = get_runtime()
    rt.redis.delete(keys.learning_scheduled(site))  # labels from now on schedule the next
    lock = rt.redis.lock(f"{LOCK_KEY}:{site}", timeout=JOB_TIMEOUT + 60)
    if not lock.acquire(blocking=False):
        return _defer(rt, site, BUSY_RETRY_SECONDS, "busy")
    try:
        return _update(rt, site)
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            logger.warning("the learning lock expired before the update ended")


def _record_new_labels(
    rt: WorkerRuntime, base: SpamModel, site: str, entries: list[Example]
) -> tuple[int, int]:
    """Vectorise the new labels into the site's history; returns (recorded, purged)."""
    examples = latest_per_comment(entries)
    found = {c.id: c for c in rt.store.get_many([e.comment_id for e in examples])}
    kept = [e for e in examples if e.comment_id in found]
    for start in range(0, len(kept), _READ_CHUNK):
        chunk = kept[start : start + _READ_CHUNK]
        record_labels(
            rt.redis,
            site,
            [
                LabelledComment(
                    key=e.comment_id,
                    comment=comment_input(found[e.comment_id]),
                    label=e.label,
                    labeller=e.moderator,
                    at=int(e.entry_id.split("-")[0]) / 1000,
                )
                for e in chunk
            ],
            base,
        )
    return len(kept), len(examples) - len(kept)


def _update(rt: WorkerRuntime, site: str) -> dict[str, Any]:
    settings = rt.settings
    cursor_key = keys.learning_cursor(site)
    raw_cursor = cast(bytes | None, rt.redis.get(cursor_key))
    entries = read_feedback(rt.redis, site, after=raw_cursor.decode() if raw_cursor else "0-0")
    base = rt.models.base
    recorded = purged = 0
    if entries:
        age = _redis_now(rt.redis) - int(entries[0].entry_id.split("-")[0]) / 1000
        if age < settings.learning_delay_seconds:
            return _defer(rt, site, settings.learning_delay_seconds - age, "waiting")
        recorded, purged = _record_new_labels(rt, base, site, entries)
        rt.redis.set(cursor_key, entries[-1].entry_id)  # the history holds them now
    if not (SiteRegistry(rt.redis).get(site) or Site(name=site)).learns:
        logger.info("site %s: learning is off; %s labels kept in its history", site, recorded)
        return {"status": "learning_off", "new_labels": recorded, "purged": purged}
    registry = ModelRegistry(rt.redis, site=site, keep=settings.model_keep_versions)
    _register_base(rt, registry)
    labels = SiteLabels(rt.redis, site, base.feature_space)
    revision = labels.revision()
    trained_key = f"{TRAINED_KEY}:{site}:{base.feature_space}"
    if revision == int(cast(bytes | None, rt.redis.get(trained_key)) or -1):
        return {"status": "nothing_new", "purged": purged}
    history = labels.load(base.n_features)
    if not len(history):
        return {"status": "nothing_to_learn", "purged": purged}
    counts = np.bincount(history.labels, minlength=2)
    if counts.min() < MIN_LABELS_PER_CLASS:
        logger.info(
            "site %s: %s spam and %s ham labels; a site model needs %s of each",
            site,
            counts[1],
            counts[0],
            MIN_LABELS_PER_CLASS,
        )
        return {"status": "waiting_for_labels", "spam": int(counts[1]), "ham": int(counts[0])}
    weights = labeller_weights(history.labellers, settings.feedback_moderator_cap)
    set_aside, agreement = contradicting_labellers(
        base, history.features, history.labels, history.labellers, weights
    )
    if set_aside:  # their labels contradict everybody else's: not learnt from
        logger.warning("site %s: labels of %s contradict the others; set aside", site, set_aside)
        history = history.without(set_aside)
        counts = np.bincount(history.labels, minlength=2)
        if counts.min() < MIN_LABELS_PER_CLASS:
            return {
                "status": "refused",
                "refusals": ["contradicts_labellers"],
                "set_aside": set_aside,
                "labeller_agreement": agreement,
            }
        weights = labeller_weights(history.labellers, settings.feedback_moderator_cap)
    by_labeller = Counter(history.labellers)
    names = np.asarray(history.labellers, dtype=object)
    training = train_site_model(
        base,
        history.features,
        history.labels,
        weights,
        site=site,
        card_extra={
            "labellers": {
                name: {"labels": n, "weight": round(float(weights[names == name].sum()), 4)}
                for name, n in sorted(by_labeller.items())
            },
            "moderator_cap": settings.feedback_moderator_cap,
        },
    )
    verdict = judge_site_model(
        base,
        training,
        reference=rt.models.reference,
        max_drop=settings.learning_max_drop,
    )
    verdict.figures["labeller_agreement"] = agreement
    verdict.figures["set_aside"] = set_aside
    candidate = training.model
    decision = "promoted" if verdict.promote else "refused"
    learning = {
        "decision": decision,
        "site": site,
        "refusals": verdict.refusals,
        "guard": verdict.figures,
        "new_labels": recorded,
        "purged_skipped": purged,
        "history": {"labels": len(history), "spam": int(counts[1]), "ham": int(counts[0])},
    }
    if registry.current() == candidate.version:
        rt.redis.set(trained_key, revision)
        return {"status": "unchanged", "version": candidate.version, **learning}
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    data, card = dump_model_bytes(candidate, {"created": now, "learning": learning})
    if verdict.promote:
        registry.put(candidate.version, data, card, status=CANDIDATE)
        registry.promote(candidate.version, actor="learning", note=f"{len(history)} labels")
    else:
        registry.put(candidate.version, None, card, status=REFUSED)
    rt.redis.set(trained_key, revision)  # this history is judged: not again until it changes
    registry.prune()
    logger.info(
        "site %s model %s %s: %s labels (%s new, %s purged) from %s labellers; refusals %s",
        site,
        candidate.version,
        decision,
        len(history),
        recorded,
        purged,
        len(by_labeller),
        ",".join(verdict.refusals) or "none",
    )
    return {"status": decision, "version": candidate.version, **learning}


def _register_base(rt: WorkerRuntime, registry: ModelRegistry) -> SpamModel:
    """The shared base model, registered so that one can roll back to it.

    Only its card is stored: every worker holds the base, so a site's registry keeps no
    copy of it (a copy registered before is deleted here, once).
    """
    base = rt.models.base
    if not registry.exists(base.version):
        registry.put(base.version, None, dict(base.card), status=BASE)
    elif registry.drop_base_bytes(base.version):
        logger.info("site %s: dropped its copy of base model %s", registry.site, base.version)
    return base
