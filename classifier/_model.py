"""The calibrated, incrementally updatable classifier and the loaded-model facade."""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold
from sklearn.pipeline import Pipeline

from classifier._features import CommentInput, build_features, to_records

__all__ = [
    "CalibratedSGDClassifier",
    "SpamModel",
    "Thresholds",
    "build_pipeline",
    "cv_splits",
    "fingerprint",
]

logger = logging.getLogger(__name__)

Array = npt.NDArray[Any]


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

    Args:
        loss: SGD loss (``hinge`` or ``log_loss``).
        alpha: L2 regularisation strength.
        max_iter: Epochs over the training data.
        random_state: Seed of the shuffling.
    """

    def __init__(
        self,
        loss: str = "hinge",
        alpha: float = 1e-4,
        max_iter: int = 50,
        random_state: int = 0,
    ) -> None:
        self.loss = loss
        self.alpha = alpha
        self.max_iter = max_iter
        self.random_state = random_state

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
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[1]
        return self

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
    )
    return Pipeline([*features.steps, ("classifier", classifier)])


def fingerprint(pipeline: Pipeline) -> str:
    """A short digest of the learnt numbers and parameters, used in model versions.

    Args:
        pipeline: A fitted pipeline from :func:`build_pipeline`.

    Returns:
        Twelve hex digits.
    """
    clf: CalibratedSGDClassifier = pipeline.named_steps["classifier"]
    digest = hashlib.sha256(repr(sorted(pipeline.get_params(deep=True).items())).encode())
    for part in (
        clf.estimator_.coef_,
        clf.estimator_.intercept_,
        np.array([clf.calibration_slope_, clf.calibration_intercept_]),
    ):
        digest.update(np.ascontiguousarray(part, dtype=np.float64).tobytes())
    return digest.hexdigest()[:12]


class SpamModel:
    """A loaded model: the fitted pipeline, its model card and its thresholds.

    Args:
        pipeline: The fitted pipeline (``normalise``, ``features``, ``classifier``).
        card: The model card (see :mod:`classifier._persistence`).
    """

    def __init__(self, pipeline: Pipeline, card: dict[str, Any]) -> None:
        self.pipeline = pipeline
        self.card = card
        self._classifier: CalibratedSGDClassifier = pipeline.named_steps["classifier"]
        self._scorer = _LinearScorer(pipeline)

    @property
    def version(self) -> str:
        """The model version from the card."""
        return str(self.card["model_version"])

    @property
    def thresholds(self) -> Thresholds:
        """The recommended thresholds from the card."""
        raw = self.card["thresholds"]
        return Thresholds(
            publish_below=float(raw["publish_below"]), spam_above=float(raw["spam_above"])
        )

    def __repr__(self) -> str:
        return f"SpamModel(version={self.version!r})"

    @property
    def feature_space(self) -> str:
        """Digest of the feature steps' parameters: vectors from equal spaces are comparable.

        Stored feature vectors (a site's labelled history, the reference set) are tied to
        the space that made them; a model with other hashing parameters cannot use them.
        """
        params = Pipeline(self.pipeline.steps[:-1]).get_params(deep=True)
        described = sorted((k, repr(v)) for k, v in params.items() if "__" in k)
        return hashlib.sha256(repr(described).encode()).hexdigest()[:12]

    def features(self, comments: Sequence[CommentInput]) -> Any:
        """The hashed feature vectors of comments (a CSR matrix, one row per comment).

        They hold numbers only (hashed n-gram weights and fixed signals), never text.
        """
        return Pipeline(self.pipeline.steps[:-1]).transform(to_records(comments)).tocsr()

    def predict_proba(self, comments: Sequence[CommentInput]) -> npt.NDArray[np.float64]:
        """Spam probability of each comment.

        Args:
            comments: The comments to score.

        Returns:
            Array of shape ``(n,)`` with calibrated spam probabilities.
        """
        if not comments:
            return np.zeros(0, dtype=np.float64)
        return self._classifier.calibrate(self._scorer.decision(to_records(comments)))

    def updated(
        self,
        comments: Sequence[CommentInput],
        labels: Sequence[int] | Array,
        *,
        sample_weight: Sequence[float] | Array | None = None,
        epochs: int = 1,
    ) -> SpamModel:
        """A new model that has also learnt from newly labelled comments.

        The linear model continues training (``partial_fit``) on the new examples; the
        calibration and thresholds are kept. The loaded model is not changed.

        Args:
            comments: The newly labelled comments (e.g. moderator decisions).
            labels: 1 for spam, 0 for ham, one per comment.
            sample_weight: Optional weight per comment.
            epochs: Passes over the new examples.

        Returns:
            The updated model, with a new version and the update recorded in its card.

        Raises:
            ValueError: Lengths differ, a label is not 0/1, or there is nothing to learn.
        """
        y = np.asarray(labels, dtype=np.int64)
        if len(comments) == 0 or len(comments) != len(y):
            raise ValueError("updated() needs as many labels as comments, and at least one")
        if not np.isin(y, (0, 1)).all():
            raise ValueError("labels must be 0 (ham) or 1 (spam)")
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if weights is not None and len(weights) != len(y):
            raise ValueError("updated() needs one sample weight per comment")
        pipeline = copy.deepcopy(self.pipeline)
        features = Pipeline(pipeline.steps[:-1]).transform(to_records(comments))
        for _ in range(max(1, epochs)):
            pipeline.named_steps["classifier"].partial_fit(features, y, sample_weight=weights)
        new = SpamModel(pipeline, {})
        card = copy.deepcopy(self.card)
        previous = self.version
        card["model_version"] = f"{previous.split('+')[0]}+u{fingerprint(pipeline)}"
        card.setdefault("updates", []).append(
            {
                "from_version": previous,
                "examples": len(y),
                "spam": int(y.sum()),
                "ham": int(len(y) - y.sum()),
                "epochs": max(1, epochs),
            }
        )
        new.card = card
        logger.info("updated model %s -> %s with %s examples", previous, new.version, len(y))
        return new


class _LinearScorer:
    """The pipeline's decision function without scikit-learn's per-call overhead.

    The model is linear, so the decision value is the sum over feature blocks of
    ``weight * (block @ coef[block slice])`` plus the intercept; this skips the column
    transformer's stacking and input validation, which dominate the cost of scoring one
    comment. Results equal ``pipeline.decision_function`` (checked by the tests).
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self._normaliser = pipeline.named_steps["normalise"]
        columns: ColumnTransformer = pipeline.named_steps["features"]
        estimator = pipeline.named_steps["classifier"].estimator_
        self._coef = np.ascontiguousarray(estimator.coef_.ravel(), dtype=np.float64)
        self._intercept = float(estimator.intercept_[0])
        weights = columns.transformer_weights or {}
        empty = self._normaliser.transform(to_records([CommentInput("")]))
        self._blocks: list[tuple[Any, Any, float, slice]] = []
        offset = 0
        for name, transformer, column in columns.transformers_:
            if name == "remainder" or transformer == "drop":
                continue
            width = int(transformer.transform(empty[:, column]).shape[1])
            part = slice(offset, offset + width)
            self._blocks.append((transformer, column, float(weights.get(name, 1.0)), part))
            offset += width
        if offset != self._coef.size:
            raise ValueError(f"feature width {offset} differs from the model's {self._coef.size}")

    def decision(self, records: npt.NDArray[np.object_]) -> npt.NDArray[np.float64]:
        """Decision values of raw records (see :func:`~classifier._features.to_records`)."""
        columns = self._normaliser.transform(records)
        total = np.full(records.shape[0], self._intercept)
        with config_context(skip_parameter_validation=True, assume_finite=True):
            for transformer, column, weight, part in self._blocks:
                values = columns[:, column]
                if not any(values):
                    continue  # an empty block (e.g. no author fields) adds nothing
                block = transformer.transform(values)
                total += weight * np.asarray(block @ self._coef[part]).ravel()
        return total
