"""The reference set shipped beside a model: labelled feature vectors, never text.

A learning update is judged on it: a site's layer that makes the model worse on the
reference set is refused, whoever labelled what (see ``workers/learning.py``). It is a
stratified sample of the training data (the same number of spam and ham from each data
set), stored as the model's hashed feature vectors (numbers only) in
``NAME_reference.npz`` beside ``NAME.skops``, loaded without pickle, its SHA-256 in the
model card.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from classifier._data import LabelledData
from classifier._spam_model import SpamModel
from classifier.exceptions import ModelLoadError

__all__ = ["Reference", "build_reference", "load_reference", "reference_path", "save_reference"]

#: Examples of each (data set, label) cell.
PER_CELL = 250


@dataclass(frozen=True)
class Reference:
    """Labelled feature vectors to judge model updates on.

    Attributes:
        features: CSR matrix, one row per example (the base model's feature space).
        labels: 1 spam, 0 ham.
        sources: Per example, the index of its data set in ``source_names``.
        source_names: The data sets.
        feature_space: The base model's :attr:`~classifier.SpamModel.feature_space`.
        base_probability: Per example, the base model's out-of-fold spam probability
            (from a model that did not train on it: the reference examples are part of
            the training data, so the base model's own scores of them would flatter it).
    """

    features: Any
    labels: npt.NDArray[np.int64]
    sources: npt.NDArray[np.int64]
    source_names: list[str]
    feature_space: str
    base_probability: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.labels.size)


def reference_path(model_path: str | Path) -> Path:
    """``NAME.skops`` -> ``NAME_reference.npz``."""
    path = Path(model_path)
    return path.with_name(f"{path.stem}_reference.npz")


def build_reference(
    model: SpamModel,
    data: LabelledData,
    base_probability: npt.NDArray[np.float64],
    *,
    per_cell: int = PER_CELL,
    random_state: int = 0,
) -> Reference:
    """Sample the reference set from the training data.

    Args:
        model: The trained base model (its features).
        data: Its training data.
        base_probability: Per training comment, its out-of-fold spam probability.
        per_cell: Examples per (data set, label).
        random_state: Seed of the sample.

    Returns:
        The reference set.
    """
    rng = np.random.default_rng(random_state)
    sources = data.source_groups
    chosen: list[int] = []
    for source in np.unique(sources):
        for label in (0, 1):
            cell = np.flatnonzero((sources == source) & (data.labels == label))
            take = min(per_cell, len(cell))
            chosen.extend(int(i) for i in rng.choice(cell, take, replace=False))
    rows = np.sort(np.asarray(chosen, dtype=np.intp))
    return Reference(
        features=model.features([data.comments[i] for i in rows]),
        labels=data.labels[rows].astype(np.int64),
        sources=sources[rows].astype(np.int64),
        source_names=data.source_names,
        feature_space=model.feature_space,
        base_probability=np.asarray(base_probability, dtype=np.float64)[rows],
    )


def save_reference(reference: Reference, model_path: str | Path) -> dict[str, Any]:
    """Write the reference set beside the model; returns its entry for the model card."""
    matrix = sp.csr_matrix(reference.features)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        data=matrix.data.astype(np.float32),
        indices=matrix.indices.astype(np.int32),
        indptr=matrix.indptr.astype(np.int64),
        shape=np.asarray(matrix.shape, dtype=np.int64),
        labels=reference.labels,
        sources=reference.sources,
        base_probability=reference.base_probability,
    )
    payload = buffer.getvalue()
    path = reference_path(model_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return {
        "file": path.name,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "examples": len(reference),
        "spam": int(reference.labels.sum()),
        "sources": reference.source_names,
        "feature_space": reference.feature_space,
        "what": "hashed feature vectors and labels of a stratified training sample; no text",
    }


def load_reference(model_path: str | Path, card: dict[str, Any]) -> Reference | None:
    """The reference set of a model file, checked against its card (``None``: none shipped).

    Raises:
        ModelLoadError: The file does not match the card's SHA-256 or is not a reference set.
    """
    entry = card.get("reference_set")
    if not entry:
        return None
    path = Path(model_path).with_name(str(entry["file"]))
    try:
        payload = path.read_bytes()
    except OSError as exc:
        raise ModelLoadError(f"{path}: cannot read the reference set ({exc.strerror})") from None
    if hashlib.sha256(payload).hexdigest() != entry["sha256"]:
        raise ModelLoadError(f"{path}: refused, it does not match the SHA-256 in the model card")
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as arrays:
            shape = tuple(int(n) for n in arrays["shape"])
            features = sp.csr_matrix(
                (arrays["data"].astype(np.float64), arrays["indices"], arrays["indptr"]),
                shape=shape,
            )
            labels = arrays["labels"].astype(np.int64)
            sources = arrays["sources"].astype(np.int64)
            base_probability = arrays["base_probability"].astype(np.float64)
    except (KeyError, ValueError, OSError) as exc:
        raise ModelLoadError(f"{path}: not a reference set ({type(exc).__name__})") from None
    return Reference(
        features=features,
        labels=labels,
        sources=sources,
        source_names=list(entry.get("sources", [])),
        feature_space=str(entry.get("feature_space", "")),
        base_probability=base_probability,
    )
