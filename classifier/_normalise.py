"""Text normalisation and link extraction, shared by the features and the workers.

Normalisation runs before any feature is computed:

1. Unicode NFKC (fullwidth letters, ligatures and mathematical alphanumerics become ASCII),
2. removal of format characters (Unicode category ``Cf``: zero-width space and joiners,
   U+FEFF, soft hyphen, bidi controls),
3. confusable homoglyphs (Cyrillic U+0430 ``a``, Greek U+03BF ``o`` ...) mapped to their
   Latin skeleton with the Unicode UTS #39 confusables table shipped by ``confusable-homoglyphs``,
4. runs of white space collapsed to one space.

Links are found after normalisation, so ``https://bit.ly/x`` written with Cyrillic ``h`` and
``i`` (U+04BB, U+0456) is still a shortener link.
"""

from __future__ import annotations

import re
import string
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from confusable_homoglyphs.confusables import confusables_data

__all__ = [
    "EMAIL_RE",
    "PHONE_RE",
    "SHORTENER_DOMAINS",
    "Link",
    "cannot_hold_phone",
    "count_links",
    "extract_links",
    "matching_key",
    "normalise_text",
    "word_text",
]

#: Well-known link shorteners and redirectors (domain without ``www.``).
SHORTENER_DOMAINS: frozenset[str] = frozenset(
    {
        "adf.ly",
        "bit.do",
        "bit.ly",
        "bitly.com",
        "buff.ly",
        "cli.gs",
        "cutt.ly",
        "dlvr.it",
        "goo.gl",
        "is.gd",
        "j.mp",
        "lnkd.in",
        "ow.ly",
        "qr.ae",
        "rb.gy",
        "rebrand.ly",
        "s.id",
        "shorte.st",
        "shorturl.at",
        "t.co",
        "t.ly",
        "tiny.cc",
        "tinyurl.com",
        "tr.im",
        "v.gd",
        "x.co",
        "adfoc.us",
        "linktr.ee",
    }
)

# Generic top-level domains accepted without a scheme or ``www.``; any two-letter
# country code is accepted too.
_GENERIC_TLDS = (
    "com|net|org|info|biz|edu|gov|io|co|me|ly|tv|xyz|top|site|online|club|app|dev|shop|"
    "store|live|blog|link|click|win|vip|pro|mobi|name|asia|tk|ml|ga|cf|gq|ru|in|us|uk|de"
)
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_IPV4 = r"(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}"
_HOST = rf"(?:{_IPV4}|(?:{_LABEL}\.)+(?:{_GENERIC_TLDS}|[a-z]{{2}}))"
#: Any host name: after a scheme or ``www.`` every top-level domain counts.
_ANY_HOST = rf"(?:{_IPV4}|(?:{_LABEL}\.)+[a-z]{{2,63}})"
#: A link: with a scheme, ``www.``, or a bare domain / IPv4 address; optional port and path.
LINK_RE = re.compile(
    rf"(?<![\w@.-])(?:(?:(?:https?|ftp)://(?:www\d?\.)?|www\d?\.)(?P<host>{_ANY_HOST})"
    rf"|(?P<bare>{_HOST}))(?::\d{{2,5}})?(?P<path>/[^\s<>\"']*)?(?![\w@-])",
    re.IGNORECASE,
)
_IPV4_RE = re.compile(rf"^{_IPV4}$")
#: An e-mail address.
EMAIL_RE = re.compile(r"[\w.+-]+@(?:[a-z0-9-]+\.)+[a-z]{2,}", re.IGNORECASE)
#: A phone number: 8 to 15 digits with optional separators and a leading ``+``.
PHONE_RE = re.compile(r"(?<![\w])\+?\d(?:[\s().-]{0,2}\d){7,14}(?![\w])")
#: Fewest digits a :data:`PHONE_RE` match holds.
_PHONE_MIN_DIGITS = 8
_ASCII_DIGITS = string.digits.encode("ascii")
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Link:
    """A link found in a comment.

    Attributes:
        domain: Lower-case host without ``www.`` (or the IPv4 address).
        path: The path after the host, possibly empty.
        is_shortener: The host is a known link shortener.
        is_ip: The host is a bare IPv4 address.
    """

    domain: str
    path: str
    is_shortener: bool
    is_ip: bool


def _build_skeleton_map() -> dict[int, str]:
    """Map each non-ASCII confusable character to its ASCII skeleton (UTS #39 data).

    Returns:
        A ``str.translate`` table; characters without an ASCII look-alike are absent.
    """
    table: dict[int, str] = {}
    for char, entries in confusables_data.items():
        if len(char) != 1 or char.isascii():
            continue
        candidates = [e["c"] for e in entries if e["c"].isascii() and e["c"].isprintable()]
        if not candidates:
            continue
        # Prefer one letter, then one digit, then anything else (shortest first).
        candidates.sort(key=lambda c: (len(c) != 1, not c.isalpha(), not c.isalnum(), len(c), c))
        table[ord(char)] = candidates[0]
    return table


@lru_cache(maxsize=1)
def _non_ascii_table() -> dict[int, str | None]:
    """``str.translate`` table: drop format characters (Cf), map confusables to ASCII.

    Built on first use (it scans every code point for Cf), so a process that never
    sees non-ASCII text never pays for it. Format characters are
    dropped, never mapped, as they were removed before the skeleton was applied.
    """
    table: dict[int, str | None] = dict(_build_skeleton_map())
    table.update(
        (cp, None)
        for cp in range(0x80, sys.maxunicode + 1)
        if unicodedata.category(chr(cp)) == "Cf"
    )
    return table


def normalise_text(text: str) -> str:
    """Return the normalised form of a comment (see the module docstring).

    Case is kept (the upper-case ratio is a feature); the vectorisers lower-case.

    Args:
        text: The raw comment text.

    Returns:
        The normalised text.
    """
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = text.translate(_non_ascii_table())
    return _SPACE_RE.sub(" ", text).strip()


def matching_key(text: str) -> str:
    """Return the form in which text is compared with terms (block and allow lists).

    :func:`normalise_text` followed by case folding, so a term matches whatever the
    classifier reads as that term: Cyrillic or Greek look-alikes, zero-width and other
    format characters, fullwidth letters and any letter case. Apply it to both sides
    (the entry and the comment).

    Args:
        text: Any text.

    Returns:
        The normalised, case-folded text.
    """
    return normalise_text(text).casefold()


def cannot_hold_phone(text: str) -> bool:
    """Whether ``text`` certainly holds no :data:`PHONE_RE` match (a cheap pre-check).

    True for ASCII text with fewer digits than a phone number has; the regular
    expression, which tries every position, is then not needed.

    Args:
        text: Any text.

    Returns:
        True when there can be no phone number in ``text``.
    """
    if not text.isascii():
        return False  # Unicode digits count for ``\d``: leave it to the expression
    digits = len(text) - len(text.encode("ascii").translate(None, _ASCII_DIGITS))
    return digits < _PHONE_MIN_DIGITS


def extract_links(normalised: str) -> list[Link]:
    """Find the links in already normalised text.

    Args:
        normalised: Output of :func:`normalise_text`.

    Returns:
        The links in order of appearance (e-mail addresses are not links).
    """
    if "." not in normalised:
        return []
    links = []
    for match in LINK_RE.finditer(normalised):
        host = (match.group("host") or match.group("bare")).lower()
        links.append(
            Link(
                domain=host,
                path=match.group("path") or "",
                is_shortener=host in SHORTENER_DOMAINS,
                is_ip=bool(_IPV4_RE.match(host)),
            )
        )
    return links


def count_links(text: str) -> int:
    """Count the links in a raw comment, with the same extraction the features use.

    Args:
        text: The raw comment text (it is normalised first).

    Returns:
        The number of links.
    """
    return len(extract_links(normalise_text(text)))


def count_phones(text: str) -> int:
    """Count the phone numbers in a raw comment, with the same pattern the features use.

    Args:
        text: The raw comment text (it is normalised first).

    Returns:
        The number of phone numbers.
    """
    normalised = normalise_text(text)
    return 0 if cannot_hold_phone(normalised) else len(PHONE_RE.findall(normalised))


def _domain_token(domain: str) -> str:
    return "dom_" + domain.replace(".", "_").replace("-", "_")


def word_text(normalised: str) -> str:
    """Rewrite normalised text for the word n-grams: links become marker tokens.

    A link becomes ``tok_url``, its domain as one token (``dom_example_com``, so the
    scheme-less domain survives tokenisation), ``tok_shortener`` or ``tok_ip`` when it
    applies, and the words of its path. E-mail addresses become ``tok_email`` plus
    their domain, phone numbers ``tok_phone``.

    Args:
        normalised: Output of :func:`normalise_text`.

    Returns:
        Text for a word tokeniser.
    """

    def link_sub(match: re.Match[str]) -> str:
        host = (match.group("host") or match.group("bare")).lower()
        parts = [" tok_url", _domain_token(host)]
        if host in SHORTENER_DOMAINS:
            parts.append("tok_shortener")
        if _IPV4_RE.match(host):
            parts.append("tok_ip")
        path = match.group("path")
        if path:
            parts.append(re.sub(r"[\W_]+", " ", path))
        return " ".join(parts) + " "

    def email_sub(match: re.Match[str]) -> str:
        domain = match.group(0).rsplit("@", 1)[1].lower()
        return f" tok_email {_domain_token(domain)} "

    out = EMAIL_RE.sub(email_sub, normalised) if "@" in normalised else normalised
    if "." in out:
        out = LINK_RE.sub(link_sub, out)
    return out if cannot_hold_phone(out) else PHONE_RE.sub(" tok_phone ", out)
