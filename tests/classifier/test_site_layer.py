"""Sources, counterfactual copies, views, the reference set and a site's layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifier import CommentInput, SiteLayer, dump_model_bytes, load_model, load_model_bytes
from classifier._augment import augmented_ham
from classifier._data import LabelledData
from classifier._reference import build_reference, load_reference, save_reference
from classifier._site_learning import (
    contradicting_labellers,
    judge_site_model,
    train_site_model,
)
from classifier._training import cv_groups, source_weights
from classifier.exceptions import ModelLoadError
from tests.classifier.conftest import synthetic

# A "site" unlike the synthetic training comments: cooking-blog readers against a
# cleaning-service campaign, written for these tests.
SITE_HAM = (
    "I baked the {x} loaf yesterday and the crust came out perfect",
    "Could I use {x} flour instead, or does it change the rise?",
    "My oven runs hot, so I lowered it for the {x} and it worked",
    "Thank you, the {x} tip saved my dinner party",
)
SITE_SPAM = (
    "Professional {x} cleaning crews available today, book your visit online",
    "Affordable {x} carpet cleaning, our crews arrive within the hour",
    "Need {x} cleaning? Trusted crews, book online for a discount",
)
WORDS = ("rye", "spelt", "sourdough", "barley", "oat", "walnut", "kitchen", "office")


def site_comments(n: int, seed: int) -> tuple[list[CommentInput], np.ndarray]:
    rng = np.random.default_rng(seed)
    comments, labels = [], []
    for i in range(n):
        spam = i % 2 == 1
        template = str(rng.choice(SITE_SPAM if spam else SITE_HAM))
        comments.append(CommentInput(template.format(x=str(rng.choice(WORDS)))))
        labels.append(int(spam))
    return comments, np.asarray(labels)


def two_sources() -> LabelledData:
    comments, labels = synthetic(60, seed=3)
    more, more_labels = site_comments(20, seed=4)
    return LabelledData(
        comments=comments + more,
        labels=np.asarray(labels + more_labels.tolist()),
        groups=np.asarray([0] * 30 + [1] * 30 + [2] * 20),
        sources=["a.jsonl", "b.jsonl", "c.jsonl"],
        formats=["jsonl"] * 3,
        datasets=["music", "music", "cooking"],
    )


def test_every_source_weighs_the_same() -> None:
    data = two_sources()
    weights = source_weights(data)
    music = data.source_groups == 0
    assert weights[music].sum() == pytest.approx(weights[~music].sum())
    assert weights.mean() == pytest.approx(1.0)


def test_folds_split_files_of_a_source_and_parts_of_a_single_file() -> None:
    data = two_sources()
    groups = cv_groups(data)
    music = data.source_groups == 0
    assert len(np.unique(groups[music])) == 2  # one per file
    assert len(np.unique(groups[~music])) >= 2  # the single file in stratified parts
    assert not set(groups[music]) & set(groups[~music])


def test_counterfactual_copies_are_genuine_comments_with_one_artefact() -> None:
    comments, labels = synthetic(40, seed=5)
    rows, copies = augmented_ham(comments, np.asarray(labels), share=0.5, random_state=1)
    assert len(copies) == 10
    assert all(labels[i] == 0 for i in rows)
    for row, copy in zip(rows, copies, strict=True):
        assert comments[row].text in copy.text
        assert copy.text != comments[row].text
    again = augmented_ham(comments, np.asarray(labels), share=0.5, random_state=1)[1]
    assert [c.text for c in again] == [c.text for c in copies]  # seeded


def test_views_gate_the_spam_verdict(model: object) -> None:
    from classifier import SpamModel

    assert isinstance(model, SpamModel)
    assessment = model.assess([CommentInput("win a free phone today at bit.ly/a1b2 !!!")])
    assert assessment.probability.shape == (1,)
    assert set(model.card["thresholds"]["views"]) == {"words", "chars"}
    assert assessment.views_agree.dtype == bool


def test_the_reference_set_round_trips_and_refuses_a_changed_file(
    model: object, tmp_path: Path
) -> None:
    from classifier import SpamModel

    assert isinstance(model, SpamModel)
    data = two_sources()
    reference = build_reference(model, data, np.full(len(data), 0.5), per_cell=5)
    assert len(reference) == 20  # 5 of each label from each source
    entry = save_reference(reference, tmp_path / "m.skops")
    loaded = load_reference(tmp_path / "m.skops", {"reference_set": entry})
    assert loaded is not None
    assert (loaded.features != reference.features).nnz == 0 or np.allclose(
        loaded.features.toarray(), reference.features.toarray(), atol=1e-6
    )
    np.testing.assert_array_equal(loaded.labels, reference.labels)
    path = tmp_path / entry["file"]
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ModelLoadError, match="SHA-256"):
        load_reference(tmp_path / "m.skops", {"reference_set": entry})


def test_a_site_layer_learns_the_site_and_round_trips(model: object) -> None:
    from classifier import SpamModel

    assert isinstance(model, SpamModel)
    comments, labels = site_comments(40, seed=6)
    features = model.features(comments)
    training = train_site_model(model, features, labels, np.ones(len(labels)), site="blog")
    site = training.model
    assert site.version.startswith(model.version.split("+")[0] + "+s")
    assert site.card["site_layer"]["site"] == "blog"
    test, test_labels = site_comments(40, seed=7)
    from sklearn.metrics import roc_auc_score

    after = roc_auc_score(test_labels, site.predict_proba(test))
    assert after > 0.95
    data, card = dump_model_bytes(site)
    loaded = load_model_bytes(data, card, base=model)  # the layer alone, onto its base
    assert isinstance(loaded.layer, SiteLayer)
    assert loaded.shares_base_with(model)
    np.testing.assert_allclose(loaded.predict_proba(test), site.predict_proba(test))
    verdict = judge_site_model(model, training, reference=None, max_drop=0.05)
    assert verdict.promote, verdict.refusals


def test_inverted_site_labels_contradict_the_base(model: object) -> None:
    from classifier import SpamModel

    assert isinstance(model, SpamModel)
    comments, labels = synthetic(60, seed=8)  # the base knows these well
    features = model.features(comments)
    inverted = 1 - np.asarray(labels)
    training = train_site_model(model, features, inverted, np.ones(60), site="blog")
    verdict = judge_site_model(model, training, reference=None, max_drop=0.05)
    assert "contradicts_base" in verdict.refusals
    assert not verdict.promote


def test_one_contradicting_labeller_is_found_among_honest_ones(model: object) -> None:
    from classifier import SpamModel

    assert isinstance(model, SpamModel)
    comments, labels = site_comments(90, seed=9)
    features = model.features(comments)
    who = ["ann"] * 30 + ["bo"] * 30 + ["eve"] * 30
    given = labels.copy()
    given[60:] = 1 - given[60:]
    set_aside, agreement = contradicting_labellers(model, features, given, who, np.ones(90))
    assert set_aside == ["eve"]
    assert agreement["eve"] < 0.5 <= min(agreement["ann"], agreement["bo"])


def test_the_shipped_model_has_views_and_a_reference_set() -> None:
    shipped = load_model()
    assert set(shipped.card["thresholds"]["views"]) == {"words", "chars"}
    from classifier import DEFAULT_MODEL_PATH

    reference = load_reference(DEFAULT_MODEL_PATH, shipped.card)
    assert reference is not None
    assert reference.feature_space == shipped.feature_space
    assert len(reference) == 1000


def test_a_sites_thresholds_move_from_the_bases_as_labels_accumulate() -> None:
    from classifier import Thresholds
    from classifier._site_learning import THRESHOLD_PRIOR, shrunk_thresholds

    site, base = Thresholds(0.3, 0.6), Thresholds(0.1, 0.9)
    few = shrunk_thresholds(site, base, np.asarray([0] * 5 + [1] * 5))
    half = shrunk_thresholds(site, base, np.asarray([0, 1] * THRESHOLD_PRIOR))
    many = shrunk_thresholds(site, base, np.asarray([0, 1] * 5000))
    assert few.spam_above > half.spam_above > many.spam_above >= site.spam_above
    assert half.spam_above == pytest.approx(0.75, abs=1e-4)
    assert half.publish_below == pytest.approx(0.2, abs=1e-4)
    assert many.publish_below == pytest.approx(0.3, abs=5e-3)
