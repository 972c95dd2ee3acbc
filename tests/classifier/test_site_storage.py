"""A site's model costs its layer: it shares the base in memory and is stored alone."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from classifier import (
    CommentInput,
    SpamModel,
    dump_model_bytes,
    load_model,
    load_model_bytes,
    save_model,
)
from classifier._site_layer import sparse_dot
from classifier._site_learning import train_site_model
from classifier.exceptions import IncompatibleModelError, ModelLoadError
from tests.classifier.conftest import legacy_site_bytes, synthetic
from tests.classifier.test_site_layer import site_comments


def site_model(base: SpamModel) -> SpamModel:
    comments, labels = site_comments(60, seed=11)
    features = base.features(comments)
    return train_site_model(base, features, labels, np.ones(len(labels)), site="blog").model


def probe() -> list[CommentInput]:
    comments, _ = site_comments(30, seed=12)
    more, _ = synthetic(30, seed=13)
    return [
        *comments,
        *more,
        CommentInput("x", author_name="Ann", author_url="https://a.example/"),
        CommentInput(""),
    ]


def dense_scores(base: SpamModel, site: SpamModel, comments: list[CommentInput]) -> np.ndarray:
    """The site's probability as the earlier layout computed it: a dense head vector."""
    layer = site.layer
    assert layer is not None
    head = np.asarray(base.features(comments) @ layer.head_coef()) + layer.head_intercept_
    return layer.combine(base.assess(comments).base_probability, head)


def test_a_site_model_shares_its_base_and_scores_as_the_dense_layout(model: SpamModel) -> None:
    site = site_model(model)
    assert site.shares_base_with(model)
    assert site.layer is not None
    assert len(site.layer.head_indices_) < model.n_features / 20  # only what the site used
    comments = probe()
    expected = dense_scores(model, site, comments)
    assessed = site.assess(comments)
    np.testing.assert_allclose(assessed.probability, expected, rtol=0, atol=1e-12)
    features = site.assess_features(model.features(comments))
    np.testing.assert_allclose(features.probability, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(features.views_agree, assessed.views_agree)
    np.testing.assert_array_equal(assessed.base_probability, model.assess(comments).probability)


def test_the_sparse_product_equals_the_dense_one_to_the_bit() -> None:
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    matrix = sp.random(40, 1000, density=0.05, format="csr", random_state=1)
    indices = np.sort(rng.choice(1000, 60, replace=False))
    values = rng.normal(size=60)
    dense = np.zeros(1000)
    dense[indices] = values
    np.testing.assert_array_equal(sparse_dot(matrix, indices, values, 1000), matrix @ dense)
    empty = sparse_dot(matrix, indices[:0], values[:0], 1000)
    np.testing.assert_array_equal(empty, np.zeros(40))


def test_a_site_model_is_stored_as_its_layer_and_loads_onto_its_base(model: SpamModel) -> None:
    site = site_model(model)
    data, card = dump_model_bytes(site)
    base_data, _ = dump_model_bytes(model)
    assert len(data) * 4 < len(base_data)  # no copy of the base in a site's model
    assert card["site_layer"]["base_fingerprint"] == model.base_fingerprint
    assert card["model_version"] == site.version
    loaded = load_model_bytes(data, card, base=model)
    assert loaded.shares_base_with(model)
    assert loaded.version == site.version
    comments = probe()
    np.testing.assert_array_equal(loaded.predict_proba(comments), site.predict_proba(comments))
    with pytest.raises(ModelLoadError, match="onto its base model"):
        load_model_bytes(data, card)
    other = model.updated([CommentInput("cheap pills at x.example")], [1])
    with pytest.raises(IncompatibleModelError, match="trained on the base model"):
        load_model_bytes(data, card, base=other)


def test_a_site_model_file_loads_onto_its_base(model: SpamModel, tmp_path: Path) -> None:
    site = site_model(model)
    save_model(site, tmp_path / "blog.skops")
    loaded = load_model(tmp_path / "blog.skops", base=model)
    assert loaded.shares_base_with(model)
    comments = probe()
    np.testing.assert_array_equal(loaded.predict_proba(comments), site.predict_proba(comments))


def test_a_site_model_stored_before_still_loads_and_shares_its_base(model: SpamModel) -> None:
    """Production Redis holds site models with a copy of the base: they load as before."""
    site = site_model(model)
    comments = probe()
    expected = site.predict_proba(comments)
    data, card = legacy_site_bytes(site)
    alone = load_model_bytes(data, card)  # without its base: on the archived copy
    assert not alone.shares_base_with(model)
    np.testing.assert_allclose(alone.predict_proba(comments), expected, rtol=0, atol=1e-12)
    shared = load_model_bytes(data, card, base=model)  # the copy is checked, then dropped
    assert shared.shares_base_with(model)
    np.testing.assert_array_equal(shared.predict_proba(comments), expected)
    np.testing.assert_allclose(
        shared.predict_proba(comments), dense_scores(model, site, comments), rtol=0, atol=1e-12
    )


def test_a_site_model_stored_before_on_another_base_keeps_its_own_copy(
    model: SpamModel,
) -> None:
    site = site_model(model)
    other = copy.deepcopy(model)
    other.pipeline.named_steps["classifier"].estimator_.coef_[0, 0] += 1.0
    data, card = legacy_site_bytes(site)
    loaded = load_model_bytes(data, card, base=SpamModel(other.pipeline, other.card))
    assert loaded.layer is not None
    assert loaded.pipeline is not other.pipeline
    comments = probe()
    np.testing.assert_allclose(
        loaded.predict_proba(comments), site.predict_proba(comments), rtol=0, atol=1e-12
    )
