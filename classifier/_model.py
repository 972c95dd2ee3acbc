"""The calibrated, incrementally updatable linear classifier and its views."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold
from sklearn.pipeline import Pipeline

from classifier._features import STAT_NAMES, build_features

__all__ = [
    "VIEWS",
    "CalibratedSGDClassifier",
    "Thresholds",
    "build_pipeline",
    "cv_splits",
    "feature_views",
    "fingerprint",
]

logger = logging.getLogger(__name__)

Array = npt.NDArray[Any]

#: Feature blocks that get a head of their own (see :class:`CalibratedSGDClassifier`).
VIEWS = ("words", "chars")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The decision policy's cut points on the spam probability.

    Attributes:
        publish_below: Below this probability a comment is published.
        spam_above: At or above this probability a comment is filed as spam; in between
            it goes to the moderators.
    """

    publish_below: float
    spam_above: float


def cv_splits(
    y: Array, groups: Array | None, random_state: int
) -> list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]]:
    """Cross-validation splits: one file out when there are several, else stratified 5-fold.

    Args:
        y: Labels.
        groups: File of origin per example, or ``None``.
        random_state: Seed of the stratified shuffle.

    Returns:
        (train indices, test indices) pairs.
    """
    dummy = np.zeros(len(y))
    if groups is not None and len(np.unique(groups)) >= 2:
        return list(LeaveOneGroupOut().split(dummy, y, groups))
    n_splits = int(max(2, min(5, np.bincount(y, minlength=2).min())))
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    return list(folds.split(dummy, y))


class CalibratedSGDClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A linear SGD classifier with Platt calibration, updatable with ``partial_fit``.

    ``fit`` learns the calibration (a sigmoid of the decision value) on out-of-fold
    decision values, one file out when ``groups`` are given, so that probabilities are
    honest on pages the model has not seen; then it fits the linear model on all data.
    ``partial_fit`` continues training the linear model on new labelled examples and keeps
    the calibration.

    With ``views``, ``fit`` also learns one calibrated head per view: the same model
    restricted to one block of features (say only the word n-grams, or only the
    character n-grams). The views are the model's second opinions: a comment unlike the
    training data tends to trip one shortcut (digits, a link) that the other views do
    not share, so the decision files as spam only when every view agrees (see
    :meth:`SpamModel.assess`).

    Args:
        loss: SGD loss (``hinge`` or ``log_loss``).
        alpha: L2 regularisation strength.
        max_iter: Epochs over the training data.
        random_state: Seed of the shuffling.
        views: ``(name, start, stop)`` column ranges, one head each (empty: none).
    """

    def __init__(
        self,
        loss: str = "hinge",
        alpha: float = 1e-4,
        max_iter: int = 50,
        random_state: int = 0,
        views: tuple[tuple[str, int, int], ...] = (),
    ) -> None:
        self.loss = loss
        self.alpha = alpha
        self.max_iter = max_iter
        self.random_state = random_state
        self.views = views

    def _plain(self) -> CalibratedSGDClassifier:
        return CalibratedSGDClassifier(
            loss=self.loss, alpha=self.alpha, max_iter=self.max_iter, random_state=self.random_state
        )

    def _base(self) -> SGDClassifier:
        return SGDClassifier(
            loss=self.loss,
            alpha=self.alpha,
            max_iter=self.max_iter,
            tol=None,
            random_state=self.random_state,
        )

    def out_of_fold_decision(
        self,
        X: Any,  # noqa: N803
        y: Array,
        groups: Array | None = None,
        sample_weight: Array | None = None,
    ) -> npt.NDArray[np.float64]:
        """Decision values of each example from a model that did not train on it.

        Args:
            X: Feature matrix.  # noqa: N803
            y: Labels (0/1).
            groups: File of origin per example, or ``None`` for stratified folds.
            sample_weight: Optional per-example weights.

        Returns:
            One decision value per example.
        """
        y = np.asarray(y)
        out = np.zeros(len(y), dtype=np.float64)
        for train, test in cv_splits(y, groups, self.random_state):
            weights = None if sample_weight is None else sample_weight[train]
            base = self._base().fit(X[train], y[train], sample_weight=weights)
            out[test] = base.decision_function(X[test])
        return out

    def fit(
        self,
        X: Any,  # noqa: N803
        y: Array,
        sample_weight: Array | None = None,
        groups: Array | None = None,
    ) -> CalibratedSGDClassifier:
        """Learn the calibration out of fold, then the linear model on all data.

        Args:
            X: Feature matrix.  # noqa: N803
            y: Labels (0/1).
            sample_weight: Optional per-example weights.
            groups: File of origin per example (calibration one file out), or ``None``.

        Returns:
            ``self``.
        """
        y = np.asarray(y, dtype=np.int64)
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        oof = self.out_of_fold_decision(X, y, groups, weights)
        self.fit_calibration(oof, y)
        self.estimator_ = self._base().fit(X, y, sample_weight=weights)
        self.view_heads_ = tuple(
            (name, start, stop, self._plain().fit(X[:, start:stop], y, weights, groups))
            for name, start, stop in self.views
        )
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[1]
        return self

    def view_out_of_fold(
        self,
        X: Any,  # noqa: N803
        y: Array,
        groups: Array | None = None,
        sample_weight: Array | None = None,
    ) -> dict[str, npt.NDArray[np.float64]]:
        """Each view's calibrated out-of-fold probabilities (for its threshold).

        Args:
            X: Feature matrix.  # noqa: N803
            y: Labels (0/1).
            groups: File of origin per example, or ``None`` for stratified folds.
            sample_weight: Optional per-example weights.

        Returns:
            View name -> probability per example, from heads that did not see it.
        """
        out = {}
        for name, start, stop in self.views:
            head = self._plain()
            part = X[:, start:stop]
            decision = head.out_of_fold_decision(part, y, groups, sample_weight)
            head.fit_calibration(decision, np.asarray(y))
            out[name] = head.calibrate(decision)
        return out

    def fit_calibration(self, decision: Array, y: Array) -> None:
        """Fit the Platt sigmoid ``p = 1 / (1 + exp(-(a * d + b)))`` to decision values.

        Args:
            decision: Out-of-fold decision values.
            y: Labels (0/1).
        """
        platt = LogisticRegression(C=1e4, max_iter=1000).fit(decision.reshape(-1, 1), y)
        self.calibration_slope_ = float(platt.coef_[0, 0])
        self.calibration_intercept_ = float(platt.intercept_[0])

    def partial_fit(
        self,
        X: Any,  # noqa: N803
        y: Array,
        sample_weight: Array | None = None,
    ) -> CalibratedSGDClassifier:
        """Continue training the linear model on new labelled examples (one epoch).

        Args:
            X: Feature matrix of the new examples.  # noqa: N803
            y: Their labels (0/1).
            sample_weight: Optional per-example weights.

        Returns:
            ``self``.
        """
        self.estimator_.partial_fit(X, np.asarray(y), sample_weight=sample_weight)
        return self

    def decision_function(self, X: Any) -> npt.NDArray[np.float64]:  # noqa: N803
        """Uncalibrated decision values (positive leans spam)."""
        decision: npt.NDArray[np.float64] = self.estimator_.decision_function(X)
        return decision

    def calibrate(self, decision: Array) -> npt.NDArray[np.float64]:
        """Map decision values to calibrated spam probabilities."""
        logits = self.calibration_slope_ * np.asarray(decision) + self.calibration_intercept_
        proba: npt.NDArray[np.float64] = expit(logits)
        return proba

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:  # noqa: N803
        """Calibrated probabilities, columns (ham, spam)."""
        spam = self.calibrate(self.decision_function(X))
        return np.column_stack([1.0 - spam, spam])

    def predict(self, X: Any) -> npt.NDArray[np.int64]:  # noqa: N803
        """1 where the calibrated spam probability is at least 0.5."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)


def build_pipeline(params: dict[str, Any] | None = None, random_state: int = 0) -> Pipeline:
    """The full model: ``normalise`` -> ``features`` -> ``classifier``.

    Args:
        params: ``use_author_name``, ``loss`` and ``alpha`` (defaults when absent).
        random_state: Seed of the classifier.

    Returns:
        An unfitted pipeline.
    """
    params = params or {}
    features = build_features(use_author_name=bool(params.get("use_author_name", False)))
    classifier = CalibratedSGDClassifier(
        loss=str(params.get("loss", "hinge")),
        alpha=float(params.get("alpha", 1e-4)),
        random_state=random_state,
        views=feature_views(features) if params.get("views", True) else (),
    )
    return Pipeline([*features.steps, ("classifier", classifier)])


def feature_views(features: Pipeline) -> tuple[tuple[str, int, int], ...]:
    """The column ranges of the word and character n-gram blocks (the model's views).

    Args:
        features: The feature pipeline from :func:`build_features` (unfitted is fine).

    Returns:
        ``(name, start, stop)`` per view, in column order.
    """
    columns: ColumnTransformer = features.named_steps["features"]
    offset, ranges = 0, {}
    for name, transformer, _ in columns.transformers:
        width = len(STAT_NAMES) if name == "stats" else int(transformer.n_features)
        ranges[name] = (offset, offset + width)
        offset += width
    return tuple((name, *ranges[name]) for name in VIEWS)


def fingerprint(pipeline: Pipeline) -> str:
    """A short digest of the learnt numbers and parameters, used in model versions.

    Args:
        pipeline: A fitted pipeline from :func:`build_pipeline`.

    Returns:
        Twelve hex digits.
    """
    clf: CalibratedSGDClassifier = pipeline.named_steps["classifier"]
    digest = hashlib.sha256(repr(sorted(pipeline.get_params(deep=True).items())).encode())
    heads = [clf, *(head for *_, head in getattr(clf, "view_heads_", ()))]
    for head in heads:
        for part in (
            head.estimator_.coef_,
            head.estimator_.intercept_,
            np.array([head.calibration_slope_, head.calibration_intercept_]),
        ):
            digest.update(np.ascontiguousarray(part, dtype=np.float64).tobytes())
    return digest.hexdigest()[:12]
