"""Synthetic comments (written for the tests, no dataset text) and a small trained model."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest

from classifier import CommentInput, SpamModel, load_model, save_model
from classifier._data import LabelledData
from classifier._training import train_model

SPAM_TEMPLATES = (
    "check out my channel {url} please subscribe",
    "FREE gift cards!!! visit {url} now",
    "make money from home, click {url}",
    "subscribe to me and i will subscribe back {url}",
    "win a free phone today at {url} !!!",
    "please like and share my video {url}",
)
HAM_TEMPLATES = (
    "this song reminds me of {thing}",
    "i love the {thing} in this video",
    "who is still listening in {year}?",
    "the {thing} at the end is great",
    "my {thing} and i dance to this every day",
    "such a beautiful voice, best {thing} ever",
)
URLS = ("http://promo-deals.com/x", "bit.ly/a1b2", "www.cheap-stuff.net", "tinyurl.com/zz9")
THINGS = ("chorus", "summer", "guitar", "sister", "drums", "beat", "school days")


def synthetic(n: int, seed: int = 0) -> tuple[list[CommentInput], list[int]]:
    rng = random.Random(seed)
    comments, labels = [], []
    for i in range(n):
        spam = i % 2 == 0
        template = rng.choice(SPAM_TEMPLATES if spam else HAM_TEMPLATES)
        text = template.format(
            url=rng.choice(URLS), thing=rng.choice(THINGS), year=rng.randint(2010, 2024)
        )
        comments.append(CommentInput(text, author_name=f"user {rng.randint(1, 50)}"))
        labels.append(int(spam))
    return comments, labels


def write_jsonl(path: Path, comments: list[CommentInput], labels: list[int]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for comment, label in zip(comments, labels, strict=True):
            row = {"text": comment.text, "label": "spam" if label else "ham"}
            if comment.author_name:
                row["author_name"] = comment.author_name
            handle.write(json.dumps(row) + "\n")
    return path


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained on synthetic comments, saved with its card."""
    import numpy as np

    comments, labels = synthetic(240)
    data = LabelledData(
        comments=comments,
        labels=np.asarray(labels),
        groups=np.zeros(len(labels), dtype=np.int64),
        sources=["synthetic"],
        formats=["jsonl"],
    )
    result = train_model(data, grid=({"loss": "hinge", "alpha": 1e-4},))
    from classifier._persistence import build_card

    card = build_card(
        result.pipeline,
        thresholds=result.thresholds,
        metrics=result.metrics,
        data={"files": ["synthetic"]},
        params=result.params,
        reproduce="tests",
        view_thresholds=result.view_thresholds,
    )
    path = tmp_path_factory.mktemp("model") / "model.skops"
    save_model(SpamModel(result.pipeline, card), path)
    return path


@pytest.fixture
def model(model_path: Path) -> SpamModel:
    return load_model(model_path)


def legacy_site_bytes(model: SpamModel) -> tuple[bytes, dict[str, Any]]:
    """A site model as ``dump_model_bytes`` stored it before: base pipeline and layer.

    Production Redis holds site models in this layout; they must still load.
    """
    from classifier._persistence import _deterministic_dumps, library_versions

    payload = _deterministic_dumps({"pipeline": model.pipeline, "site_layer": model.layer})
    card = {**model.card, "libraries": library_versions()}
    card["sha256"] = hashlib.sha256(payload).hexdigest()
    card["size_bytes"] = len(payload)
    return payload, card
