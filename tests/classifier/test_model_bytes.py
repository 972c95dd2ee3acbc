"""Models as bytes (kept in Redis): the same checks as files."""

from __future__ import annotations

import hashlib
import pickle
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
from classifier.exceptions import IncompatibleModelError, ModelLoadError, UntrustedModelError

PROBES = [CommentInput("free gift at bit.ly/x"), CommentInput("lovely song")]


def test_round_trip_equals_the_file(model: SpamModel, tmp_path: Path) -> None:
    newer = model.updated([CommentInput("buy followers at x.com")], [1])
    data, card = dump_model_bytes(newer, {"note": "from redis"})
    assert card["sha256"] == hashlib.sha256(data).hexdigest()
    assert card["size_bytes"] == len(data)
    assert card["note"] == "from redis"
    loaded = load_model_bytes(data, card)
    assert loaded.version == newer.version
    np.testing.assert_array_equal(loaded.predict_proba(PROBES), newer.predict_proba(PROBES))
    path = tmp_path / "m.skops"
    save_model(newer, path)
    assert load_model(path).version == newer.version


def test_refusals(model: SpamModel) -> None:
    data, card = dump_model_bytes(model)
    with pytest.raises(UntrustedModelError, match="pickle"):
        load_model_bytes(pickle.dumps(model.pipeline), card)
    changed = bytearray(data)
    changed[-100] ^= 1
    with pytest.raises(UntrustedModelError, match="SHA-256"):
        load_model_bytes(bytes(changed), card)
    other = card | {"libraries": {**card["libraries"], "scikit-learn": "0.1"}}
    with pytest.raises(IncompatibleModelError, match=r"scikit-learn 0\.1"):
        load_model_bytes(data, other)
    with pytest.raises(ModelLoadError, match="lacks"):
        load_model_bytes(data, {"model_version": "x"})
    with pytest.raises(UntrustedModelError, match="redis:v1"):
        load_model_bytes(b"not a model", card, source="redis:v1")
