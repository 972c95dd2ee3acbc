"""Where models and their cards lie: importable without scikit-learn."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DEFAULT_MODEL_PATH", "card_path"]

#: The model shipped with the package.
DEFAULT_MODEL_PATH: Path = Path(__file__).resolve().parent / "default_model" / "model.skops"


def card_path(model_path: str | Path) -> Path:
    """The model card path of a model file: ``NAME.skops`` -> ``NAME_card.json``."""
    path = Path(model_path)
    return path.with_name(f"{path.stem}_card.json")
