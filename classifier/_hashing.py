"""Character n-gram hashing with a per-process word cache.

:class:`CharNgramHasher` gives exactly the matrix of scikit-learn's
``HashingVectorizer(analyzer="char_wb", alternate_sign=False, dtype=np.float64)`` with
the same ``n_features``, ``ngram_range`` and ``norm`` (same indices, same float64 values
bit for bit), but faster: ``char_wb`` n-grams never cross a word boundary, so the
hashed columns of a document are the concatenation of the hashed columns of its words.
Those are computed once per distinct word and kept in a bounded, per-process cache
(:func:`word_columns`), so scoring mostly skips the Python n-gram loop and the
MurmurHash3 calls.

The cache is module state, never estimator state: a persisted model holds only the
parameters.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from itertools import repeat
from numbers import Integral
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn import get_config
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import normalize
from sklearn.utils import murmurhash3_32
from sklearn.utils.sparsefuncs_fast import (
    inplace_csr_row_normalize_l1,
    inplace_csr_row_normalize_l2,
)

__all__ = [
    "CACHE_MAX_WORD_CHARS",
    "CACHE_SIZE",
    "CharNgramHasher",
    "cache_info",
    "char_wb_ngrams",
    "clear_cache",
    "word_columns",
]

#: Most distinct words the cache remembers per process (least recently used go first).
CACHE_SIZE = 2**15

#: Longer words are hashed on every call instead of cached, which bounds the size of one
#: cache entry (a 10,000-character "word" would otherwise keep 120 kB).
CACHE_MAX_WORD_CHARS = 64

_INT32_MIN = -(2**31)
_COLUMN_BYTES = np.dtype(np.int32).itemsize


def char_wb_ngrams(word: str, min_n: int, max_n: int) -> list[str]:
    """The ``char_wb`` n-grams of one word, formed as scikit-learn forms them.

    The word is padded with one space each side; once a padded word is no longer than
    ``n`` it yields itself once and no longer n-grams.

    Args:
        word: One whitespace-free, already lower-cased word.
        min_n: Shortest n-gram.
        max_n: Longest n-gram.

    Returns:
        The n-grams, by length then by position (duplicates kept).
    """
    padded = " " + word + " "
    length = len(padded)
    grams: list[str] = []
    for n in range(min_n, max_n + 1):
        if length <= n:  # count a short word only once
            grams.append(padded)
            break
        grams.extend([padded[i : i + n] for i in range(length - n + 1)])
    return grams


def _hash_word(word: str, min_n: int, max_n: int, n_features: int) -> bytes:
    """Native-order int32 bytes of the column of every n-gram of ``word``."""
    # sklearn's _hashing_fast special-cases h == -2**31, as abs() of it is undefined in C.
    int32_min_column = (2147483647 - (n_features - 1)) % n_features
    grams = char_wb_ngrams(word, min_n, max_n)
    hashes = np.fromiter(
        map(murmurhash3_32, grams, repeat(0), repeat(False)), dtype=np.int64, count=len(grams)
    )
    columns = np.where(hashes == _INT32_MIN, int32_min_column, np.abs(hashes) % n_features)
    return columns.astype(np.int32).tobytes()


# Bytes rather than arrays: a third of the per-entry overhead, and b"".join gathers a
# batch twice as fast as np.concatenate.
_cached_hash_word = functools.lru_cache(maxsize=CACHE_SIZE)(_hash_word)


def _word_bytes(word: str, min_n: int, max_n: int, n_features: int) -> bytes:
    if len(word) > CACHE_MAX_WORD_CHARS:
        return _hash_word(word, min_n, max_n, n_features)
    return _cached_hash_word(word, min_n, max_n, n_features)


def word_columns(word: str, min_n: int, max_n: int, n_features: int) -> npt.NDArray[np.int32]:
    """Hashed column of every ``char_wb`` n-gram of one word, cached per process.

    A pure function of its arguments: column ``abs(h) % n_features`` of the signed
    32-bit MurmurHash3 (seed 0) ``h`` of each n-gram's UTF-8 bytes. Words of up to
    :data:`CACHE_MAX_WORD_CHARS` characters are remembered in a least-recently-used cache
    of :data:`CACHE_SIZE` entries per process, which bounds its memory (what an entry and
    a full cache take: docs/performance.md, "Classifier memory").

    Args:
        word: One whitespace-free, already lower-cased word.
        min_n: Shortest n-gram.
        max_n: Longest n-gram.
        n_features: Number of columns (hash space size).

    Returns:
        Read-only int32 array, one column per n-gram, in :func:`char_wb_ngrams` order.
    """
    return np.frombuffer(_word_bytes(word, min_n, max_n, n_features), dtype=np.int32)


def clear_cache() -> None:
    """Empty this process's word cache (e.g. to measure cold-cache speed)."""
    _cached_hash_word.cache_clear()


def cache_info() -> Any:
    """Hits, misses, bound and size of this process's word cache (``functools`` info)."""
    return _cached_hash_word.cache_info()


def _decode(doc: Any) -> str:
    """A non-``str`` document the way scikit-learn's vectorisers take it (UTF-8 bytes)."""
    if isinstance(doc, bytes):
        return doc.decode("utf-8")
    raise ValueError(f"documents must be str or UTF-8 bytes, got {type(doc).__name__}")


# auto_wrap_output_keys=None: no set_output wrapping of transform (as HashingVectorizer).
class CharNgramHasher(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):  # type: ignore[misc,call-arg]
    """Hashed, normalised counts of ``char_wb`` character n-grams (stateless).

    Produces the same matrix as ``HashingVectorizer(analyzer="char_wb",
    ngram_range=ngram_range, n_features=n_features, norm=norm, alternate_sign=False,
    dtype=np.float64)``: text is lower-cased, split on whitespace, each word padded with
    one space each side, every n-gram hashed with signed MurmurHash3 (seed 0) into column
    ``abs(hash) % n_features``, counts summed, then rows normalised. Per-word columns come
    from the process-wide cache of :func:`word_columns`; nothing but the parameters is
    stored on the instance, so nothing of the cache is persisted with a model.

    Args:
        n_features: Number of output columns (hash space size).
        ngram_range: Shortest and longest n-gram length, inclusive.
        norm: Row normalisation: ``"l2"``, ``"l1"``, ``"max"`` or ``None`` for raw counts.
    """

    def __init__(
        self,
        n_features: int = 2**18,
        ngram_range: tuple[int, int] = (3, 5),
        norm: str | None = "l2",
    ) -> None:
        self.n_features = n_features
        self.ngram_range = ngram_range
        self.norm = norm

    def _checked_params(self) -> tuple[int, int, int]:
        if (
            isinstance(self.n_features, bool)
            or not isinstance(self.n_features, Integral)
            or not 1 <= self.n_features <= np.iinfo(np.int32).max
        ):
            raise ValueError(f"n_features must be an integer in [1, 2**31), got {self.n_features}")
        min_n, max_n = (int(n) for n in self.ngram_range)
        if not 1 <= min_n <= max_n:
            raise ValueError(f"ngram_range must satisfy 1 <= min <= max, got {self.ngram_range}")
        if self.norm not in ("l1", "l2", "max", None):
            raise ValueError(f"norm must be 'l1', 'l2', 'max' or None, got {self.norm!r}")
        return int(self.n_features), min_n, max_n

    def fit(self, X: Any, y: Any = None) -> CharNgramHasher:  # noqa: N803
        """Check the parameters; nothing is learnt (stateless).

        Args:
            X: Texts (ignored).  # noqa: N803
            y: Ignored.

        Returns:
            ``self``.
        """
        if isinstance(X, str):
            raise ValueError("Iterable over raw text documents expected, string object received.")
        self._checked_params()
        return self

    def transform(self, X: Iterable[str | bytes]) -> Any:  # noqa: N803
        """Hash the n-grams of each text.

        Args:
            X: Texts, one per row (a sequence or 1-D object array).  # noqa: N803

        Returns:
            CSR matrix of shape ``(n_texts, n_features)``, float64, sorted indices without
            duplicates (``csr_matrix`` or ``csr_array`` as scikit-learn's
            ``sparse_interface`` setting says, as ``HashingVectorizer`` returns).

        Raises:
            ValueError: ``X`` is a single string, is empty, or holds a non-text document.
        """
        if isinstance(X, str):
            raise ValueError("Iterable over raw text documents expected, string object received.")
        n_features, min_n, max_n = self._checked_params()
        cached, limit = _cached_hash_word, CACHE_MAX_WORD_CHARS
        mins, maxs, widths = repeat(min_n), repeat(max_n), repeat(n_features)
        parts: list[bytes] = []
        words_per_doc = [0]
        for doc in X:
            words = (doc if isinstance(doc, str) else _decode(doc)).lower().split()
            if words and max(map(len, words)) > limit:
                parts.extend(_word_bytes(w, min_n, max_n, n_features) for w in words)
            else:
                parts.extend(map(cached, words, mins, maxs, widths))
            words_per_doc.append(len(words))
        n_docs = len(words_per_doc) - 1
        if n_docs == 0:
            raise ValueError("Cannot vectorize empty sequence.")

        # Row of every n-gram, then sort (row, column) pairs and count repeats: the same
        # sorted indices and summed values as sum_duplicates() on the raw hashes.
        columns = np.frombuffer(b"".join(parts), dtype=np.int32)
        per_word = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
        word_ends = np.concatenate(([0], np.cumsum(per_word // _COLUMN_BYTES)))
        per_doc = np.diff(word_ends[np.cumsum(words_per_doc)])
        rows = np.repeat(np.arange(n_docs, dtype=np.int64), per_doc)
        keys = np.sort(rows * n_features + columns)
        first = np.ones(keys.size, dtype=bool)
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        counts = np.diff(np.append(starts, keys.size)).astype(np.float64)
        unique = keys[starts]
        index = np.int32 if unique.size <= np.iinfo(np.int32).max else np.int64
        indptr = np.searchsorted(unique // n_features, np.arange(n_docs + 1)).astype(index)
        matrix = sp.csr_array(
            (counts, (unique % n_features).astype(index), indptr),
            shape=(n_docs, n_features),
            dtype=np.float64,
        )
        matrix.has_canonical_format = True  # sorted, no duplicates (as built above)
        # What normalize(matrix, norm, copy=False) runs for float64 CSR, without its checks.
        if self.norm == "l2":
            inplace_csr_row_normalize_l2(matrix)
        elif self.norm == "l1":
            inplace_csr_row_normalize_l1(matrix)
        elif self.norm is not None:
            matrix = normalize(matrix, norm=self.norm, copy=False)
        if get_config().get("sparse_interface", "spmatrix") == "spmatrix":
            return sp.csr_matrix(matrix)
        return matrix

    def __sklearn_tags__(self) -> Any:
        """Tags: takes 1-D text input and needs no fitting."""
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = False
        return tags
