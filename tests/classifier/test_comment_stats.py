"""comment_stats' ASCII fast path must give exactly what the plain character counts give."""

from __future__ import annotations

import math
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from classifier._features import comment_stats
from classifier._normalise import EMAIL_RE, PHONE_RE, extract_links, normalise_text

_REPEAT_RE = re.compile(r"(.)\1{2,}")


def reference_stats(normalised: str) -> list[float]:
    """comment_stats as first written: one pass per character class, runs by finditer."""
    links = extract_links(normalised)
    length = len(normalised)
    letters = sum(map(str.isalpha, normalised))
    upper = sum(map(str.isupper, normalised))
    digits = sum(map(str.isdigit, normalised))
    repeated = sum(len(m.group(0)) for m in _REPEAT_RE.finditer(normalised))
    emails = len(EMAIL_RE.findall(normalised)) if "@" in normalised else 0
    phones = len(PHONE_RE.findall(normalised))
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


TEXTS = [
    "",
    "a",
    "ABC def 123",
    "sooooo goooood!!!!!! 1111",
    "FREE GIFT at bit.ly/x and example.com, mail x@y.com, call +44 7911 123456",
    "Ünïcödé ÀÉÎ 漫画 ١٢٣ ²³ 🎉🎉🎉",
    "mixed ASCII then é at the end",
]


def test_every_ascii_character() -> None:
    for code in range(128):
        text = chr(code) * 4 + "aB1"
        assert comment_stats(text) == reference_stats(text)


def test_fixed_texts() -> None:
    for text in TEXTS:
        assert comment_stats(text) == reference_stats(text)
        normalised = normalise_text(text)
        assert comment_stats(normalised) == reference_stats(normalised)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_random_text(text: str) -> None:
    assert comment_stats(text) == reference_stats(text)
    normalised = normalise_text(text)
    assert comment_stats(normalised) == reference_stats(normalised)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_random_ascii_text(text: str) -> None:
    assert comment_stats(text) == reference_stats(text)
