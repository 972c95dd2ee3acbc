from __future__ import annotations

import numpy as np
import pytest

from classifier import CommentInput
from classifier._features import (
    AUTHOR,
    STAT_NAMES,
    TEXT,
    WORDS,
    CommentNormaliser,
    CommentStats,
    author_text,
    build_features,
    comment_stats,
    to_records,
)


def stats(text: str) -> dict[str, float]:
    return dict(zip(STAT_NAMES, comment_stats(text), strict=True))


def test_comment_input_is_frozen() -> None:
    comment = CommentInput("hi")
    with pytest.raises(AttributeError):
        comment.text = "x"  # type: ignore[misc]


def test_link_and_contact_signals() -> None:
    s = stats("go bit.ly/a and bit.ly/b and example.com, mail x@y.com, call +44 7911 123456")
    assert s["log_links"] == pytest.approx(np.log1p(3))
    assert s["log_distinct_domains"] == pytest.approx(np.log1p(2))
    assert s["log_shortener_links"] == pytest.approx(np.log1p(2))
    assert s["log_emails"] == pytest.approx(np.log1p(1))
    assert s["log_phones"] == pytest.approx(np.log1p(1))
    assert s["has_link"] == 1.0


def test_case_and_repetition_signals() -> None:
    assert stats("ABC def")["upper_ratio"] == pytest.approx(0.5)
    assert stats("sooooo goood")["repeat_ratio"] > 0.4
    assert stats("")["log_length"] == 0.0


def test_author_tokens() -> None:
    tokens = author_text("Best Deals 24", "http://bit.ly/me", "bob@Mail.example.org").split()
    assert {"an_best", "an_deals", "an__digits", "au_bit_ly", "au__shortener"} <= set(tokens)
    assert "ae_mail_example_org" in tokens
    assert author_text("", "", "") == ""


def test_normaliser_columns() -> None:
    out = CommentNormaliser(use_author_name=False).fit_transform(
        to_records([CommentInput("\uff28i bit.ly/x", author_name="Bob", author_url="x.com")])
    )
    assert out.shape == (1, 3)
    assert out[0, TEXT] == "Hi bit.ly/x"
    assert "tok_shortener" in out[0, WORDS]
    assert "an_bob" not in out[0, AUTHOR]
    assert "au_x_com" in out[0, AUTHOR]


def test_features_are_stateless_and_named() -> None:
    features = build_features()
    assert [name for name, _ in features.steps] == ["normalise", "features"]
    names = [name for name, _, _ in features.named_steps["features"].transformers]
    assert names == ["words", "chars", "stats", "author"]
    records = to_records([CommentInput("hello there"), CommentInput("buy now at x.com")])
    a = features.fit_transform(records)
    b = build_features().fit(to_records([CommentInput("other")])).transform(records)
    assert (a != b).nnz == 0
    assert CommentStats().transform(["a", "b"]).shape == (2, len(STAT_NAMES))
