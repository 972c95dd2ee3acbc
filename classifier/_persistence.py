"""Saving and loading models with skops (never pickle), and their JSON model cards.

A model ``NAME.skops`` has its card ``NAME_card.json`` beside it (so the default
``model.skops`` has ``model_card.json``). Loading checks, in order: the card exists and
names the installed scikit-learn version; the file's SHA-256 matches the card (a file
changed after saving is refused); the file is a skops archive (a pickle is refused); it
holds only allow-listed types. No code from the file runs before those checks pass.

A site's model is stored as its layer only (``{"site_layer": ..., "base_fingerprint":
...}``): it loads onto the base model it was trained on (``base=``), whose fingerprint
(:func:`classifier._model.fingerprint`) must match, and shares that base in memory.
Site models stored before (the base's pipeline and the layer in one archive) still
load; given their base, they share it too (the archived pipeline is checked to be the
same and then dropped).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import platform
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import scipy
import sklearn
import skops
import skops.io as sio
from sklearn.pipeline import Pipeline

from classifier._model import Thresholds, fingerprint
from classifier._paths import DEFAULT_MODEL_PATH, card_path
from classifier._site_layer import SiteLayer
from classifier._spam_model import SpamModel
from classifier.exceptions import IncompatibleModelError, ModelLoadError, UntrustedModelError

__all__ = [
    "DEFAULT_MODEL_PATH",
    "TRUSTED_TYPES",
    "build_card",
    "card_path",
    "dump_model_bytes",
    "load_model",
    "load_model_bytes",
    "save_model",
]

logger = logging.getLogger(__name__)

#: The model shipped with the package.

#: Types a model file may contain beyond skops' defaults: our own classes by full name
#: plus what ``skops.io.get_untrusted_types`` reports for the shipped model.
TRUSTED_TYPES: tuple[str, ...] = (
    "classifier._features.CommentNormaliser",
    "classifier._features.CommentStats",
    "classifier._hashing.CharNgramHasher",
    "classifier._model.CalibratedSGDClassifier",
    "classifier._site_layer.SiteLayer",
)

_PICKLE_PREFIXES = (b"\x80", b"(", b"c", b"]", b"}")
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

DATASET_CITATION = (
    'T. C. Alberto, J. V. Lochter, T. A. Almeida, "TubeSpam: Comment Spam Filtering on '
    'YouTube", Proc. 14th IEEE ICMLA, 2015. YouTube Spam Collection, UCI ML Repository '
    "(dataset 380), CC BY 4.0."
)


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on."""
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "skops": skops.__version__,
    }


def _deterministic_dumps(pipeline: Pipeline | dict[str, Any]) -> bytes:
    """Skops bytes with fixed zip timestamps and compression.

    Skops still records Python object ids in its schema, so two saves of equal models
    can differ in bytes; the model version (a fingerprint of the learnt numbers) is what
    identifies a model.
    """
    raw = sio.dumps(pipeline)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(raw)) as source,
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for name in sorted(source.namelist()):
            info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, source.read(name), compresslevel=9)
    return out.getvalue()


def build_card(
    pipeline: Pipeline,
    *,
    thresholds: Thresholds,
    metrics: dict[str, Any],
    data: dict[str, Any],
    params: dict[str, Any],
    reproduce: str,
    view_thresholds: dict[str, float] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble a model card.

    Args:
        pipeline: The fitted pipeline.
        thresholds: Recommended thresholds.
        metrics: Held-out metrics (including ``policy.band_share``).
        data: Training data reference (files, counts, citation).
        params: The chosen hyperparameters.
        reproduce: The command that reproduces the model.
        view_thresholds: Per view, its ``spam_above`` (see ``SpamModel.assess``).
        extra: More fields, merged last.

    Returns:
        The card as a JSON-serialisable dict (``sha256`` is filled in by :func:`save_model`).
    """
    card: dict[str, Any] = {
        "model_version": f"cg-{fingerprint(pipeline)}",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "task": "comment spam probability (calibrated)",
        "training_data": data,
        "hyperparameters": params,
        "libraries": library_versions(),
        "metrics": metrics,
        "thresholds": {
            "publish_below": thresholds.publish_below,
            "spam_above": thresholds.spam_above,
            "policy": "spam_above: at most 1% of ham filed as spam; publish_below: at most "
            "2% of spam published; in between goes to moderators; filing as spam also needs "
            "every view at or above its own spam_above (views)",
            "views": dict(view_thresholds or {}),
        },
        "band_share": metrics.get("policy", {}).get("band_share"),
        "reproduce": reproduce,
    }
    card.update(extra or {})
    return card


def dump_model_bytes(
    model: SpamModel, card_extra: dict[str, Any] | None = None
) -> tuple[bytes, dict[str, Any]]:
    """Serialise ``model`` to skops bytes and the card that vouches for them.

    The card gets the library versions, the SHA-256 and the size of the bytes, as
    :func:`load_model_bytes` expects.

    Args:
        model: The model to serialise (not changed).
        card_extra: Fields merged into the card before the checksums are added.

    Returns:
        The skops bytes and the model card.
    """
    stored: Pipeline | dict[str, Any] = model.pipeline
    card = dict(model.card)
    if model.layer is not None:  # a site's model: its layer, and which base it goes on
        base = model.base_fingerprint
        stored = {"site_layer": model.layer, "base_fingerprint": base}
        card["site_layer"] = {
            **card.get("site_layer", {}),
            "stored": "layer only: loads onto the base model of base_fingerprint",
            "base_fingerprint": base,
        }
    payload = _deterministic_dumps(stored)
    card.update(card_extra or {})
    card["libraries"] = library_versions()
    card["sha256"] = hashlib.sha256(payload).hexdigest()
    card["size_bytes"] = len(payload)
    return payload, card


def save_model(
    model: SpamModel, path: str | Path, card_extra: dict[str, Any] | None = None
) -> Path:
    """Write ``model`` as a skops file and its JSON model card beside it.

    Args:
        model: The model to save.
        path: Destination ``.skops`` file (parent folders are created).
        card_extra: Fields merged into the card before writing.

    Returns:
        The path of the written card.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload, card = dump_model_bytes(model, {**(card_extra or {}), "model_file": path.name})
    path.write_bytes(payload)
    target = card_path(path)
    target.write_text(json.dumps(card, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    model.card = card
    logger.info("saved model %s to %s (%s bytes)", card.get("model_version"), path, len(payload))
    return target


_REQUIRED_CARD_FIELDS = ("model_version", "thresholds", "libraries", "sha256")


def _check_card(card: Any, where: str) -> dict[str, Any]:
    if not isinstance(card, dict) or any(key not in card for key in _REQUIRED_CARD_FIELDS):
        raise ModelLoadError(f"{where}: model card lacks {', '.join(_REQUIRED_CARD_FIELDS)}")
    if not isinstance(card["libraries"], dict):
        raise ModelLoadError(f"{where}: model card lacks library versions")
    return card


def _read_card(path: Path) -> dict[str, Any]:
    target = card_path(path)
    if not target.is_file():
        raise ModelLoadError(f"{path}: model card {target.name} is missing beside the model")
    try:
        card = json.loads(target.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{target}: model card is not valid JSON ({exc})") from None
    return _check_card(card, str(target))


def _refuse_non_skops(payload: bytes, where: str) -> None:
    if not zipfile.is_zipfile(io.BytesIO(payload)):
        kind = "a pickle" if payload.startswith(_PICKLE_PREFIXES) else "not a skops archive"
        raise UntrustedModelError(f"{where}: refused, the file is {kind} (only skops files load)")


def _load_checked(
    payload: bytes, card: dict[str, Any], where: str, base: SpamModel | None
) -> SpamModel:
    """The checks every model passes, from a file or from bytes, before any of it runs."""
    made_with = str(card["libraries"].get("scikit-learn"))
    if made_with != sklearn.__version__:
        raise IncompatibleModelError(
            f"{where}: made with scikit-learn {made_with} but {sklearn.__version__} is "
            "installed; retrain it with `commentgate train` (see the card's reproduce command)"
        )
    if hashlib.sha256(payload).hexdigest() != card["sha256"]:
        raise UntrustedModelError(
            f"{where}: refused, the file does not match the SHA-256 in its model card "
            "(modified or corrupt)"
        )
    try:
        untrusted = set(sio.get_untrusted_types(data=payload)) - set(TRUSTED_TYPES)
        if untrusted:
            names = ", ".join(sorted(untrusted))[:200]
            raise UntrustedModelError(f"{where}: refused, the file holds untrusted types: {names}")
        loaded = sio.loads(payload, trusted=list(TRUSTED_TYPES))
    except UntrustedModelError:
        raise
    except Exception as exc:  # skops raises many kinds for damaged archives
        raise UntrustedModelError(
            f"{where}: refused, not a valid skops model ({type(exc).__name__})"
        ) from None
    if isinstance(loaded, dict):
        return _site_model(loaded, card, where, base)
    if not isinstance(loaded, Pipeline) or "classifier" not in loaded.named_steps:
        raise UntrustedModelError(f"{where}: refused, the file does not hold a commentgate model")
    return SpamModel(loaded, card)


def _site_model(
    loaded: dict[str, Any], card: dict[str, Any], where: str, base: SpamModel | None
) -> SpamModel:
    """A site's model from its archive: its layer on ``base`` (shared, never copied).

    A layer-only archive needs its base. An archive of the earlier layout (the base's
    pipeline beside the layer) loads onto ``base`` when its pipeline is that base's, and
    else on its own pipeline, as before.
    """
    layer = loaded.get("site_layer")
    if not isinstance(layer, SiteLayer):
        raise UntrustedModelError(f"{where}: refused, the file holds no valid site layer")
    pipeline = loaded.get("pipeline")
    if pipeline is not None:  # the earlier layout: a copy of the base in every site model
        if not isinstance(pipeline, Pipeline) or "classifier" not in pipeline.named_steps:
            raise UntrustedModelError(f"{where}: refused, the file holds no commentgate model")
        if base is not None and fingerprint(pipeline) == base.base_fingerprint:
            return base.with_layer(layer, card)
        return SpamModel(pipeline, card, layer)
    wanted = loaded.get("base_fingerprint")
    if base is None:
        raise ModelLoadError(
            f"{where}: a site model holds its layer only; load it onto its base model "
            f"(fingerprint {wanted})"
        )
    if wanted != base.base_fingerprint:
        raise IncompatibleModelError(
            f"{where}: the site layer was trained on the base model of fingerprint {wanted}, "
            f"not on {base.version} ({base.base_fingerprint})"
        )
    try:
        return base.with_layer(layer, card)
    except ValueError as exc:
        raise IncompatibleModelError(f"{where}: {exc}") from None


def load_model(path: str | Path | None = None, *, base: SpamModel | None = None) -> SpamModel:
    """Load a model and its card, refusing anything that is not a clean skops file.

    Args:
        path: The ``.skops`` file; ``None`` for :data:`DEFAULT_MODEL_PATH`.
        base: The base model a site model loads onto (a site model file holds only its
            layer; see the module docstring).

    Returns:
        The loaded model.

    Raises:
        ModelLoadError: The file or its card is missing or unreadable, or a site model
            has no ``base``.
        IncompatibleModelError: The model was made with another scikit-learn version, or
            a site model was trained on another base.
        UntrustedModelError: The file is a pickle, corrupt, modified, or holds other types.
    """
    path = Path(path) if path is not None else DEFAULT_MODEL_PATH
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file")
    payload = path.read_bytes()
    _refuse_non_skops(payload, str(path))
    model = _load_checked(payload, _read_card(path), str(path), base)
    logger.debug("loaded model %s from %s", model.version, path)
    return model


def load_model_bytes(
    data: bytes,
    card: dict[str, Any],
    *,
    source: str = "bytes",
    base: SpamModel | None = None,
) -> SpamModel:
    """Load a model from skops bytes and its card, with exactly the checks of :func:`load_model`.

    Args:
        data: The skops bytes (e.g. from :func:`dump_model_bytes`, kept in Redis).
        card: The model card that came with them (its SHA-256 must match ``data``).
        source: Where the bytes come from, for messages (e.g. ``redis:VERSION``).
        base: The base model a site model loads onto and shares (required for a site
            model stored as its layer only).

    Returns:
        The loaded model.

    Raises:
        ModelLoadError: The card lacks required fields, or a site model has no ``base``.
        IncompatibleModelError: The model was made with another scikit-learn version, or
            a site model was trained on another base.
        UntrustedModelError: The bytes are a pickle, corrupt, modified, or hold other types.
    """
    _refuse_non_skops(data, source)
    model = _load_checked(data, _check_card(card, source), source, base)
    logger.info("loaded model %s from %s", model.version, source)
    return model
