"""What one site teaches on top of the shared base model: a small head and a combiner.

The base model knows the sources it was trained on; a site's moderators know the site.
:class:`SiteLayer` learns from a site's labelled history (feature vectors, see
:meth:`classifier.SpamModel.features`) without touching the base:

* ``head``: a linear model on the same hashed features, trained on the site's labels
  only (strongly regularised: it learns the site's words, links and authors);
* ``combiner``: a two-input logistic regression on the base model's calibrated log-odds
  and the head's decision value, fitted on the head's *out-of-fold* decisions, so the
  weights say how far to trust each on this site, learnt from the site's own labels;
* thresholds for the site, chosen from the combined out-of-fold probabilities.

A combiner whose weight on the base is negative means the labels rank comments against
the base model: :attr:`SiteLayer.contradicts_base` lets the caller refuse such a layer.

A layer costs what the site taught it: the head, trained by SGD from zero with an L2
penalty (a scaling), has weights only on the features present in the site's labels, so
it keeps those (``head_indices_``, sorted, and ``head_values_``) and never a vector over
the whole hashed space but for the length of one product (:func:`sparse_dot`).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.special import expit, logit
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import StratifiedKFold

__all__ = ["MIN_LABELS_PER_CLASS", "SiteLayer", "base_log_odds", "sparse_dot"]

#: A site needs at least this many labels of each class before it gets a layer.
MIN_LABELS_PER_CLASS = 5
_EPS = 1e-6

Array = npt.NDArray[Any]


def base_log_odds(probability: Array) -> npt.NDArray[np.float64]:
    """The base model's calibrated log-odds, clipped so that 0 and 1 stay finite."""
    return np.asarray(logit(np.clip(probability, _EPS, 1 - _EPS)), dtype=np.float64)


def sparse_dot(X: Any, indices: Array, values: Array, width: int) -> npt.NDArray[np.float64]:  # noqa: N803
    """``X @ w`` for the weight vector ``w`` of ``width`` that is ``values`` at ``indices``.

    ``w`` is laid out for this one product and dropped after it (about 0.1 ms and 2 MB
    per 262,144 columns): a layer keeps its weights sparse between products. The product
    is scipy's own with the dense vector, so its sums are those of a layer that kept
    ``w``, to the bit.

    Args:
        X: Feature vectors (sparse or dense), ``width`` columns.
        indices: Column indices of the non-zero weights.
        values: The weights at ``indices``.
        width: The number of columns.

    Returns:
        One value per row of ``X``.
    """
    weights = np.zeros(width, dtype=np.float64)
    weights[indices] = values
    return np.asarray(X @ weights, dtype=np.float64).ravel()


class SiteLayer(BaseEstimator):  # type: ignore[misc]
    """A site's head and its combiner with the base model (see the module docstring).

    Args:
        alpha: L2 strength of the head (large: few labels must not overfit).
        folds: Most folds of the out-of-fold decisions the combiner learns from.
        random_state: Seed of the folds and of SGD.
    """

    def __init__(self, alpha: float = 1e-3, folds: int = 5, random_state: int = 0) -> None:
        self.alpha = alpha
        self.folds = folds
        self.random_state = random_state

    def _head(self) -> SGDClassifier:
        return SGDClassifier(
            loss="log_loss",
            alpha=self.alpha,
            max_iter=30,
            tol=None,
            random_state=self.random_state,
        )

    def fit(
        self,
        X: Any,  # noqa: N803
        y: Array,
        base_probability: Array,
        sample_weight: Array | None = None,
    ) -> SiteLayer:
        """Learn the head and the combiner from a site's labels (see :meth:`fit_oof`)."""
        self.fit_oof(X, y, base_probability, sample_weight)
        return self

    def fit_oof(
        self,
        X: Any,  # noqa: N803
        y: Array,
        base_probability: Array,
        sample_weight: Array | None = None,
    ) -> npt.NDArray[np.float64]:
        """Learn the head and the combiner; return the combined out-of-fold probabilities.

        Args:
            X: The site's labelled feature vectors (CSR).  # noqa: N803
            y: Labels (1 spam, 0 ham).
            base_probability: The base model's spam probability of each example.
            sample_weight: Per-example weight (the moderators' caps).

        Returns:
            Each example's site probability from a head that did not see it (what the
            site's thresholds are chosen from).

        Raises:
            ValueError: Fewer than :data:`MIN_LABELS_PER_CLASS` labels of a class.
        """
        y = np.asarray(y, dtype=np.int64)
        counts = np.bincount(y, minlength=2)
        if counts.min() < MIN_LABELS_PER_CLASS:
            raise ValueError(
                f"a site layer needs {MIN_LABELS_PER_CLASS} labels of each class "
                f"(has {counts[1]} spam, {counts[0]} ham)"
            )
        weights = (
            np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, np.float64)
        )
        X = sp.csr_matrix(X)  # noqa: N806
        base = base_log_odds(base_probability)
        oof = self._out_of_fold(X, y, weights)
        combiner = LogisticRegression(C=1.0, max_iter=1000)
        combiner.fit(np.column_stack([base, oof]), y, sample_weight=weights)
        head = self._head().fit(X, y, sample_weight=weights)
        coef = np.asarray(head.coef_, dtype=np.float64).ravel()
        self.head_indices_ = np.flatnonzero(coef).astype(np.int64)  # only what the site used
        self.head_values_ = coef[self.head_indices_]
        self.head_intercept_ = float(head.intercept_[0])
        self.combiner_coef_ = np.asarray(combiner.coef_[0], dtype=np.float64)
        self.combiner_intercept_ = float(combiner.intercept_[0])
        self.n_features_in_ = X.shape[1]
        self.n_labels_ = len(y)
        return self.combine(base_probability, oof)

    def _out_of_fold(
        self, features: Any, y: npt.NDArray[np.int64], weights: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        n_splits = int(max(2, min(self.folds, np.bincount(y, minlength=2).min())))
        folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
        out = np.zeros(len(y), dtype=np.float64)
        for train, test in folds.split(np.zeros(len(y)), y):
            head = self._head().fit(features[train], y[train], sample_weight=weights[train])
            out[test] = head.decision_function(features[test])
        return out

    @property
    def contradicts_base(self) -> bool:
        """Whether the site's labels rank comments against the base model."""
        return bool(self.combiner_coef_[0] < 0)

    def head_coef(self) -> npt.NDArray[np.float64]:
        """The head's weights over the whole feature space (zero where the site had none).

        A dense copy the size of the feature space: nothing keeps one.
        """
        coef = np.zeros(self.n_features_in_, dtype=np.float64)
        coef[self.head_indices_] = self.head_values_
        return coef

    def head_decision(self, X: Any) -> npt.NDArray[np.float64]:  # noqa: N803
        """The head's decision value of feature vectors (from its sparse weights)."""
        head = sparse_dot(X, self.head_indices_, self.head_values_, self.n_features_in_)
        return head + self.head_intercept_

    def combine(self, base_probability: Array, head_decision: Array) -> npt.NDArray[np.float64]:
        """The site's spam probability from the base probability and the head's decision."""
        a, b = self.combiner_coef_
        z = a * base_log_odds(base_probability) + b * np.asarray(head_decision)
        return np.asarray(expit(z + self.combiner_intercept_), dtype=np.float64)

    def predict_proba_features(
        self, features: Any, base_probability: Array
    ) -> npt.NDArray[np.float64]:
        """The site's spam probability of feature vectors whose base probability is known."""
        return self.combine(base_probability, self.head_decision(features))

    def fingerprint(self) -> str:
        """Twelve hex digits identifying the learnt numbers."""
        digest = hashlib.sha256()
        for part in (
            self.head_indices_,
            self.head_values_,
            np.array([self.head_intercept_, self.combiner_intercept_]),
            self.combiner_coef_,
        ):
            digest.update(np.ascontiguousarray(part).tobytes())
        return digest.hexdigest()[:12]
