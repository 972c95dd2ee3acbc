"""Moderators' labels: reading a site's feedback stream, and how much each labeller weighs."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
import redis

from service.core.store import keys
from service.core.store.keys import DEFAULT_SITE

__all__ = [
    "IMPORT_PREFIX",
    "LABELS",
    "Example",
    "labeller_weights",
    "latest_per_comment",
    "moderator_weights",
    "read_feedback",
]

#: Labellers of imported history (``commentgate import``) start with this.
IMPORT_PREFIX = "import:"
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
    client: redis.Redis,
    site: str = DEFAULT_SITE,
    *,
    after: str = "0-0",
    newest_first: bool = False,
    limit: int = 0,
) -> list[Example]:
    """A site's feedback entries after ``after``, in stream order (or newest first).

    Args:
        client: Redis.
        site: The site whose moderators' labels to read (each has its own stream).
        after: Stream id of the last entry already consumed.
        newest_first: Read backwards from the newest entry.
        limit: At most this many entries (0: all).

    Returns:
        The labelled examples (entries with an unknown label are skipped).
    """
    out: list[Example] = []
    stream = keys.feedback(site)
    low, high = f"({after}", "+"
    while True:
        count = min(_READ_CHUNK, limit - len(out)) if limit else _READ_CHUNK
        if newest_first:
            raw = client.xrevrange(stream, max=high, min=low, count=count)
        else:
            raw = client.xrange(stream, min=low, max=high, count=count)
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


def labeller_weights(labellers: Sequence[str], cap: float) -> npt.NDArray[np.float64]:
    """Per example of a site's history, its weight: moderators capped, imports whole.

    The cap applies to a site's whole history, every update retraining on all of it, so
    spreading labels over many updates gains a moderator nothing. Imported history
    (labeller ``import:...``) is the site's own past moderation and weighs 1 per comment.

    Args:
        labellers: Per example, who labelled it.
        cap: ``COMMENTGATE_FEEDBACK_MODERATOR_CAP``.

    Returns:
        One weight per example.
    """
    counts = Counter(name for name in labellers if not name.startswith(IMPORT_PREFIX))
    per = moderator_weights(counts, cap=cap, budget=float(sum(counts.values()) or 1))
    return np.asarray([per.get(name, 1.0) for name in labellers], dtype=np.float64)
