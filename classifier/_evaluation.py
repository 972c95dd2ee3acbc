"""Metrics and the recommended thresholds, computed from held-out spam probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
    roc_auc_score,
)

from classifier._model import Thresholds

__all__ = ["MAX_HAM_AS_SPAM", "MAX_SPAM_PUBLISHED", "choose_thresholds", "compute_metrics"]

#: ``spam_above`` files at most this share of ham as spam.
MAX_HAM_AS_SPAM = 0.01
#: ``publish_below`` publishes at most this share of spam.
MAX_SPAM_PUBLISHED = 0.02


def choose_thresholds(
    y: npt.NDArray[Any],
    proba: npt.NDArray[np.float64],
    *,
    max_ham_as_spam: float = MAX_HAM_AS_SPAM,
    max_spam_published: float = MAX_SPAM_PUBLISHED,
) -> Thresholds:
    """Pick the thresholds from held-out probabilities.

    ``spam_above`` is the lowest cut such that at most ``max_ham_as_spam`` of the ham has
    a probability at or above it; ``publish_below`` the highest cut such that at most
    ``max_spam_published`` of the spam has a probability below it. When the two cross,
    both become their midpoint (no moderation band).

    Args:
        y: Labels (1 spam, 0 ham).
        proba: Held-out spam probabilities.
        max_ham_as_spam: Allowed share of ham filed as spam.
        max_spam_published: Allowed share of spam published.

    Returns:
        The thresholds, rounded to 4 decimals.
    """
    y = np.asarray(y)
    ham = np.sort(proba[y == 0])[::-1]
    spam = np.sort(proba[y == 1])
    # spam_above: just above the (k+1)-th highest ham score, k = allowed ham count.
    k = int(np.floor(max_ham_as_spam * len(ham)))
    spam_above = float(np.nextafter(ham[k], 1.0)) if k < len(ham) else 0.0
    # publish_below: the (m+1)-th lowest spam score, m = allowed spam count.
    m = int(np.floor(max_spam_published * len(spam)))
    publish_below = float(spam[m]) if m < len(spam) else 1.0
    spam_above = float(np.ceil(min(spam_above, 1.0) * 1e4) / 1e4)
    publish_below = float(np.floor(publish_below * 1e4) / 1e4)
    if publish_below > spam_above:
        middle = round((publish_below + spam_above) / 2, 4)
        publish_below = spam_above = middle
    return Thresholds(publish_below=publish_below, spam_above=spam_above)


def _rate(mask: npt.NDArray[np.bool_]) -> float:
    return float(mask.mean()) if mask.size else 0.0


def compute_metrics(
    y: npt.NDArray[Any],
    proba: npt.NDArray[np.float64],
    publish_below: float | npt.NDArray[np.float64],
    spam_above: float | npt.NDArray[np.float64],
    *,
    views_agree: npt.NDArray[np.bool_] | None = None,
) -> dict[str, Any]:
    """Quality figures of held-out probabilities.

    Precision, recall, F1 and MCC are given at 0.5 and at ``spam_above`` (spam is what
    the policy files as spam); the band share is the share of comments between
    ``publish_below`` and ``spam_above`` (sent to moderators).

    Args:
        y: Labels (1 spam, 0 ham).
        proba: Held-out spam probabilities.
        publish_below: The publish threshold, one value or one per example (nested folds).
        spam_above: The spam threshold, one value or one per example.
        views_agree: Per example, whether the model's views agree; a comment at or above
            ``spam_above`` whose views disagree goes to the moderators (``None``: all agree).

    Returns:
        A JSON-serialisable dict of metrics.
    """
    y = np.asarray(y)
    both = len(np.unique(y)) == 2
    out: dict[str, Any] = {
        "n": len(y),
        "spam": int(y.sum()),
        "ham": int(len(y) - y.sum()),
        "roc_auc": float(roc_auc_score(y, proba)) if both else None,
        "pr_auc": float(average_precision_score(y, proba)) if both else None,
    }
    for name, cut in (("at_0.5", 0.5), ("at_spam_above", spam_above)):
        pred = (proba >= cut).astype(int)
        out[name] = {
            "precision": float(precision_score(y, pred, zero_division=0)),
            "recall": float(recall_score(y, pred, zero_division=0)),
            "f1": float(f1_score(y, pred, zero_division=0)),
            "mcc": float(matthews_corrcoef(y, pred)) if both else 0.0,
            "ham_fpr": _rate(pred[y == 0] == 1),
        }
    confident = proba >= spam_above
    spam_filed = confident if views_agree is None else confident & views_agree
    published = proba < publish_below
    band = ~spam_filed & ~published
    out["policy"] = {
        "ham_filed_as_spam": _rate(spam_filed[y == 0]),
        "spam_published": _rate(published[y == 1]),
        "band_share": _rate(band),
        "band_share_ham": _rate(band[y == 0]),
        "band_share_spam": _rate(band[y == 1]),
        "held_unfamiliar": _rate(confident & ~spam_filed),
    }
    if np.ndim(spam_above) == 0:
        out["policy"].update(publish_below=float(publish_below), spam_above=float(spam_above))
    return out
