"""Training with hyperparameter selection inside the training data, and nested evaluation."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from classifier._augment import augmented_ham
from classifier._data import LabelledData
from classifier._evaluation import choose_thresholds, compute_metrics
from classifier._features import build_features, to_records
from classifier._model import (
    CalibratedSGDClassifier,
    Thresholds,
    build_pipeline,
    cv_splits,
)
from classifier._spam_model import SpamModel
from classifier.exceptions import DataError

__all__ = [
    "DEFAULT_GRID",
    "NestedResult",
    "TrainResult",
    "nested_cross_validate",
    "source_weights",
    "train_model",
]

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

#: Share of the genuine comments copied with a random artefact (see classifier._augment).
#: A design constant, not tuned on any fold: half the ham, so an artefact is as common
#: in genuine comments as in the spam of the training sources.
AUGMENT_SHARE = 0.5

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
        view_thresholds: Per view, the probability at or above which it calls spam.
        weights: Per data set, the weight of each of its comments.
        oof_probability: Per training comment, its probability from a model that did not
            see its group (the reference set's honest base figures).
    """

    pipeline: Pipeline
    params: dict[str, Any]
    thresholds: Thresholds
    metrics: dict[str, Any]
    selection: list[dict[str, Any]] = field(default_factory=list)
    cv: str = ""
    view_thresholds: dict[str, float] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    oof_probability: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def model(self, card: dict[str, Any] | None = None) -> SpamModel:
        """The trained model with (at least) its thresholds in the card."""
        thresholds = {
            "publish_below": self.thresholds.publish_below,
            "spam_above": self.thresholds.spam_above,
            "views": dict(self.view_thresholds),
        }
        return SpamModel(
            self.pipeline, {"model_version": "cg-trained", **(card or {}), "thresholds": thresholds}
        )


def source_weights(data: LabelledData) -> npt.NDArray[np.float64]:
    """Per comment, a weight that gives every data set the same total weight.

    Without it the largest source's quirks (its lengths, its links, its invisible
    characters) become the model's shortcuts. Weights average 1 over the data.

    Args:
        data: Labelled comments from one or more data sets.

    Returns:
        One weight per comment.
    """
    _, inverse, counts = np.unique(data.source_groups, return_inverse=True, return_counts=True)
    per_source = len(inverse) / (len(counts) * counts.astype(np.float64))
    return np.asarray(per_source[inverse], dtype=np.float64)


def _mean_fold_auc(
    y: npt.NDArray[Any],
    decision: npt.NDArray[np.float64],
    splits: Sequence[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]],
) -> float:
    scores = [
        roc_auc_score(y[test], decision[test]) for _, test in splits if len(np.unique(y[test])) == 2
    ]
    return float(np.mean(scores)) if scores else float(roc_auc_score(y, decision))


def cv_groups(data: LabelledData, random_state: int = 0) -> npt.NDArray[np.int64]:
    """Folds for choosing, calibrating and thresholding: new pages of known kinds of site.

    A data set of several files (the videos of the YouTube collection) is split by file;
    a data set of one file (the SMS collection) into five stratified parts. Holding out a
    whole data set would make every threshold answer "a kind of site never seen", which
    is the views' job (see :meth:`SpamModel.assess`), and is measured on its own by
    ``nested_cross_validate(by="source")``.

    Returns:
        A group per comment.
    """
    out = np.zeros(len(data), dtype=np.int64)
    next_group = 0
    sources = data.source_groups
    for source in np.unique(sources):
        rows = np.flatnonzero(sources == source)
        files = np.unique(data.groups[rows])
        if len(files) >= 2:
            for file in files:
                out[rows[data.groups[rows] == file]] = next_group
                next_group += 1
            continue
        labels = data.labels[rows]
        parts = int(max(2, min(5, np.bincount(labels, minlength=2).min())))
        folds = StratifiedKFold(n_splits=parts, shuffle=True, random_state=random_state)
        for _, test in folds.split(np.zeros(len(rows)), labels):
            out[rows[test]] = next_group
            next_group += 1
    return out


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
    augment: float = AUGMENT_SHARE,
    random_state: int = 0,
    progress: Progress = _quiet,
) -> TrainResult:
    """Choose hyperparameters by cross-validation on ``data``, then fit on all of it.

    Folds are :func:`cv_groups`. Every data set weighs the same (:func:`source_weights`).
    A share of the genuine comments is copied with a random link, address, code or error
    message added (:mod:`classifier._augment`); a copy stays in its original's fold, and
    every figure and threshold is computed on the original comments only.

    Args:
        data: Labelled comments.
        grid: Candidate hyperparameters.
        augment: Share of the genuine comments copied with an artefact (0: none).
        random_state: Seed of every random step.
        progress: Called with one-line progress messages.

    Returns:
        The fitted pipeline, thresholds and out-of-fold metrics.

    Raises:
        DataError: Too few examples of a class.
    """
    _check(data.labels)
    n = len(data)
    groups = cv_groups(data, random_state)
    weights = source_weights(data)
    comments, y = list(data.comments), data.labels
    if augment > 0:
        chosen_rows, copies = augmented_ham(
            data.comments, data.labels, share=augment, random_state=random_state
        )
        comments += copies
        y = np.concatenate([y, np.zeros(len(copies), dtype=np.int64)])
        groups = np.concatenate([groups, groups[chosen_rows]])
        weights = np.concatenate([weights, weights[chosen_rows]])
        progress(f"added {len(copies)} genuine comments with a random link, address or code")
    splits = [(train, test[test < n]) for train, test in cv_splits(y, groups, random_state)]
    cv = (
        f"leave-one-group-out ({len(splits)} groups: each file of a data set with several, "
        "5 stratified parts of a data set with one)"
    )
    records = to_records(comments)
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
        decision = clf.out_of_fold_decision(matrices[use_author], y, groups, weights)
        score = _mean_fold_auc(y, decision, splits)
        selection.append({"params": dict(params), "mean_fold_roc_auc": round(score, 5)})
        progress(f"candidate {index + 1}/{len(grid)} {params}: held-out ROC AUC {score:.4f}")
        if best is None or score > best[0]:
            best = (score, index, decision)
    assert best is not None
    chosen = dict(grid[best[1]])
    progress(f"chosen {chosen}; fitting on all {len(y)} comments (with the copies)")
    pipeline = build_pipeline(chosen, random_state=random_state)
    pipeline.fit(records, y, classifier__groups=groups, classifier__sample_weight=weights)
    classifier: CalibratedSGDClassifier = pipeline.named_steps["classifier"]
    matrix = matrices[bool(chosen.get("use_author_name", False))]
    view_proba = classifier.view_out_of_fold(matrix, y, groups, weights)
    # Figures and thresholds on the original comments, from the folds fit() calibrated on.
    y, oof_proba = y[:n], classifier.calibrate(best[2])[:n]
    thresholds = choose_thresholds(y, oof_proba)
    views: dict[str, float] = {}
    agree = np.ones(n, dtype=bool)
    for name, proba in view_proba.items():
        views[name] = choose_thresholds(y, proba[:n]).spam_above
        agree &= proba[:n] >= views[name]
    metrics = compute_metrics(
        y, oof_proba, thresholds.publish_below, thresholds.spam_above, views_agree=agree
    )
    metrics["protocol"] = f"out-of-fold, {cv}, hyperparameters chosen on the same folds"
    sources = data.source_groups
    if len(np.unique(sources)) >= 2:
        metrics["per_source"] = {}
        for index, name in enumerate(data.source_names):
            rows = sources == index
            if rows.any():
                part = compute_metrics(
                    y[rows],
                    oof_proba[rows],
                    thresholds.publish_below,
                    thresholds.spam_above,
                    views_agree=agree[rows],
                )
                metrics["per_source"][name] = {
                    key: part[key] for key in ("n", "spam", "roc_auc", "pr_auc", "policy")
                }
    per_source = {
        name: round(float(weights[:n][data.source_groups == i][0]), 6)
        for i, name in enumerate(data.source_names)
        if np.any(data.source_groups == i)
    }
    return TrainResult(
        pipeline, chosen, thresholds, metrics, selection, cv, views, per_source, oof_proba
    )


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
        views_agree: Per example, whether the fold's views agreed (see ``assess``).
    """

    y: npt.NDArray[np.int64]
    proba: npt.NDArray[np.float64]
    publish_below: npt.NDArray[np.float64]
    spam_above: npt.NDArray[np.float64]
    folds: list[dict[str, Any]]
    metrics: dict[str, Any]
    views_agree: npt.NDArray[np.bool_]


def nested_cross_validate(
    data: LabelledData,
    *,
    by: str = "file",
    grid: Sequence[dict[str, Any]] = DEFAULT_GRID,
    augment: float = AUGMENT_SHARE,
    random_state: int = 0,
    progress: Progress = _quiet,
) -> NestedResult:
    """Leave one file (or data set) out; choose everything inside the others.

    Hyperparameters, calibration and thresholds are chosen inside the training part
    only, so each held-out fold measures how the method does on comments from a page
    (``by="file"``) or a kind of site (``by="source"``) it never saw.

    Args:
        data: Labelled comments from at least two files (or data sets).
        by: ``file`` or ``source`` (a data set: the folder its files are in).
        grid: Candidate hyperparameters (``"views": False`` in a candidate: no views).
        augment: Share of genuine comments copied with an artefact (see ``train_model``).
        random_state: Seed of every random step.
        progress: Called with one-line progress messages.

    Returns:
        The pooled held-out probabilities and metrics, and per-fold metrics.

    Raises:
        DataError: Fewer than two files (or data sets).
    """
    groups, names = (
        (data.source_groups, data.source_names) if by == "source" else (data.groups, data.sources)
    )
    held = np.unique(groups)
    if len(held) < 2:
        raise DataError(f"leave-one-{by}-out needs at least two {by}s of data")
    y = data.labels
    proba = np.zeros(len(y))
    agree = np.ones(len(y), dtype=bool)
    publish_below = np.zeros(len(y))
    spam_above = np.zeros(len(y))
    folds: list[dict[str, Any]] = []
    for held_out in held:
        train = np.flatnonzero(groups != held_out)
        test = np.flatnonzero(groups == held_out)
        name = names[int(held_out)]
        progress(f"fold {name}: training on {len(train)} comments")
        result = train_model(
            data.subset(train),
            grid=grid,
            augment=augment,
            random_state=random_state,
            progress=progress,
        )
        assessment = result.model().assess([data.comments[i] for i in test])
        proba[test] = assessment.probability
        agree[test] = assessment.views_agree
        publish_below[test] = result.thresholds.publish_below
        spam_above[test] = result.thresholds.spam_above
        fold = compute_metrics(
            y[test],
            proba[test],
            result.thresholds.publish_below,
            result.thresholds.spam_above,
            views_agree=agree[test],
        )
        fold.update(held_out=name, params=result.params)
        folds.append(fold)
        progress(f"fold {name}: F1 {fold['at_0.5']['f1']:.4f}, ROC AUC {fold['roc_auc'] or 0:.4f}")
    metrics = compute_metrics(y, proba, publish_below, spam_above, views_agree=agree)
    metrics["protocol"] = f"nested leave-one-{by}-out (selection inside the training {by}s)"
    return NestedResult(y, proba, publish_below, spam_above, folds, metrics, agree)
