"""Training a site's layer from its labelled history, and the guard that judges it.

Pure functions on feature vectors (no Redis): ``workers/learning.py`` reads the history
and the reference set, sets aside the labels of labellers who contradict everybody else
(:func:`contradicting_labellers`: their labels disagree with a layer trained on the other
moderators' and the imported history more often than they agree), calls
:func:`train_site_model` and :func:`judge_site_model`, and stores the result.

The guard never relies on the labels under test alone. A candidate is refused when:

* ``contradicts_base``: its combiner gives the base model a negative weight (the labels
  rank comments against what the base learnt from every source: inverted labels);
* ``reference``: on the reference set shipped with the base model (labelled feature
  vectors of its training sources) its ROC AUC falls by more than ``max_drop``, or its
  share of ham filed as spam rises by more than 1 point, against the base model alone;
* ``no_signal``: the layer cannot predict the site's own labels out of fold (ROC AUC
  below :data:`MIN_SITE_AUC`): the labels are noise to it, so it would only blur the
  base model's probabilities.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score

from classifier._evaluation import MAX_HAM_AS_SPAM, choose_thresholds
from classifier._model import Thresholds
from classifier._reference import Reference
from classifier._site_layer import MIN_LABELS_PER_CLASS, SiteLayer
from classifier._spam_model import SpamModel

__all__ = [
    "SiteTraining",
    "Verdict",
    "contradicting_labellers",
    "judge_site_model",
    "train_site_model",
]

#: A labeller is cross-checked once they gave at least this many labels.
MIN_LABELS_TO_CHECK = 10
#: A labeller whose labels agree with everybody else's layer less often than this
#: contradicts them.
MIN_AGREEMENT = 0.5
#: A layer whose out-of-fold ROC AUC on the site's own labels is below this learnt nothing.
MIN_SITE_AUC = 0.6
#: Labels of a class at which a site's cut weighs as much as the base's.
THRESHOLD_PRIOR = 50


@dataclass(frozen=True)
class SiteTraining:
    """A trained site model and what was learnt about it out of fold.

    Attributes:
        model: The base model with the site's layer, card and thresholds.
        oof_probability: Per labelled example, the site probability from a head that
            did not see it.
        labels: The labels.
    """

    model: SpamModel
    oof_probability: npt.NDArray[np.float64]
    labels: npt.NDArray[np.int64]


@dataclass
class Verdict:
    """The guard's judgement of a candidate site model.

    Attributes:
        promote: Whether the candidate may be used.
        refusals: Why not (empty when promoted).
        figures: What was measured (recorded in the model card).
    """

    promote: bool
    refusals: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


def _enough(labels: npt.NDArray[np.int64]) -> bool:
    return bool(np.bincount(labels, minlength=2).min() >= MIN_LABELS_PER_CLASS)


def train_site_model(
    base: SpamModel,
    features: Any,
    labels: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float64],
    *,
    site: str,
    card_extra: dict[str, Any] | None = None,
) -> SiteTraining:
    """Fit a site's layer on its labelled history and choose the site's thresholds.

    Args:
        base: The shared base model.
        features: The history's feature vectors (CSR, the base model's feature space).
        labels: 1 spam, 0 ham.
        weights: Per example (the labellers' caps).
        site: The site id (recorded in the card).
        card_extra: More card fields.

    Returns:
        The site model (version ``<base>+s<fingerprint>``) and its out-of-fold figures.

    Raises:
        ValueError: Too few labels of a class.
    """
    base_probability = base.assess_features(features).base_probability
    layer = SiteLayer()
    oof = layer.fit_oof(features, labels, base_probability, sample_weight=weights)
    thresholds = shrunk_thresholds(choose_thresholds(labels, oof), base.thresholds, labels)
    card = copy.deepcopy(base.card)
    card["model_version"] = f"{base.version.split('+')[0]}+s{layer.fingerprint()}"
    base_cuts = base.thresholds
    card["thresholds"] = {
        **base.card.get("thresholds", {}),
        "base": {"publish_below": base_cuts.publish_below, "spam_above": base_cuts.spam_above},
        "publish_below": thresholds.publish_below,
        "spam_above": thresholds.spam_above,
        "policy": "the site's own: chosen on its labels out of fold (at most 1% of its ham "
        f"filed as spam, at most 2% of its spam published), shrunk towards the base's by "
        f"{THRESHOLD_PRIOR} labels of each class; filing as spam also needs the base model "
        "at or above its own spam_above (base) and its views to agree",
    }
    card["site_layer"] = {
        "site": site,
        "base_version": base.version.split("+")[0],
        "labels": len(labels),
        "spam": int(labels.sum()),
        "combiner": {
            "base_log_odds": round(float(layer.combiner_coef_[0]), 5),
            "site_head": round(float(layer.combiner_coef_[1]), 5),
            "intercept": round(layer.combiner_intercept_, 5),
        },
        "out_of_fold_roc_auc": round(float(roc_auc_score(labels, oof)), 5),
        **(card_extra or {}),
    }
    card.pop("reference_set", None)  # the base's file: read through the base model's card
    return SiteTraining(base.with_layer(layer, card), oof, labels)


def shrunk_thresholds(
    site: Thresholds, base: Thresholds, labels: npt.NDArray[np.int64]
) -> Thresholds:
    """The site's thresholds, moved towards the base's while the site has few labels.

    A cut chosen to publish at most 2% of the spam is, with 30 spam labels, the lowest
    spam score seen: an optimistic estimate that publishes more spam on the rest of the
    site. Each cut is a weighted mean of the site's and the base's, the site's weighing
    ``n / (n + THRESHOLD_PRIOR)`` where ``n`` counts the labels of the class that cut is
    chosen on (ham for ``spam_above``, spam for ``publish_below``): half way at 50 labels.

    Args:
        site: The cuts chosen on the site's out-of-fold probabilities.
        base: The base model's cuts.
        labels: The site's labels.

    Returns:
        The site's thresholds (``publish_below <= spam_above``).
    """
    ham, spam = np.bincount(labels, minlength=2)
    w_ham, w_spam = ham / (ham + THRESHOLD_PRIOR), spam / (spam + THRESHOLD_PRIOR)
    spam_above = w_ham * site.spam_above + (1 - w_ham) * base.spam_above
    publish_below = w_spam * site.publish_below + (1 - w_spam) * base.publish_below
    spam_above = float(np.ceil(spam_above * 1e4) / 1e4)
    publish_below = float(np.floor(min(publish_below, spam_above) * 1e4) / 1e4)
    return Thresholds(publish_below=publish_below, spam_above=spam_above)


def _reference_figures(model: SpamModel, reference: Reference) -> dict[str, float]:
    """ROC AUC and ham filed as spam on the reference set, from the base's honest scores.

    The base probability of each reference example is its out-of-fold one (shipped with
    the set); a site layer combines it with its head's decision, exactly as it combines
    the base model's probability of a new comment.
    """
    assessment = model.assess_features(reference.features)
    probability = reference.base_probability
    if model.layer is not None:
        head = model.layer.head_decision(reference.features)
        probability = model.layer.combine(probability, head)
    filed = (probability >= model.thresholds.spam_above) & assessment.views_agree
    ham = reference.labels == 0
    return {
        "roc_auc": round(float(roc_auc_score(reference.labels, probability)), 5),
        "ham_filed_as_spam": round(float(filed[ham].mean()), 5),
    }


def _agreement(
    base_probability: npt.NDArray[np.float64],
    features: Any,
    labels: npt.NDArray[np.int64],
    names: npt.NDArray[np.object_],
    weights: npt.NDArray[np.float64],
    among: set[str],
) -> dict[str, float]:
    """Per labeller in ``among``, the share of their labels a layer of the others agrees with."""
    out: dict[str, float] = {}
    for name in sorted(among):
        mine = names == name
        others = np.isin(names, sorted(among - {name}))
        if mine.sum() < MIN_LABELS_TO_CHECK or not _enough(labels[others]):
            continue
        layer = SiteLayer().fit(
            features[others], labels[others], base_probability[others], weights[others]
        )
        predicted = layer.predict_proba_features(features[mine], base_probability[mine]) >= 0.5
        out[name] = round(float((predicted == (labels[mine] == 1)).mean()), 4)
    return out


def contradicting_labellers(
    base: SpamModel,
    features: Any,
    labels: npt.NDArray[np.int64],
    labellers: list[str],
    weights: npt.NDArray[np.float64],
) -> tuple[list[str], dict[str, float]]:
    """Labellers whose labels contradict everybody else's, found one at a time.

    Each labeller with enough labels is checked against a layer trained on the others'
    labels. The one who agrees least, if below :data:`MIN_AGREEMENT`, contradicts the
    others; they are set aside and the rest are checked again without them (so that one
    poisoner does not make the honest look contradictory to each other).

    Returns:
        The contradicting labellers, and the last agreement figure of each labeller.
    """
    names = np.asarray(labellers, dtype=object)
    base_probability = base.assess_features(features).base_probability
    among = set(labellers)
    contradicting: list[str] = []
    figures: dict[str, float] = {}
    while len(among) >= 2:
        agreement = _agreement(base_probability, features, labels, names, weights, among)
        figures.update(agreement)
        if not agreement:
            break
        worst = min(agreement, key=lambda name: agreement[name])
        if agreement[worst] >= MIN_AGREEMENT:
            break
        contradicting.append(worst)
        among.discard(worst)
    return contradicting, figures


def judge_site_model(
    base: SpamModel,
    training: SiteTraining,
    *,
    reference: Reference | None,
    max_drop: float,
) -> Verdict:
    """Decide whether a candidate site model may be used (see the module docstring).

    Args:
        base: The shared base model.
        training: The candidate from :func:`train_site_model`.
        reference: The base model's reference set (``None``: the check is skipped and
            said so in the figures).
        max_drop: Largest allowed fall of reference ROC AUC (ham filed as spam may rise by
            at most :data:`~classifier._evaluation.MAX_HAM_AS_SPAM`).

    Returns:
        The verdict with its figures.
    """
    layer = training.model.layer
    assert layer is not None
    verdict = Verdict(promote=True)
    verdict.figures["combiner_base_weight"] = round(float(layer.combiner_coef_[0]), 5)
    if layer.contradicts_base:
        verdict.refusals.append("contradicts_base")
    site_auc = float(roc_auc_score(training.labels, training.oof_probability))
    verdict.figures["site_out_of_fold_roc_auc"] = round(site_auc, 5)
    if site_auc < MIN_SITE_AUC:
        verdict.refusals.append("no_signal")
    if reference is None or reference.feature_space != base.feature_space:
        verdict.figures["reference"] = "none (the base model ships no usable reference set)"
    else:
        before = _reference_figures(base, reference)
        after = _reference_figures(training.model, reference)
        verdict.figures["reference"] = {"n": len(reference), "base": before, "candidate": after}
        if before["roc_auc"] - after["roc_auc"] > max_drop + 1e-9 or (
            after["ham_filed_as_spam"] - before["ham_filed_as_spam"] > MAX_HAM_AS_SPAM + 1e-9
        ):
            verdict.refusals.append("reference")
    verdict.promote = not verdict.refusals
    return verdict
