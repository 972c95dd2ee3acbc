"""Learning from moderators: the RQ job that updates the model from their decisions.

Every approve (ham) and spam decision is an entry of the feedback stream
(:data:`service.store.keys.FEEDBACK`) and schedules :func:`update_model` on the
``commentgate.learning`` queue. The job:

1. reads the entries after the last consumed one (the cursor, kept in Redis and moved
   only when an update completes), keeping each comment's latest label and skipping
   comments purged since;
2. weighs the examples so that no moderator carries more than
   ``COMMENTGATE_FEEDBACK_MODERATOR_CAP`` of the update and the update never weighs more
   than ``COMMENTGATE_FEEDBACK_WEIGHT`` examples (:func:`moderator_weights`);
3. continues training the current model on them (:meth:`classifier.SpamModel.updated`),
   replaying the base data beside them when it is configured (so that a one-sided batch,
   e.g. fifty approvals, does not drag the model towards one class); the learnt weights
   keep what moderators taught even after the comments are purged;
4. validates the candidate beside the current model on the base data
   (``COMMENTGATE_VALIDATION_DATA``) or, without it, on a fixed holdout of the feedback
   (one comment in :data:`HOLDOUT_EVERY`, never trained on): it is promoted only if
   neither ROC AUC nor F1 at the model's ``spam_above`` drops by more than
   ``COMMENTGATE_LEARNING_MAX_DROP``;
5. stores the candidate with its model card (decision and figures recorded in it) in
   the model registry and, if it passed, makes it current. Workers switch at their next
   batch.

Feedback is learnt in batches: the job waits until the oldest unconsumed entry is
``COMMENTGATE_LEARNING_DELAY_SECONDS`` old (it re-queues itself for then), so a burst
of decisions makes one update, not one per click. Logs carry ids and counts, never
comment text.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import redis
from rq import Retry
from sklearn.metrics import f1_score, roc_auc_score

from classifier import CommentInput, SpamModel, dump_model_bytes
from classifier._data import LabelledData, read_labelled
from classifier.exceptions import ModelLoadError
from service.model_registry import BASE, CANDIDATE, REFUSED, ModelRegistry, lineage
from service.queues import FAILURE_TTL, LEARNING_SCHEDULED, UPDATE_MODEL
from service.store import keys
from workers.jobs import _job, comment_input
from workers.runtime import WorkerRuntime, get_runtime

__all__ = [
    "CURSOR_KEY",
    "Example",
    "moderator_weights",
    "read_feedback",
    "update_model",
]

logger = logging.getLogger(__name__)

CURSOR_KEY = keys.PREFIX + "learning:cursor"  # id of the last feedback entry consumed
LOCK_KEY = keys.PREFIX + "learning:lock"  # one update at a time
#: Without base data, one feedback comment in this many is held out for validation.
HOLDOUT_EVERY = 5
#: The holdout must hold at least this many comments of each class to validate on.
MIN_HOLDOUT_PER_CLASS = 10
#: Feedback entries scanned (newest first) for the holdout.
HOLDOUT_SCAN = 20_000
#: At most this many base-data examples are replayed with each update (fixed seed).
REPLAY_MAX = 5000
#: An update that finds another running tries again this much later.
BUSY_RETRY_SECONDS = 30
#: Like :meth:`service.queues.Queues.enqueue_learning`.
JOB_TIMEOUT = 1800
RESULT_TTL = 7 * 24 * 3600
_READ_CHUNK = 1000

LABELS = {"ham": 0, "spam": 1}


@dataclass(frozen=True, slots=True)
class Example:
    """One moderator label from the feedback stream.

    Attributes:
        entry_id: The stream entry id (``<ms>-<seq>``).
        comment_id: The labelled comment.
        label: 1 spam, 0 ham.
        moderator: Who labelled it.
    """

    entry_id: str
    comment_id: str
    label: int
    moderator: str


def read_feedback(
    client: redis.Redis, *, after: str = "0-0", newest_first: bool = False, limit: int = 0
) -> list[Example]:
    """Feedback entries after ``after``, in stream order (or newest first).

    Args:
        client: Redis.
        after: Stream id of the last entry already consumed.
        newest_first: Read backwards from the newest entry.
        limit: At most this many entries (0: all).

    Returns:
        The labelled examples (entries with an unknown label are skipped).
    """
    out: list[Example] = []
    low, high = f"({after}", "+"
    while True:
        count = min(_READ_CHUNK, limit - len(out)) if limit else _READ_CHUNK
        if newest_first:
            raw = client.xrevrange(keys.FEEDBACK, max=high, min=low, count=count)
        else:
            raw = client.xrange(keys.FEEDBACK, min=low, max=high, count=count)
        rows = cast(list[tuple[bytes, dict[bytes, bytes]]], raw)
        for entry_id, fields in rows:
            label = LABELS.get(fields.get(b"label", b"").decode())
            comment_id = fields.get(b"comment_id", b"").decode()
            if label is None or not comment_id:
                continue
            moderator = fields.get(b"moderator", b"").decode() or "?"
            out.append(Example(entry_id.decode(), comment_id, label, moderator))
        if len(rows) < count or (limit and len(out) >= limit):
            return out
        last = rows[-1][0].decode()
        if newest_first:
            high = f"({last}"
        else:
            low = f"({last}"


def latest_per_comment(examples: Sequence[Example]) -> list[Example]:
    """Each comment's latest label (a moderator may correct another), in stream order."""
    latest: dict[str, Example] = {}
    for example in examples:
        latest.pop(example.comment_id, None)
        latest[example.comment_id] = example
    return list(latest.values())


def moderator_weights(counts: Mapping[str, int], *, cap: float, budget: float) -> dict[str, float]:
    """The weight of each example of each moderator, so that no one swings an update alone.

    Every example weighs at most ``min(1, budget / N)`` (``N`` examples in all), so an
    update never weighs more than ``budget`` examples. Then moderators are capped:

    * with enough of them (``len(counts) * cap >= 1``), the most prolific are scaled
      down until none carries more than ``cap`` of the update's total weight (the others
      are never scaled up);
    * with fewer (one moderator alone, with the default cap 0.5), the cap cannot be a
      share of what they alone give, so each carries at most ``cap`` of ``min(N,
      budget)``: a lone moderator moves the model only part of the way.

    Args:
        counts: Examples per moderator in this update.
        cap: Largest share of the weight one moderator may carry (0 to 1].
        budget: Largest total weight of an update, in examples.

    Returns:
        Per moderator, the weight of each of their examples.
    """
    total = sum(counts.values())
    natural = {name: n * min(1.0, budget / total) for name, n in counts.items() if n > 0}
    if not natural:
        return {}
    if len(natural) * cap < 1 - 1e-9:
        limit = cap * sum(natural.values())
    else:
        limit = _share_limit(sorted(natural.values()), cap)
    return {name: min(weight, limit) / counts[name] for name, weight in natural.items()}


def _share_limit(values: Sequence[float], cap: float) -> float:
    """The largest ``L`` with ``L <= cap * sum(min(v, L))``: the per-moderator ceiling.

    With ``j`` moderators below the ceiling (the ``j`` smallest), ``L = cap * P_j /
    (1 - cap * (k - j))`` where ``P_j`` is their total; the answer is the first ``j``
    (from all moderators down) whose ``L`` lies between the ``j``-th and ``j+1``-th value.
    Needs ``len(values) * cap >= 1``.
    """
    k = len(values)
    prefix = np.concatenate([[0.0], np.cumsum(values)])
    for j in range(k, 0, -1):
        room = 1 - cap * (k - j)
        if room <= 1e-12:
            continue
        limit = cap * float(prefix[j]) / room
        below = values[j - 1]
        above = values[j] if j < k else math.inf
        if below - 1e-9 <= limit <= above + 1e-9:
            return limit
    return values[0]  # k * cap == 1 exactly: every moderator at the smallest


def in_holdout(comment_id: str) -> bool:
    """Whether a comment belongs to the fixed feedback holdout (never trained on)."""
    digest = hashlib.sha256(comment_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") % HOLDOUT_EVERY == 0


@functools.lru_cache(maxsize=2)
def _read_validation(files: tuple[tuple[str, int, int], ...]) -> LabelledData:
    return read_labelled([name for name, _, _ in files])


def validation_data(paths: Sequence[Path]) -> LabelledData:
    """The base data read once per process (again when a file changes).

    Raises:
        DataError: A file is missing or malformed.
    """
    files = []
    for path in paths:
        stat = path.stat() if path.is_file() else None
        files.append((str(path), stat.st_mtime_ns if stat else 0, stat.st_size if stat else 0))
    return _read_validation(tuple(files))


@dataclass(frozen=True)
class Validation:
    """Labelled comments a candidate is judged on."""

    source: str
    comments: list[CommentInput]
    labels: npt.NDArray[np.int64]

    def measure(self, model: SpamModel) -> dict[str, float]:
        """ROC AUC, and F1 of "spam" at the model's ``spam_above``."""
        proba = model.predict_proba(self.comments)
        spam = proba >= model.thresholds.spam_above
        return {
            "roc_auc": round(float(roc_auc_score(self.labels, proba)), 5),
            "f1": round(float(f1_score(self.labels, spam, zero_division=0.0)), 5),
        }

    def describe(self) -> dict[str, Any]:
        """Where the figures come from."""
        spam = int(self.labels.sum())
        return {"data": self.source, "n": len(self.labels), "spam": spam}


def _holdout(rt: WorkerRuntime) -> Validation | None:
    """The feedback holdout, if it has enough of both classes to validate on."""
    examples = [
        e
        for e in latest_per_comment(
            read_feedback(rt.redis, newest_first=True, limit=HOLDOUT_SCAN)[::-1]
        )
        if in_holdout(e.comment_id)
    ]
    found = {c.id: c for c in rt.store.get_many([e.comment_id for e in examples])}
    kept = [e for e in examples if e.comment_id in found]
    labels = np.asarray([e.label for e in kept], dtype=np.int64)
    if min(int(labels.sum()), int(len(labels) - labels.sum())) < MIN_HOLDOUT_PER_CLASS:
        return None
    comments = [comment_input(found[e.comment_id]) for e in kept]
    return Validation("feedback holdout", comments, labels)


def _base_validation(rt: WorkerRuntime) -> Validation:
    data = validation_data(rt.settings.validation_data)
    if len(np.unique(data.labels)) < 2:
        raise ValueError("COMMENTGATE_VALIDATION_DATA must hold both spam and ham comments")
    return Validation(f"base data ({', '.join(data.sources)})", data.comments, data.labels)


def _replay(rt: WorkerRuntime) -> tuple[list[CommentInput], list[int]]:
    """Base-data examples to train on beside the feedback (weight 1 each)."""
    data = validation_data(rt.settings.validation_data)
    chosen = np.arange(len(data))
    if len(chosen) > REPLAY_MAX:
        chosen = np.sort(np.random.default_rng(0).choice(chosen, REPLAY_MAX, replace=False))
    return [data.comments[i] for i in chosen], [int(data.labels[i]) for i in chosen]


def _redis_now(client: redis.Redis) -> float:
    seconds, micros = client.time()
    return seconds + micros / 1e6


def _defer(rt: WorkerRuntime, seconds: float, status: str) -> dict[str, Any]:
    """Run the update again in ``seconds``, unless another update job is queued."""
    wait = max(1, math.ceil(seconds))
    if rt.redis.set(LEARNING_SCHEDULED, "1", nx=True, ex=wait + 3600):
        rt.queues.learning.enqueue_in(
            dt.timedelta(seconds=wait),
            UPDATE_MODEL,
            job_timeout=JOB_TIMEOUT,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            retry=Retry(max=2, interval=[60, 300]),
        )
    logger.info("model update %s: again in %s s", status, wait)
    return {"status": status, "retry_in": wait}


@_job
def update_model() -> dict[str, Any]:
    """Learn from the moderators' new decisions; promote the result if it passes the guard.

    Returns:
        What happened: ``status`` (``promoted``, ``refused``, ``nothing_new``,
        ``nothing_to_learn``, ``waiting``, ``busy``, ``waiting_for_validation``) and, for
        an update, the versions, examples, weights and validation figures.
    """
    rt = get_runtime()
    rt.redis.delete(LEARNING_SCHEDULED)  # feedback from now on schedules the next update
    lock = rt.redis.lock(LOCK_KEY, timeout=JOB_TIMEOUT + 60)
    if not lock.acquire(blocking=False):
        return _defer(rt, BUSY_RETRY_SECONDS, "busy")
    try:
        return _update(rt)
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            logger.warning("the learning lock expired before the update ended")


def _update(rt: WorkerRuntime) -> dict[str, Any]:
    settings = rt.settings
    raw_cursor = cast(bytes | None, rt.redis.get(CURSOR_KEY))
    cursor = raw_cursor.decode() if raw_cursor else "0-0"
    entries = read_feedback(rt.redis, after=cursor)
    if not entries:
        return {"status": "nothing_new"}
    age = _redis_now(rt.redis) - int(entries[0].entry_id.split("-")[0]) / 1000
    if age < settings.learning_delay_seconds:
        return _defer(rt, settings.learning_delay_seconds - age, "waiting")
    last_entry = entries[-1].entry_id

    registry = ModelRegistry(rt.redis, keep=settings.model_keep_versions)
    model = _current_model(rt, registry)
    validation = _base_validation(rt) if settings.validation_data else _holdout(rt)
    if validation is None:
        logger.info(
            "model update waits: the feedback holdout has fewer than %s of a class",
            MIN_HOLDOUT_PER_CLASS,
        )
        return {"status": "waiting_for_validation", "feedback": len(entries)}

    examples = latest_per_comment(entries)
    if not settings.validation_data:
        examples = [e for e in examples if not in_holdout(e.comment_id)]
    found = {c.id: c for c in rt.store.get_many([e.comment_id for e in examples])}
    purged = sum(1 for e in examples if e.comment_id not in found)
    examples = [e for e in examples if e.comment_id in found]
    if not examples:
        rt.redis.set(CURSOR_KEY, last_entry)
        return {"status": "nothing_to_learn", "feedback": len(entries), "purged": purged}

    counts = Counter(e.moderator for e in examples)
    per_example = moderator_weights(
        counts, cap=settings.feedback_moderator_cap, budget=settings.feedback_weight
    )
    weights = np.asarray([per_example[e.moderator] for e in examples])
    labels = np.asarray([e.label for e in examples], dtype=np.int64)
    replay_comments, replay_labels = _replay(rt) if settings.validation_data else ([], [])
    candidate = model.updated(
        [comment_input(found[e.comment_id]) for e in examples] + replay_comments,
        np.concatenate([labels, np.asarray(replay_labels, dtype=np.int64)]),
        sample_weight=np.concatenate([weights, np.ones(len(replay_labels))]),
        epochs=settings.learning_epochs,
    )
    before, after = validation.measure(model), validation.measure(candidate)
    drops = {name: round(before[name] - after[name], 5) for name in before}
    promote = all(drop <= settings.learning_max_drop + 1e-9 for drop in drops.values())
    decision = "promoted" if promote else "refused"
    learnt_before = int(model.card.get("learning", {}).get("feedback_total", 0))
    learning = {
        "decision": decision,
        "from_version": model.version,
        "feedback_total": learnt_before + len(examples),
        "feedback": {
            "examples": len(examples),
            "spam": int(labels.sum()),
            "ham": int(len(labels) - labels.sum()),
            "purged_skipped": purged,
            "entries": [entries[0].entry_id, last_entry],
            "epochs": settings.learning_epochs,
            "total_weight": round(float(weights.sum()), 4),
            "moderators": {
                name: {"examples": n, "weight": round(per_example[name] * n, 4)}
                for name, n in sorted(counts.items())
            },
            "moderator_cap": settings.feedback_moderator_cap,
            "weight_budget": settings.feedback_weight,
            "base_examples_replayed": len(replay_labels),
        },
        "validation": {
            **validation.describe(),
            "current": before,
            "candidate": after,
            "drop": drops,
            "max_drop": settings.learning_max_drop,
        },
    }
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    data, card = dump_model_bytes(candidate, {"created": now, "learning": learning})
    if promote:
        registry.put(candidate.version, data, card, status=CANDIDATE)
        registry.promote(
            candidate.version,
            actor="learning",
            note=f"{len(examples)} examples",
            also={CURSOR_KEY: last_entry},
        )
    else:
        registry.put(candidate.version, None, card, status=REFUSED)
        rt.redis.set(CURSOR_KEY, last_entry)
    registry.prune()
    logger.info(
        "model update %s -> %s %s: %s examples (%s spam) from %s moderators, %s purged; "
        "%s ROC AUC %.4f -> %.4f, F1 %.4f -> %.4f",
        model.version,
        candidate.version,
        decision,
        len(examples),
        int(labels.sum()),
        len(counts),
        purged,
        validation.source,
        before["roc_auc"],
        after["roc_auc"],
        before["f1"],
        after["f1"],
    )
    return {"status": decision, "version": candidate.version, **learning}


def _current_model(rt: WorkerRuntime, registry: ModelRegistry) -> SpamModel:
    """The model to improve: the promoted one, and the base registered for rollbacks.

    Raises:
        ModelLoadError: The promoted version of this base cannot be loaded.
    """
    base = rt.models.base
    if not registry.exists(base.version):
        data, card = dump_model_bytes(base)
        registry.put(base.version, data, card, status=BASE)
    model, _ = rt.models.refresh()
    wanted = registry.current()
    if wanted and lineage(wanted) == base.version and model.version != wanted:
        raise ModelLoadError(f"the current model {wanted} cannot be loaded (see the worker log)")
    return model
