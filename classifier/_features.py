"""Feature extraction: comment records -> sparse matrix, as named scikit-learn steps.

Every step is stateless (hashing and fixed arithmetic), so a fitted pipeline stores no
vocabulary and no comment text, and new labelled examples can be learnt incrementally.

Pipeline layout (see :func:`build_features`)::

    normalise  CommentNormaliser      records -> object array of the columns below
    features   ColumnTransformer
        words      HashingVectorizer  word 1-2-grams (binary) of the text, links as markers
        chars      CharNgramHasher    character 3-5-grams (``char_wb``) of the text, equal
                                      to a ``HashingVectorizer`` but cached per word
        stats      CommentStats       link/domain/shortener/e-mail/phone counts, upper-case
                                      ratio, character repetition, length
        author     HashingVectorizer  author name tokens, author URL and e-mail domains
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.pipeline import Pipeline

from classifier._hashing import CharNgramHasher
from classifier._normalise import (
    EMAIL_RE,
    PHONE_RE,
    cannot_hold_phone,
    extract_links,
    normalise_text,
    word_text,
)

__all__ = [
    "AUTHOR",
    "STAT_NAMES",
    "TEXT",
    "WORDS",
    "CommentInput",
    "CommentNormaliser",
    "CommentStats",
    "author_text",
    "build_features",
    "comment_stats",
    "to_records",
]

#: Column indices of the array :class:`CommentNormaliser` produces.
TEXT, WORDS, AUTHOR = 0, 1, 2
_RAW_FIELDS = ("text", "author_name", "author_url", "author_email")
_REPEAT_RE = re.compile(r"(.)\1\1+")
_TOKEN_RE = re.compile(r"[^\W_]+")
# Exactly the ASCII characters for which str.isalpha / isupper / isdigit hold.
_ASCII_LETTERS = string.ascii_letters.encode("ascii")
_ASCII_UPPER = string.ascii_uppercase.encode("ascii")
_ASCII_DIGITS = string.digits.encode("ascii")

#: Names of the columns :class:`CommentStats` produces, in order.
STAT_NAMES: tuple[str, ...] = (
    "log_links",
    "log_distinct_domains",
    "log_shortener_links",
    "any_ip_link",
    "log_emails",
    "log_phones",
    "upper_ratio",
    "repeat_ratio",
    "log_length",
    "log_words",
    "digit_ratio",
    "has_link",
)


@dataclass(frozen=True, slots=True)
class CommentInput:
    """One comment to score.

    Attributes:
        text: The comment body.
        author_name: The display name the author typed, when known.
        author_url: The author's web site, when given.
        author_email: The author's e-mail address, when given.
    """

    text: str
    author_name: str | None = None
    author_url: str | None = None
    author_email: str | None = None


def to_records(comments: Iterable[CommentInput]) -> npt.NDArray[np.object_]:
    """Turn comments into the 2-D object array the pipeline consumes.

    Args:
        comments: The comments.

    Returns:
        Array of shape ``(n, 4)``: text, author name, author URL, author e-mail.
    """
    rows = [
        (c.text, c.author_name or "", c.author_url or "", c.author_email or "") for c in comments
    ]
    out = np.empty((len(rows), len(_RAW_FIELDS)), dtype=object)
    for i, row in enumerate(rows):
        out[i] = row
    return out


def author_text(name: str, url: str, email: str) -> str:
    """Tokens describing the author: name words, URL domain and e-mail domain.

    Args:
        name: Display name ("" when unknown).
        url: Author web site ("" when unknown).
        email: Author e-mail ("" when unknown).

    Returns:
        A space-separated token string (empty when nothing is known).
    """
    tokens: list[str] = []
    if name:
        norm = normalise_text(name).lower()
        tokens.extend("an_" + t for t in _TOKEN_RE.findall(norm))
        if any(ch.isdigit() for ch in norm):
            tokens.append("an__digits")
    if url:
        links = extract_links(normalise_text(url))
        if links:
            tokens.append("au_" + links[0].domain.replace(".", "_"))
            if links[0].is_shortener:
                tokens.append("au__shortener")
        tokens.append("au__given")
    if email and "@" in email:
        domain = normalise_text(email).rsplit("@", 1)[1].lower()
        tokens.extend(("ae_" + domain.replace(".", "_"), "ae__given"))
    return " ".join(tokens)


class CommentNormaliser(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Normalise raw comment records once for all feature branches.

    Input: object array ``(n, 4)`` from :func:`to_records`. Output: object array
    ``(n, 3)`` with the normalised text (:data:`TEXT`), the word-tokeniser text with link
    markers (:data:`WORDS`) and the author tokens (:data:`AUTHOR`).

    Args:
        use_author_name: Whether the author's display name becomes features.
    """

    def __init__(self, use_author_name: bool = True) -> None:
        self.use_author_name = use_author_name

    def fit(self, X: Any, y: Any = None) -> CommentNormaliser:  # noqa: N803
        """Do nothing (stateless); present for the scikit-learn API."""
        self.n_features_in_ = len(_RAW_FIELDS)
        return self

    def transform(self, X: Any) -> npt.NDArray[np.object_]:  # noqa: N803
        """Normalise each record.

        Args:
            X: Object array of shape ``(n, 4)``.  # noqa: N803

        Returns:
            Object array of shape ``(n, 3)``.
        """
        records = np.asarray(X, dtype=object)
        out = np.empty((records.shape[0], 3), dtype=object)
        for i, (text, name, url, email) in enumerate(records):
            norm = normalise_text(str(text))
            out[i, TEXT] = norm
            out[i, WORDS] = word_text(norm)
            out[i, AUTHOR] = author_text(
                str(name) if self.use_author_name else "", str(url), str(email)
            )
        return out


def comment_stats(normalised: str) -> list[float]:
    """Structured signals of one normalised comment, scaled to roughly [0, 3].

    Args:
        normalised: Output of :func:`normalise_text`.

    Returns:
        Values in the order of :data:`STAT_NAMES`.
    """
    links = extract_links(normalised)
    length = len(normalised)
    if normalised.isascii():  # most comments: count by deleting byte classes, in C
        raw = normalised.encode("ascii")
        letters = length - len(raw.translate(None, _ASCII_LETTERS))
        upper = length - len(raw.translate(None, _ASCII_UPPER))
        digits = length - len(raw.translate(None, _ASCII_DIGITS))
    else:
        letters = sum(map(str.isalpha, normalised))
        upper = sum(map(str.isupper, normalised))
        digits = sum(map(str.isdigit, normalised))
    repeated = length - len(_REPEAT_RE.sub("", normalised))  # total length of the runs
    emails = len(EMAIL_RE.findall(normalised)) if "@" in normalised else 0
    phones = 0 if cannot_hold_phone(normalised) else len(PHONE_RE.findall(normalised))
    return [
        math.log1p(len(links)),
        math.log1p(len({link.domain for link in links})),
        math.log1p(sum(link.is_shortener for link in links)),
        float(any(link.is_ip for link in links)),
        math.log1p(emails),
        math.log1p(phones),
        upper / letters if letters else 0.0,
        repeated / length if length else 0.0,
        math.log1p(length) / 3.0,
        math.log1p(len(normalised.split())) / 2.0,
        digits / length if length else 0.0,
        float(bool(links)),
    ]


class CommentStats(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Structured signals of normalised text (stateless; see :data:`STAT_NAMES`)."""

    def fit(self, X: Any, y: Any = None) -> CommentStats:  # noqa: N803
        """Do nothing (stateless); present for the scikit-learn API."""
        return self

    def transform(self, X: Sequence[str] | npt.NDArray[np.object_]) -> npt.NDArray[np.float64]:  # noqa: N803
        """Compute the signals.

        Args:
            X: Normalised texts, one per comment.  # noqa: N803

        Returns:
            Array of shape ``(n, len(STAT_NAMES))``.
        """
        return np.array([comment_stats(str(t)) for t in X], dtype=np.float64).reshape(
            -1, len(STAT_NAMES)
        )

    def get_feature_names_out(self, input_features: Any = None) -> npt.NDArray[np.object_]:
        """Names of the output columns."""
        return np.asarray(STAT_NAMES, dtype=object)


def build_features(
    *,
    word_bits: int = 18,
    char_bits: int = 18,
    char_ngrams: tuple[int, int] = (3, 5),
    use_author_name: bool = True,
    stats_weight: float = 1.0,
    author_weight: float = 1.0,
) -> Pipeline:
    """Build the feature pipeline (stateless: ``fit`` learns nothing).

    Args:
        word_bits: log2 of the word n-gram hash space.
        char_bits: log2 of the character n-gram hash space.
        char_ngrams: Character n-gram range.
        use_author_name: Whether the author display name becomes features.
        stats_weight: Weight of the structured-signal block.
        author_weight: Weight of the author block.

    Returns:
        A ``Pipeline`` with the steps ``normalise`` and ``features``.
    """
    words = HashingVectorizer(
        n_features=2**word_bits,
        ngram_range=(1, 2),
        token_pattern=r"(?u)\b\w+\b",  # noqa: S106
        binary=True,
        alternate_sign=False,
        norm="l2",
        dtype=np.float64,
    )
    chars = CharNgramHasher(n_features=2**char_bits, ngram_range=char_ngrams, norm="l2")
    author = HashingVectorizer(
        n_features=2**12,
        token_pattern=r"\S+",  # noqa: S106
        lowercase=False,
        alternate_sign=False,
        norm="l2",
        dtype=np.float64,
    )
    columns = ColumnTransformer(
        [
            ("words", words, WORDS),
            ("chars", chars, TEXT),
            ("stats", CommentStats(), TEXT),
            ("author", author, AUTHOR),
        ],
        transformer_weights={
            "words": 1.0,
            "chars": 1.0,
            "stats": stats_weight,
            "author": author_weight,
        },
        sparse_threshold=1.0,
    )
    return Pipeline(
        [("normalise", CommentNormaliser(use_author_name=use_author_name)), ("features", columns)]
    )
