"""Training with hyperparameter selection inside the training data, and nested evaluation."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from classifier._data import LabelledData
from classifier._evaluation import choose_thresholds, compute_metrics
from classifier._features import build_features, to_records
from classifier._model import CalibratedSGDClassifier, Thresholds, build_pipeline, cv_splits
from classifier.exceptions import DataError

__all__ = ["DEFAULT_GRID", "NestedResult", "TrainResult", "nested_cross_validate", "train_model"]

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

#: Candidate hyperparameters; one is chosen by one-file-out CV inside the training data.
DEFAULT_GRID: tuple[dict[str, Any], ...] = (
    {"loss": "hinge", "alpha": 1e-4, "use_author_name": False},
    {"loss": "hinge", "alpha": 1e-4, "use_author_name": True},
    {"loss": "log_loss", "alpha": 1e-5, "use_author_name": False},
    {"loss": "log_loss", "alpha": 1e-5, "use_author_name": True},
)


def _quiet(_: str) -> None:
    return None


@dataclass
class TrainResult:
    """A trained pipeline and what was learnt about it on held-out folds.

    Attributes:
        pipeline: The fitted pipeline.
        params: The chosen hyperparameters.
        thresholds: Recommended thresholds from out-of-fold probabilities.
        metrics: Out-of-fold metrics of the chosen configuration.
        selection: Mean held-out ROC AUC of each candidate.
        cv: Description of the folds used.
    """

    pipeline: Pipeline
    params: dict[str, Any]
    thresholds: Thresholds
    metrics: dict[str, Any]
    selection: list[dict[str, Any]] = field(default_factory=list)
    cv: str = ""


def _mean_fold_auc(
    y: npt.NDArray[Any],
    decision: npt.NDArray[np.float64],
    splits: Sequence[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]],
) -> float:
    scores = [
        roc_auc_score(y[test], decision[test]) for _, test in splits if len(np.unique(y[test])) == 2
    ]
    return float(np.mean(scores)) if scores else float(roc_auc_score(y, decision))


def _check(y: npt.NDArray[Any]) -> None:
    counts = np.bincount(y, minlength=2)
    if counts.min() < 2:
        raise DataError(
            f"training needs at least 2 spam and 2 ham comments (got {counts[1]} spam, "
            f"{counts[0]} ham)"
        )


def train_model(
    data: LabelledData,
    *,
    grid: Sequence[dict[str, Any]] = DEFAULT_GRID,
    random_state: int = 0,
    progress: Progress = _quiet,
) -> TrainResult:
    """Choose hyperparameters by cross-validation on ``data``, then fit on all of it.

    Folds leave one file out when ``data`` has several files, else stratified 5-fold.

    Args:
        data: Labelled comments.
        grid: Candidate hyperparameters.
        random_state: Seed of every random step.
        progress: Called with one-line progress messages.

    Returns:
        The fitted pipeline, thresholds and out-of-fold metrics.

    Raises:
        DataError: Too few examples of a class.
    """
    y = data.labels
    _check(y)
    groups = data.groups if len(np.unique(data.groups)) >= 2 else None
    splits = cv_splits(y, groups, random_state)
    cv = f"leave-one-file-out ({len(splits)} files)" if groups is not None else "stratified"
    records = to_records(data.comments)
    matrices: dict[bool, Any] = {}
    selection: list[dict[str, Any]] = []
    best: tuple[float, int, npt.NDArray[np.float64]] | None = None
    for index, params in enumerate(grid):
        use_author = bool(params.get("use_author_name", False))
        if use_author not in matrices:
            matrices[use_author] = build_features(use_author_name=use_author).fit_transform(records)
        clf = CalibratedSGDClassifier(
            loss=params["loss"], alpha=params["alpha"], random_state=random_state
        )
        decision = clf.out_of_fold_decision(matrices[use_author], y, groups)
        score = _mean_fold_auc(y, decision, splits)
        selection.append({"params": dict(params), "mean_fold_roc_auc": round(score, 5)})
        progress(f"candidate {index + 1}/{len(grid)} {params}: held-out ROC AUC {score:.4f}")
        if best is None or score > best[0]:
            best = (score, index, decision)
    assert best is not None
    chosen = dict(grid[best[1]])
    progress(f"chosen {chosen}; fitting on all {len(y)} comments")
    pipeline = build_pipeline(chosen, random_state=random_state)
    pipeline.fit(records, y, classifier__groups=groups)
    classifier: CalibratedSGDClassifier = pipeline.named_steps["classifier"]
    oof_proba = classifier.calibrate(best[2])
    thresholds = choose_thresholds(y, oof_proba)
    metrics = compute_metrics(y, oof_proba, thresholds.publish_below, thresholds.spam_above)
    metrics["protocol"] = f"out-of-fold, {cv}, hyperparameters chosen on the same folds"
    return TrainResult(pipeline, chosen, thresholds, metrics, selection, cv)


@dataclass
class NestedResult:
    """Pooled held-out predictions of a nested cross-validation.

    Attributes:
        y: Labels, in data order.
        proba: Held-out spam probabilities.
        publish_below: Per example, the threshold of the fold that predicted it.
        spam_above: Per example, the threshold of the fold that predicted it.
        folds: Per-fold metrics and chosen hyperparameters.
        metrics: Pooled metrics.
    """

    y: npt.NDArray[np.int64]
    proba: npt.NDArray[np.float64]
    publish_below: npt.NDArray[np.float64]
    spam_above: npt.NDArray[np.float64]
    folds: list[dict[str, Any]]
    metrics: dict[str, Any]


def nested_cross_validate(
    data: LabelledData,
    *,
    grid: Sequence[dict[str, Any]] = DEFAULT_GRID,
    random_state: int = 0,
    progress: Progress = _quiet,
) -> NestedResult:
    """Leave one file out; within the other files choose hyperparameters and thresholds.

    Args:
        data: Labelled comments from at least two files.
        grid: Candidate hyperparameters.
        random_state: Seed of every random step.
        progress: Called with one-line progress messages.

    Returns:
        The pooled held-out probabilities and metrics, and per-fold metrics.

    Raises:
        DataError: Fewer than two files.
    """
    files = np.unique(data.groups)
    if len(files) < 2:
        raise DataError("leave-one-file-out needs at least two data files")
    y = data.labels
    proba = np.zeros(len(y))
    publish_below = np.zeros(len(y))
    spam_above = np.zeros(len(y))
    folds: list[dict[str, Any]] = []
    for held_out in files:
        train = np.flatnonzero(data.groups != held_out)
        test = np.flatnonzero(data.groups == held_out)
        name = data.sources[int(held_out)]
        progress(f"fold {name}: training on {len(train)} comments from {len(files) - 1} files")
        subset = LabelledData(
            comments=[data.comments[i] for i in train],
            labels=y[train],
            groups=data.groups[train],
            sources=data.sources,
        )
        result = train_model(subset, grid=grid, random_state=random_state, progress=progress)
        pipeline = result.pipeline
        proba[test] = pipeline.predict_proba(to_records([data.comments[i] for i in test]))[:, 1]
        publish_below[test] = result.thresholds.publish_below
        spam_above[test] = result.thresholds.spam_above
        fold = compute_metrics(
            y[test], proba[test], result.thresholds.publish_below, result.thresholds.spam_above
        )
        fold.update(held_out=name, params=result.params)
        folds.append(fold)
        progress(f"fold {name}: F1 {fold['at_0.5']['f1']:.4f}, ROC AUC {fold['roc_auc'] or 0:.4f}")
    metrics = compute_metrics(y, proba, publish_below, spam_above)
    metrics["protocol"] = "nested leave-one-file-out (selection inside the training files)"
    return NestedResult(y, proba, publish_below, spam_above, folds, metrics)
