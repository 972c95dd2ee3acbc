from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import sklearn

from classifier import CommentInput, SpamModel, card_path, load_model, save_model
from classifier.exceptions import (
    IncompatibleModelError,
    ModelLoadError,
    UntrustedModelError,
)

PROBES = [CommentInput("free gift at bit.ly/x"), CommentInput("lovely song")]


def copy_model(src: Path, dst_dir: Path) -> Path:
    dst = dst_dir / "model.skops"
    shutil.copy(src, dst)
    shutil.copy(card_path(src), card_path(dst))
    return dst


def test_round_trip(model: SpamModel, tmp_path: Path) -> None:
    path = tmp_path / "nested" / "copy.skops"
    card_file = save_model(model, path, card_extra={"note": "round trip"})
    assert card_file == tmp_path / "nested" / "copy_card.json"
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(PROBES), model.predict_proba(PROBES))
    assert loaded.version == model.version
    assert loaded.thresholds == model.thresholds
    card = json.loads(card_file.read_text())
    assert card["note"] == "round trip"
    assert card["libraries"]["scikit-learn"] == sklearn.__version__
    for key in ("model_version", "created", "training_data", "metrics", "thresholds"):
        assert key in card


def test_saving_twice_keeps_the_version(model: SpamModel, tmp_path: Path) -> None:
    save_model(model, tmp_path / "a.skops")
    save_model(model, tmp_path / "b.skops")
    a = json.loads(card_path(tmp_path / "a.skops").read_text())
    b = json.loads(card_path(tmp_path / "b.skops").read_text())
    assert a["model_version"] == b["model_version"]


def test_updated_model_round_trip(model: SpamModel, tmp_path: Path) -> None:
    newer = model.updated([CommentInput("buy followers at x.com")], [1])
    save_model(newer, tmp_path / "m.skops")
    loaded = load_model(tmp_path / "m.skops")
    assert loaded.version == newer.version
    np.testing.assert_array_equal(loaded.predict_proba(PROBES), newer.predict_proba(PROBES))


def test_pickle_is_refused(model: SpamModel, tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    path.write_bytes(pickle.dumps(model.pipeline))
    with pytest.raises(UntrustedModelError, match="pickle"):
        load_model(path)


def test_tampered_file_is_refused(model_path: Path, tmp_path: Path) -> None:
    path = copy_model(model_path, tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(UntrustedModelError, match="SHA-256"):
        load_model(path)


def test_corrupt_archive_is_refused_even_with_matching_hash(
    model_path: Path, tmp_path: Path
) -> None:
    import hashlib
    import io
    import zipfile

    path = copy_model(model_path, tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", "{not json")
    path.write_bytes(buffer.getvalue())
    card = json.loads(card_path(path).read_text())
    card["sha256"] = hashlib.sha256(buffer.getvalue()).hexdigest()
    card_path(path).write_text(json.dumps(card))
    with pytest.raises(UntrustedModelError, match="not a valid skops model"):
        load_model(path)


def test_untrusted_types_are_refused(tmp_path: Path) -> None:
    import hashlib

    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    path = tmp_path / "model.skops"
    payload = sio.dumps(FunctionTransformer(func=shutil.rmtree))
    path.write_bytes(payload)
    card = {
        "model_version": "x",
        "thresholds": {"publish_below": 0.1, "spam_above": 0.9},
        "libraries": {"scikit-learn": sklearn.__version__},
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    card_path(path).write_text(json.dumps(card))
    with pytest.raises(UntrustedModelError, match="untrusted types"):
        load_model(path)


def test_other_sklearn_version_is_refused(model_path: Path, tmp_path: Path) -> None:
    path = copy_model(model_path, tmp_path)
    card = json.loads(card_path(path).read_text())
    card["libraries"]["scikit-learn"] = "0.24.2"
    card_path(path).write_text(json.dumps(card))
    with pytest.raises(IncompatibleModelError, match=r"0\.24\.2.*commentgate train"):
        load_model(path)


def test_missing_file_and_card(model_path: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no such model file"):
        load_model(tmp_path / "absent.skops")
    lonely = tmp_path / "lonely.skops"
    shutil.copy(model_path, lonely)
    with pytest.raises(ModelLoadError, match="model card"):
        load_model(lonely)


def test_default_model_card() -> None:
    model = load_model()
    card = model.card
    sources = {s["name"]: s for s in card["training_data"]["sources"]}
    assert set(sources) == {"youtube-spam-collection", "sms-spam-collection"}
    assert all(s["license"] == "CC BY 4.0" for s in sources.values())
    assert "Alberto" in sources["youtube-spam-collection"]["citation"]
    assert "Almeida" in sources["sms-spam-collection"]["citation"]
    assert set(card["thresholds"]["views"]) == {"words", "chars"}
    assert card["reference_set"]["examples"] == 1000
    assert "commentgate train" in card["reproduce"]
    assert 0 <= card["band_share"] <= 1
    assert card["metrics"]["roc_auc"] > 0.95
    assert card["size_bytes"] <= 10_000_000
