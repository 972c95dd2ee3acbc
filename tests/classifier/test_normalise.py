from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier import count_links, extract_links, matching_key, normalise_text
from classifier._normalise import PHONE_RE, _build_skeleton_map, cannot_hold_phone, word_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\u0441\u0430\u0440 \u0440\u043e\u0441\u0435", "cap poce"),  # Cyrillic look-alikes
        ("g\u03bf\u03bfgle", "google"),  # Greek omicron
        ("free\u200bmoney", "freemoney"),  # zero-width space
        ("zero\u200d\u200cjoin", "zerojoin"),  # joiners
        ("soft\u00adhyphen", "softhyphen"),
        ("nice song\ufeff", "nice song"),  # trailing BOM
        ("\uff26\uff32\uff25\uff25 \uff47\uff49\uff46\uff54", "FREE gift"),  # fullwidth
        ("\U0001d41f\U0001d42b\U0001d41e\U0001d41e", "free"),  # mathematical bold
        ("  many \t\n spaces  ", "many spaces"),
        ("caf\u00e9 \u00fcber", "caf\u00e9 \u00fcber"),  # accents are real letters, kept
    ],
)
def test_normalise_text(raw: str, expected: str) -> None:
    assert normalise_text(raw) == expected


def test_homoglyph_map_comes_from_uts39_table() -> None:
    # Characters a hand-written list would likely miss still map.
    assert normalise_text("\u0501\u0455") == "ds"  # Cyrillic komi de, dze


def test_ascii_is_untouched() -> None:
    text = "I like 0 and 1 and rn, l and I"
    assert normalise_text(text) == text


@pytest.mark.parametrize(
    ("text", "domains"),
    [
        ("see http://www.Example.com/path?x=1 now", ["example.com"]),
        ("visit shop-deals.net today", ["shop-deals.net"]),
        ("go to www.foo.org and https://bar.io/x", ["foo.org", "bar.io"]),
        ("ip http://192.168.1.20:8080/a", ["192.168.1.20"]),
        ("no links here. at all.", []),
        ("write to me@example.com", []),
        ("pi is 3.14159", []),
    ],
)
def test_extract_links(text: str, domains: list[str]) -> None:
    assert [link.domain for link in extract_links(normalise_text(text))] == domains


def test_shorteners_and_ips_are_marked() -> None:
    links = extract_links(normalise_text("bit.ly/abc and http://10.0.0.1/x and goo.gl/q"))
    assert [(link.is_shortener, link.is_ip) for link in links] == [
        (True, False),
        (False, True),
        (True, False),
    ]


def test_homoglyph_shortener_is_still_a_shortener() -> None:
    links = extract_links(normalise_text("b\u0456t.ly/x"))  # Cyrillic i
    assert links[0].is_shortener


def test_count_links_normalises_first() -> None:
    assert count_links("a bit.ly/x b www.\uff45xample.com c") == 2
    assert count_links("nothing") == 0


def test_word_text_keeps_scheme_less_domain_tokens() -> None:
    out = word_text(normalise_text("try bit.ly/Promo or mail a@b.com, call +1 555 123 4567"))
    for token in ("tok_url", "dom_bit_ly", "tok_shortener", "Promo", "tok_email", "tok_phone"):
        assert token in out.split()


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("see http://a.example and https://shop.newgtld/x", 2),
        ("www.anything.museum", 1),
        ("e.g. this and i.e. that", 0),
        ("mail me at someone@example.com", 0),
    ],
)
def test_links_with_a_scheme_count_whatever_their_tld(text: str, count: int) -> None:
    assert count_links(text) == count


# -- fast paths give exactly what the plain forms give ----------------------------------

#: Phone-number material; no "." or "@", so no link or e-mail rewriting interferes.
_PHONE_ALPHABET = st.sampled_from(list("0123456789 +()-ab\u0663\u06f5"))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_PHONE_ALPHABET, max_size=40))
def test_phone_precheck_never_hides_a_phone(text: str) -> None:
    if cannot_hold_phone(text):
        assert PHONE_RE.search(text) is None
    assert word_text(text) == PHONE_RE.sub(" tok_phone ", text)


def _reference_normalise(text: str) -> str:
    """normalise_text as first written: a generator dropping Cf, then the skeleton."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = "".join(c for c in text if c.isascii() or unicodedata.category(c) != "Cf")
        text = text.translate(_build_skeleton_map())
    return re.sub(r"\s+", " ", text).strip()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_one_translate_table_drops_format_characters_then_maps_confusables(text: str) -> None:
    format_heavy = "\u200b" + text + "\ufeff\u00ad\u2066\U000e0041"
    for candidate in (text, format_heavy):
        assert normalise_text(candidate) == _reference_normalise(candidate)


def test_matching_key_is_the_normalised_text_case_folded() -> None:
    assert matching_key("  M\u0430rma\u200bLADE\u3000jam ") == "marmalade jam"
    assert matching_key("\uff33\uff30\uff21\uff2d") == normalise_text("SPAM").casefold()
