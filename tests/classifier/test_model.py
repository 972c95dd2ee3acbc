from __future__ import annotations

import numpy as np
import pytest

from classifier import (
    DEFAULT_MODEL_PATH,
    CommentInput,
    SpamModel,
    Thresholds,
    load_model,
)
from classifier._evaluation import choose_thresholds, compute_metrics
from classifier._features import to_records

from .conftest import synthetic

PROBES = [
    CommentInput("check out my channel www.promo-deals.com please subscribe!!!"),
    CommentInput("i love the chorus in this video"),
    CommentInput("FREE gift cards at bit.ly/x1"),
    CommentInput("who is still listening in 2024?", author_name="Anna"),
]


@pytest.fixture(scope="module")
def default_model() -> SpamModel:
    return load_model()


def test_public_surface(default_model: SpamModel) -> None:
    assert DEFAULT_MODEL_PATH.name == "model.skops"
    assert default_model.version.startswith("cg-")
    assert default_model.card["model_version"] == default_model.version
    cuts = default_model.thresholds
    assert isinstance(cuts, Thresholds)
    assert 0.0 < cuts.publish_below <= cuts.spam_above < 1.0


def test_predict_proba_shape_and_order(default_model: SpamModel) -> None:
    proba = default_model.predict_proba(PROBES)
    assert proba.shape == (4,)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert proba[0] > 0.5 > proba[1]
    assert proba[2] > proba[3]
    singles = [default_model.predict_proba([c])[0] for c in PROBES]
    np.testing.assert_allclose(proba, singles)
    assert default_model.predict_proba([]).shape == (0,)


def test_fast_path_equals_pipeline(default_model: SpamModel) -> None:
    comments, _ = synthetic(60, seed=3)
    comments.append(CommentInput("", author_url="http://x.com", author_email="a@b.org"))
    slow = default_model.pipeline.predict_proba(to_records(comments))[:, 1]
    np.testing.assert_allclose(default_model.predict_proba(comments), slow, rtol=1e-12)


def test_trailing_bom_does_not_change_the_score(default_model: SpamModel) -> None:
    texts = [c.text for c in PROBES] + ["nice song", "subscribe to my channel"]
    plain = default_model.predict_proba([CommentInput(t) for t in texts])
    bom = default_model.predict_proba([CommentInput(t + "\ufeff") for t in texts])
    np.testing.assert_array_equal(plain, bom)


def test_homoglyphs_and_zero_width_do_not_evade(default_model: SpamModel) -> None:
    plain = default_model.predict_proba([CommentInput("subscribe to my channel")])
    disguised = default_model.predict_proba(
        [CommentInput("\u0455ub\u0455cr\u0456b\u0435 to m\u0443\u200b ch\u0430nnel")]
    )
    np.testing.assert_array_equal(plain, disguised)


def test_updated_learns_without_mutating(model: SpamModel) -> None:
    target = CommentInput("i love the chorus, visit my profile for a prize")
    before = model.predict_proba([target])[0]
    version = model.version
    newer = model.updated([target] * 3, [1, 1, 1], epochs=3)
    assert model.predict_proba([target])[0] == before
    assert model.version == version
    assert newer.version != version
    assert newer.version.startswith(version.split("+")[0])
    assert newer.predict_proba([target])[0] > before
    assert newer.card["updates"][-1]["examples"] == 3
    ham = newer.updated([target], [0], sample_weight=[5.0], epochs=3)
    assert ham.predict_proba([target])[0] < newer.predict_proba([target])[0]


@pytest.mark.parametrize(("labels", "weights"), [([1, 0], None), ([2], None), ([1], [1.0, 2.0])])
def test_updated_rejects_bad_input(
    model: SpamModel, labels: list[int], weights: list[float] | None
) -> None:
    with pytest.raises(ValueError, match=r"label|weight"):
        model.updated([CommentInput("x")], labels, sample_weight=weights)


def test_training_is_deterministic(model: SpamModel, model_path: object) -> None:
    from classifier._data import LabelledData
    from classifier._model import fingerprint
    from classifier._training import train_model

    comments, labels = synthetic(240)
    data = LabelledData(comments, np.asarray(labels), np.zeros(240, dtype=np.int64), ["s"])
    result = train_model(data, grid=({"loss": "hinge", "alpha": 1e-4},))
    assert model.version == f"cg-{fingerprint(result.pipeline)}"


def test_calibration_on_synthetic_holdout(model: SpamModel) -> None:
    comments, labels = synthetic(200, seed=9)
    proba = model.predict_proba(comments)
    y = np.asarray(labels)
    assert proba[y == 1].mean() > 0.8
    assert proba[y == 0].mean() < 0.2


def test_choose_thresholds_respects_the_budgets() -> None:
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(500, int), np.ones(500, int)]
    proba = np.clip(np.r_[rng.beta(2, 8, 500), rng.beta(8, 2, 500)], 0, 1)
    cuts = choose_thresholds(y, proba)
    assert (proba[y == 0] >= cuts.spam_above).mean() <= 0.01
    assert (proba[y == 1] < cuts.publish_below).mean() <= 0.02
    assert cuts.publish_below <= cuts.spam_above
    metrics = compute_metrics(y, proba, cuts.publish_below, cuts.spam_above)
    assert 0 < metrics["policy"]["band_share"] < 1
    assert metrics["at_spam_above"]["ham_fpr"] <= 0.01
