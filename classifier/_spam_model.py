"""The loaded model: base pipeline, optional site layer, card, and the fast scorer.

A site's model is its base model with a layer on top (:meth:`SpamModel.with_layer`): it
shares the base's pipeline and scorer (the dense coefficients of the base and its views)
and adds only the layer's sparse head, so a process holding many sites' models holds one
base.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn import config_context
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from classifier._features import CommentInput, to_records
from classifier._model import CalibratedSGDClassifier, Thresholds, fingerprint
from classifier._site_layer import SiteLayer, sparse_dot

__all__ = ["Assessment", "SpamModel"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the model says about a batch of comments.

    Attributes:
        probability: The spam probability the thresholds apply to (the site's, when the
            model has a site layer; else the base model's).
        base_probability: The shared base model's spam probability.
        views_agree: Whether every view of the base model (word n-grams alone,
            character n-grams alone) also finds the comment spam at its own threshold,
            and, for a site model, whether the base model itself does too. A comment the
            model is sure of but its views are not is unlike what the model was trained
            on; a site layer learnt from a few dozen labels may shift the site's spam
            cut but cannot file alone what the base finds genuine. Either goes to the
            moderators, never to the spam folder.
    """

    probability: npt.NDArray[np.float64]
    base_probability: npt.NDArray[np.float64]
    views_agree: npt.NDArray[np.bool_]


class SpamModel:
    """A loaded model: the base pipeline, an optional site layer, the card, the thresholds.

    Args:
        pipeline: The fitted base pipeline (``normalise``, ``features``, ``classifier``).
        card: The model card (see :mod:`classifier._persistence`).
        layer: What one site taught on top of the base (see :class:`SiteLayer`).
    """

    def __init__(
        self, pipeline: Pipeline, card: dict[str, Any], layer: SiteLayer | None = None
    ) -> None:
        self._setup(pipeline, card, layer, _LinearScorer(pipeline))

    def _setup(
        self,
        pipeline: Pipeline,
        card: dict[str, Any],
        layer: SiteLayer | None,
        scorer: _LinearScorer,
    ) -> None:
        self.pipeline = pipeline
        self.card = card
        self.layer = layer
        self._classifier: CalibratedSGDClassifier = pipeline.named_steps["classifier"]
        self._scorer = scorer
        self._head = None if layer is None else _SiteHead(layer, scorer)
        thresholds = card.get("thresholds", {})
        views = thresholds.get("views", {})
        self._view_cuts = np.asarray(
            [float(views.get(name, 0.0)) for name, *_ in self._scorer.view_heads]
        )
        base = thresholds.get("base", {}) if layer is not None else {}
        self._base_cut = float(base.get("spam_above", 0.0))

    @property
    def version(self) -> str:
        """The model version from the card."""
        return str(self.card["model_version"])

    @property
    def thresholds(self) -> Thresholds:
        """The recommended thresholds from the card (the site's, with a site layer)."""
        raw = self.card["thresholds"]
        return Thresholds(
            publish_below=float(raw["publish_below"]), spam_above=float(raw["spam_above"])
        )

    def __repr__(self) -> str:
        return f"SpamModel(version={self.version!r})"

    @functools.cached_property
    def feature_space(self) -> str:
        """Digest of the feature steps' parameters: vectors from equal spaces are comparable.

        Stored feature vectors (a site's labelled history, the reference set) are tied to
        the space that made them; a model with other hashing parameters cannot use them.
        """
        params = Pipeline(self.pipeline.steps[:-1]).get_params(deep=True)
        described = sorted((k, repr(v)) for k, v in params.items() if "__" in k)
        return hashlib.sha256(repr(described).encode()).hexdigest()[:12]

    @functools.cached_property
    def base_fingerprint(self) -> str:
        """Digest of the base pipeline's learnt numbers: what a site layer is stored against.

        A site model stores its layer only (:func:`classifier.dump_model_bytes`) and loads
        onto the base model whose fingerprint matches.
        """
        return fingerprint(self.pipeline)

    @property
    def n_features(self) -> int:
        """Width of the feature vectors."""
        return int(self._classifier.n_features_in_)

    def features(self, comments: Sequence[CommentInput]) -> Any:
        """The hashed feature vectors of comments (a CSR matrix, one row per comment).

        They hold numbers only (hashed n-gram weights and fixed signals), never text.
        """
        return Pipeline(self.pipeline.steps[:-1]).transform(to_records(comments)).tocsr()

    def predict_proba(self, comments: Sequence[CommentInput]) -> npt.NDArray[np.float64]:
        """Spam probability of each comment (the site's, with a site layer).

        Args:
            comments: The comments to score.

        Returns:
            Array of shape ``(n,)`` with calibrated spam probabilities.
        """
        return self.assess(comments).probability

    def assess(self, comments: Sequence[CommentInput]) -> Assessment:
        """Score comments: probability, base probability and whether the views agree.

        Args:
            comments: The comments to score.

        Returns:
            One value per comment in each field.
        """
        if not comments:
            empty = np.zeros(0, dtype=np.float64)
            return Assessment(empty, empty, np.zeros(0, dtype=bool))
        return self._assess_decisions(self._scorer.decisions(to_records(comments), self._head))

    def assess_features(self, features: Any) -> Assessment:
        """Like :meth:`assess`, from feature vectors (a site's history, the reference set)."""
        return self._assess_decisions(self._scorer.decisions_of_features(features, self._head))

    def _assess_decisions(self, decisions: npt.NDArray[np.float64]) -> Assessment:
        base = self._classifier.calibrate(decisions[:, 0])
        agree = np.ones(len(base), dtype=bool)
        for column, (*_, head) in enumerate(self._scorer.view_heads, start=1):
            agree &= head.calibrate(decisions[:, column]) >= self._view_cuts[column - 1]
        probability = base
        if self.layer is not None:
            probability = self.layer.combine(base, decisions[:, -1])
            agree &= base >= self._base_cut
        return Assessment(probability, base, agree)

    def with_layer(self, layer: SiteLayer, card: dict[str, Any]) -> SpamModel:
        """This base model with a site layer on top, described by ``card``.

        The site model shares this model's pipeline and scorer (nothing of the base is
        copied): it costs its layer's weights only.

        Raises:
            ValueError: The layer was fitted on another feature width.
        """
        site = SpamModel.__new__(SpamModel)
        site._setup(self.pipeline, card, layer, self._scorer)
        return site

    def shares_base_with(self, other: SpamModel) -> bool:
        """Whether both models score with the same base in memory (one pipeline, one scorer)."""
        return self.pipeline is other.pipeline and self._scorer is other._scorer

    def updated(
        self,
        comments: Sequence[CommentInput],
        labels: Sequence[int] | npt.NDArray[Any],
        *,
        sample_weight: Sequence[float] | npt.NDArray[Any] | None = None,
        epochs: int = 1,
    ) -> SpamModel:
        """A new model whose base has continued training on newly labelled comments.

        The linear model continues training (``partial_fit``) on the new examples; the
        calibration and thresholds are kept. The loaded model is not changed. This is the
        way the project learnt from moderators before site layers; the benchmarks keep it
        as the baseline a site layer is compared with.

        Args:
            comments: The newly labelled comments.
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
        new = SpamModel(pipeline, card)
        logger.info("updated model %s -> %s with %s examples", previous, new.version, len(y))
        return new


class _LinearScorer:
    """Every head's decision value in one pass, without scikit-learn's per-call overhead.

    The heads are linear, so each decision value is the sum over feature blocks of
    ``weight * (block @ coef[block slice])`` plus an intercept; the coefficients of the
    base and its views sit side by side in one dense matrix, so each block is multiplied
    once. A site's head (:class:`_SiteHead`) is added from its sparse weights on the
    same blocks, so one scorer serves the base and every site model on it. This skips
    the column transformer's stacking and input validation, which dominate the cost of
    scoring one comment. Column 0 equals ``pipeline.decision_function`` (checked by the
    tests).
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self._normaliser = pipeline.named_steps["normalise"]
        columns: ColumnTransformer = pipeline.named_steps["features"]
        classifier: CalibratedSGDClassifier = pipeline.named_steps["classifier"]
        self.width = int(classifier.estimator_.coef_.size)
        self.view_heads: tuple[tuple[str, int, int, CalibratedSGDClassifier], ...] = getattr(
            classifier, "view_heads_", ()
        )
        heads = 1 + len(self.view_heads)
        coef = np.zeros((self.width, heads), dtype=np.float64)
        intercept = np.zeros(heads, dtype=np.float64)
        coef[:, 0] = classifier.estimator_.coef_.ravel()
        intercept[0] = float(classifier.estimator_.intercept_[0])
        for column, (_, start, stop, head) in enumerate(self.view_heads, start=1):
            coef[start:stop, column] = head.estimator_.coef_.ravel()
            intercept[column] = float(head.estimator_.intercept_[0])
        self._coef, self._intercept = coef, intercept
        weights = columns.transformer_weights or {}
        empty = self._normaliser.transform(to_records([CommentInput("")]))
        self._blocks: list[tuple[Any, Any, float, slice]] = []
        offset = 0
        for name, transformer, column in columns.transformers_:
            if name == "remainder" or transformer == "drop":
                continue
            block_width = int(transformer.transform(empty[:, column]).shape[1])
            part = slice(offset, offset + block_width)
            self._blocks.append((transformer, column, float(weights.get(name, 1.0)), part))
            offset += block_width
        if offset != self.width:
            raise ValueError(f"feature width {offset} differs from the model's {self.width}")

    @property
    def parts(self) -> list[slice]:
        """Each feature block's columns, in order."""
        return [part for *_, part in self._blocks]

    def _start(self, rows: int, head: _SiteHead | None) -> npt.NDArray[np.float64]:
        """The intercepts, one row per comment (and the site head's last)."""
        if head is None:
            return np.tile(self._intercept, (rows, 1))
        return np.tile(np.append(self._intercept, head.intercept), (rows, 1))

    def decisions(
        self, records: npt.NDArray[np.object_], head: _SiteHead | None = None
    ) -> npt.NDArray[np.float64]:
        """Decision values of raw records, one column per head (base, views, site)."""
        columns = self._normaliser.transform(records)
        total = self._start(records.shape[0], head)
        shared = len(self._intercept)
        with config_context(skip_parameter_validation=True, assume_finite=True):
            for index, (transformer, column, weight, part) in enumerate(self._blocks):
                values = columns[:, column]
                if not any(values):
                    continue  # an empty block (e.g. no author fields) adds nothing
                block = transformer.transform(values)
                total[:, :shared] += weight * np.asarray(block @ self._coef[part])
                share = None if head is None else head.decision_of_block(index, block)
                if share is not None:
                    total[:, shared] += weight * share
        return total

    def decisions_of_features(
        self, features: Any, head: _SiteHead | None = None
    ) -> npt.NDArray[np.float64]:
        """Decision values of feature vectors (already weighted per block)."""
        total = self._start(features.shape[0], head)
        shared = len(self._intercept)
        total[:, :shared] += np.asarray(features @ self._coef)
        if head is not None:
            layer = head.layer
            total[:, shared] += sparse_dot(
                features, layer.head_indices_, layer.head_values_, self.width
            )
        return total


class _SiteHead:
    """Where a site layer's head weights fall in each of the scorer's feature blocks.

    Holds slices of the layer's own arrays (no copies) and their block's first column.

    Args:
        layer: The fitted site layer.
        scorer: The base model's scorer.

    Raises:
        ValueError: The layer was fitted on another feature width.
    """

    def __init__(self, layer: SiteLayer, scorer: _LinearScorer) -> None:
        if int(layer.n_features_in_) != scorer.width:
            raise ValueError(
                f"the site layer has {layer.n_features_in_} features, its base model {scorer.width}"
            )
        self.layer = layer
        self.intercept = float(layer.head_intercept_)
        self._parts: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], int, int]] = []
        for part in scorer.parts:
            low, high = np.searchsorted(layer.head_indices_, [part.start, part.stop])
            self._parts.append(
                (
                    layer.head_indices_[low:high],
                    layer.head_values_[low:high],
                    part.start,
                    part.stop - part.start,
                )
            )

    def decision_of_block(self, index: int, block: Any) -> npt.NDArray[np.float64] | None:
        """The head's share of the decision from one feature block (``None``: it has none)."""
        indices, values, start, width = self._parts[index]
        if not len(indices):
            return None
        return sparse_dot(block, indices - start, values, width)
