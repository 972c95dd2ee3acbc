"""Evaluation plots for people: ROC, precision-recall, and score histograms per class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from sklearn.metrics import precision_recall_curve, roc_curve

__all__ = ["write_plots"]

_SPAM, _HAM = "#c0392b", "#2471a3"


def _markers(spam_above: float, publish_below: float) -> list[tuple[float, str, str]]:
    return [(spam_above, "o", "spam_above"), (publish_below, "s", "publish_below")]


def _finish(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_plots(
    folder: Path,
    y: npt.NDArray[Any],
    proba: npt.NDArray[np.float64],
    *,
    publish_below: float,
    spam_above: float,
    title: str,
) -> list[Path]:
    """Write ``roc.png``, ``precision_recall.png`` and ``score_histogram.png``.

    Args:
        folder: Output folder (created if needed).
        y: Labels (1 spam, 0 ham).
        proba: Spam probabilities.
        publish_below: Publish threshold, marked on the plots.
        spam_above: Spam threshold, marked on the plots.
        title: What was evaluated (shown in each title).

    Returns:
        The written files.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    plt.rcParams.update({"font.size": 11})

    fpr, tpr, cuts = roc_curve(y, proba)
    fig, ax = plt.subplots(figsize=(6.5, 6))
    ax.plot(fpr, tpr, color=_SPAM, lw=2, label="model")
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="chance")
    for cut, marker, name in (
        (spam_above, "o", "spam_above"),
        (publish_below, "s", "publish_below"),
    ):
        i = int(np.argmin(np.abs(cuts - cut)))
        ax.plot(fpr[i], tpr[i], marker, color="black", ms=8, label=f"{name} = {cut:.3f}")
    ax.set(
        xlabel="False-positive rate (ham filed as spam)",
        ylabel="True-positive rate (spam caught)",
        title=f"ROC curve: {title}",
        xlim=(-0.01, 1.01),
        ylim=(-0.01, 1.01),
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    written.append(folder / "roc.png")
    _finish(fig, written[-1])

    precision, recall, pr_cuts = precision_recall_curve(y, proba)
    fig, ax = plt.subplots(figsize=(6.5, 6))
    ax.plot(recall, precision, color=_SPAM, lw=2, label="model")
    ax.axhline(float(np.mean(y)), color="grey", ls="--", lw=1, label="spam share (chance)")
    for cut, marker, name in (
        (spam_above, "o", "spam_above"),
        (publish_below, "s", "publish_below"),
    ):
        i = int(np.argmin(np.abs(pr_cuts - cut))) if len(pr_cuts) else 0
        ax.plot(recall[i], precision[i], marker, color="black", ms=8, label=f"{name} = {cut:.3f}")
    ax.set(
        xlabel="Recall (share of spam caught)",
        ylabel="Precision (share of flagged that is spam)",
        title=f"Precision-recall: {title}",
        xlim=(-0.01, 1.01),
        ylim=(0.0, 1.01),
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    written.append(folder / "precision_recall.png")
    _finish(fig, written[-1])

    fig, ax = plt.subplots(figsize=(8, 5))
    bins = np.linspace(0, 1, 41).tolist()
    ax.hist(proba[y == 0], bins=bins, alpha=0.6, color=_HAM, label=f"ham (n={int((y == 0).sum())})")
    ax.hist(proba[y == 1], bins=bins, alpha=0.6, color=_SPAM, label=f"spam (n={int(y.sum())})")
    ax.axvspan(
        publish_below, spam_above, color="gold", alpha=0.12, zorder=0, label="moderation band"
    )
    ax.axvline(publish_below, color="black", ls=":", label=f"publish_below = {publish_below:.3f}")
    ax.axvline(spam_above, color="black", ls="--", label=f"spam_above = {spam_above:.3f}")
    ax.set(
        xlabel="Spam probability",
        ylabel="Comments (log scale)",
        yscale="log",
        title=f"Score histogram per class: {title}",
    )
    ax.legend(loc="upper center")
    ax.grid(alpha=0.3, axis="y")
    written.append(folder / "score_histogram.png")
    _finish(fig, written[-1])
    return written
