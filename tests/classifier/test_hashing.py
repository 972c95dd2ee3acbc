"""CharNgramHasher must equal scikit-learn's char_wb HashingVectorizer bit for bit."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import skops.io as sio
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import clone, config_context
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import Pipeline

import classifier._hashing as hashing
from classifier import CommentInput
from classifier._features import TEXT, CommentNormaliser, build_features, to_records
from classifier._hashing import (
    CACHE_MAX_WORD_CHARS,
    CharNgramHasher,
    cache_info,
    char_wb_ngrams,
    clear_cache,
    word_columns,
)
from classifier._persistence import TRUSTED_TYPES

WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())

CORPUS: list[str] = [
    "",
    " ",
    "   ",
    "\t\n\r\x0b\x0c",
    WHITESPACE,
    "a",
    "I",
    "ab",
    "a b c d",
    "ok is it",
    "abc",
    "word",
    "hello",
    "extraordinary onomatopoeia",
    "Hello World HELLO world",
    "spam spam spam spam spam",
    "  leading and trailing  ",
    "tabs\tand\nnew\r\nlines\x0bvertical\x0cfeed",
    "words" + WHITESPACE + "between" + WHITESPACE + "every\u00a0kind\u2003of\u3000space",
    "café naïve résumé Ångström",
    "cafe\u0301 combining accent",
    "emoji 🎉🎉🎉 party 👍🏽 👨‍👩‍👧 ok",
    "漫画が好きです 中文字符 한국어",
    "ΟΔΟΣ ΟΔΟΣ σοφος",  # Greek final sigma depends on context when lower-casing
    "İstanbul ǅemal ẞtraße",  # lower-casing changes the length
    "zero\u200bwidth joiner\u200d",
    "x" * 10_000,
    "start " + "y" * 10_000 + " end",
    "w" * CACHE_MAX_WORD_CHARS + " " + "v" * (CACHE_MAX_WORD_CHARS + 1),
    "CHECK OUT MY CHANNEL http://bit.ly/x1y2 !!! www.shop-deals.net/offer?id=3",
    "mail me at bob@example.com or call +44 7911 123456",
    "\U0001d54f\U0001d550 math letters and \U00010348 gothic",
]

PARAMS = [
    {"n_features": 2**18, "ngram_range": (3, 5), "norm": "l2"},
    {"n_features": 2**20, "ngram_range": (1, 1), "norm": "l2"},
    {"n_features": 1000, "ngram_range": (2, 4), "norm": "l1"},
    {"n_features": 7, "ngram_range": (1, 6), "norm": None},
    {"n_features": 1, "ngram_range": (3, 3), "norm": "max"},
]


def reference(params: dict[str, Any]) -> HashingVectorizer:
    return HashingVectorizer(analyzer="char_wb", alternate_sign=False, dtype=np.float64, **params)


def assert_identical(expected: Any, actual: Any) -> None:
    assert type(actual) is type(expected)
    assert actual.format == "csr"
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype == np.float64
    assert actual.indices.dtype == expected.indices.dtype
    assert actual.indptr.dtype == expected.indptr.dtype
    assert actual.has_sorted_indices
    np.testing.assert_array_equal(actual.indptr, expected.indptr)
    np.testing.assert_array_equal(actual.indices, expected.indices)
    assert actual.data.tobytes() == expected.data.tobytes()  # bit for bit


def compare(texts: Sequence[Any], **params: Any) -> None:
    params = {**PARAMS[0], **params}
    expected = reference(params).transform(texts)
    assert_identical(expected, CharNgramHasher(**params).transform(texts))


@pytest.fixture
def cold_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"{p['ngram_range']}-{p['norm']}")
def test_equals_hashing_vectorizer(params: dict[str, Any], cold_cache: None) -> None:
    compare(CORPUS, **params)
    compare(CORPUS, **params)  # second pass: from the cache
    compare(CORPUS[::-1], **params)


@pytest.mark.parametrize("text", CORPUS, ids=range(len(CORPUS)))
def test_equals_hashing_vectorizer_per_document(text: str) -> None:
    compare([text])


def test_equals_on_object_arrays_bytes_and_all_empty() -> None:
    compare(np.asarray(CORPUS, dtype=object))
    compare(["", " ", "\n"])
    compare([b"bytes are utf-8 caf\xc3\xa9", "and text"])


def test_sparse_interface_follows_config() -> None:
    with config_context(sparse_interface="sparray"):
        result = CharNgramHasher().transform(CORPUS)
        assert isinstance(result, sp.csr_array)
        compare(CORPUS)


def test_equals_in_the_scorer_context() -> None:
    with config_context(skip_parameter_validation=True, assume_finite=True):
        compare(CORPUS)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=80), min_size=1, max_size=6))
def test_equals_on_random_text(texts: list[str]) -> None:
    compare(texts)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from("aAbB é漫🎉\t\n"), max_size=30), min_size=1, max_size=4
    ),
    st.integers(1, 4),
    st.integers(0, 3),
    st.integers(1, 50),
)
def test_equals_for_other_parameters(
    texts: list[str], min_n: int, extra: int, n_features: int
) -> None:
    compare(texts, ngram_range=(min_n, min_n + extra), n_features=n_features)


def test_ngrams_match_sklearn_analyzer() -> None:
    analyzer = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()
    for word in ("a", "ab", "abc", "abcd", "extraordinary", "漫画"):
        assert char_wb_ngrams(word, 2, 5) == analyzer(word)


def test_int32_min_hash_column(monkeypatch: pytest.MonkeyPatch, cold_cache: None) -> None:
    # abs(-2**31) overflows in sklearn's C code, which special-cases it like this.
    monkeypatch.setattr(hashing, "murmurhash3_32", lambda *a, **k: -(2**31))
    for n_features in (1, 7, 1000, 2**18):
        expected = (2147483647 - (n_features - 1)) % n_features
        assert word_columns("abc", 3, 3, n_features).tolist() == [expected] * 3


def test_cache_hit_equals_miss(cold_cache: None) -> None:
    texts = ["repeated words repeated words", "fresh unseen vocabulary", "Repeated WORDS"]
    miss = CharNgramHasher().transform(texts)
    info = cache_info()
    assert info.hits > 0  # repeats inside the batch already hit
    assert info.currsize == len({w for t in texts for w in t.lower().split()})
    hit = CharNgramHasher().transform(texts)
    assert cache_info().misses == info.misses
    assert cache_info().hits == info.hits + sum(len(t.split()) for t in texts)
    assert_identical(miss, hit)
    clear_cache()
    assert_identical(miss, CharNgramHasher().transform(texts))


def test_word_columns_is_pure_and_read_only(cold_cache: None) -> None:
    first = word_columns("hello", 3, 5, 2**18)
    again = word_columns("hello", 3, 5, 2**18)
    np.testing.assert_array_equal(first, again)
    assert first.dtype == np.int32
    assert not first.flags.writeable
    assert len(first) == len(char_wb_ngrams("hello", 3, 5))
    assert not np.array_equal(word_columns("hello", 3, 5, 2**10), first)


def test_long_words_are_not_cached(cold_cache: None) -> None:
    CharNgramHasher().transform(["z" * (CACHE_MAX_WORD_CHARS + 1), "z" * 10_000])
    assert cache_info().currsize == 0
    CharNgramHasher().transform(["z" * CACHE_MAX_WORD_CHARS])
    assert cache_info().currsize == 1


def test_cache_is_bounded() -> None:
    assert cache_info().maxsize == hashing.CACHE_SIZE


def test_stateless_scikit_learn_conventions() -> None:
    hasher = CharNgramHasher(n_features=2**10, ngram_range=(2, 3), norm=None)
    assert hasher.get_params() == {"n_features": 2**10, "ngram_range": (2, 3), "norm": None}
    fitted = clone(hasher).fit(["something else entirely"])
    assert fitted.__dict__ == hasher.__dict__  # fit learns nothing
    assert (fitted.transform(CORPUS) != hasher.transform(CORPUS)).nnz == 0
    fitted.transform(CORPUS)
    assert set(fitted.__dict__) == {"n_features", "ngram_range", "norm"}
    assert fitted.__sklearn_tags__().requires_fit is False


@pytest.mark.parametrize(
    "params",
    [
        {"n_features": 0},
        {"n_features": 2**31},
        {"n_features": 1.5},
        {"ngram_range": (3, 2)},
        {"ngram_range": (0, 2)},
        {"norm": "l3"},
    ],
)
def test_bad_parameters_are_refused(params: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(params))):
        CharNgramHasher(**params).transform(["text"])


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="string object received"):
        CharNgramHasher().transform("one string")
    with pytest.raises(ValueError, match="string object received"):
        CharNgramHasher().fit("one string")
    with pytest.raises(ValueError, match="empty sequence"):
        CharNgramHasher().transform([])
    with pytest.raises(ValueError, match="str or UTF-8 bytes"):
        CharNgramHasher().transform([None])


def test_build_features_chars_block_is_unchanged() -> None:
    features = build_features()
    chars = dict((n, t) for n, t, _ in features.named_steps["features"].transformers)["chars"]
    assert isinstance(chars, CharNgramHasher)
    texts = CommentNormaliser().transform(
        to_records([CommentInput(t, author_name="Ann") for t in CORPUS])
    )[:, TEXT]
    expected = reference({"n_features": 2**18, "ngram_range": (3, 5), "norm": "l2"})
    assert_identical(expected.transform(texts), chars.fit(texts).transform(texts))


def test_skops_round_trip_persists_parameters_only(cold_cache: None) -> None:
    texts = ["zebracornvocab free gift", "lovely song", "check my channel", "nice voice"]
    pipeline = Pipeline(
        [
            ("chars", CharNgramHasher(n_features=2**12, ngram_range=(2, 4))),
            ("clf", SGDClassifier(random_state=0)),
        ]
    ).fit(texts, [1, 0, 1, 0])
    assert cache_info().currsize > 0
    payload = sio.dumps(pipeline)
    assert set(sio.get_untrusted_types(data=payload)) <= set(TRUSTED_TYPES)
    loaded = sio.loads(payload, trusted=list(TRUSTED_TYPES))
    np.testing.assert_array_equal(
        loaded.decision_function(texts), pipeline.decision_function(texts)
    )
    hasher = loaded.named_steps["chars"]
    assert isinstance(hasher, CharNgramHasher)
    assert hasher.get_params() == {"n_features": 2**12, "ngram_range": (2, 4), "norm": "l2"}
    assert set(hasher.__dict__) <= {"n_features", "ngram_range", "norm", "_sklearn_version"}
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        stored = b"".join(archive.read(name) for name in archive.namelist())
    assert b"zebracorn" not in stored  # neither texts nor cached words are persisted
