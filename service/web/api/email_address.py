"""E-mail addresses: validated and normalised by email-validator, plain ones at once.

email-validator checks an address against the RFCs and UTS #46 (IDNA) and returns its
normalised form. That care is costly, most of it mapping the domain character by
character (docs/performance.md, "Intake", has the figures). Nearly every
address posted has the plain shape ``name@host.tld`` in lower-case ASCII, and for those
the library's answer is known in advance: the address is valid, and it normalises to the
local part unchanged and the domain in lower case. So one regular expression picks out
the plain addresses, and everything else (capitals in the local part, quoting,
non-ASCII, Punycode, an unusual top-level domain, a special-use name, anything long)
goes to the library, which has the last word on every address the pattern does not
match. ``tests/service/web/api/test_email_address.py`` holds the fast path to the library's
answers, with Hypothesis.
"""

from __future__ import annotations

import functools
import re

import email_validator
from email_validator import EmailNotValidError, validate_email

__all__ = ["EmailNotValidError", "normalised_email"]

#: A plain address, as email-validator would accept it: a lower-case dot-atom local
#: part of at most 64 characters; a domain of LDH labels of at most 63 characters (not
#: starting or ending with a hyphen), two or more of them, the last of 2 to 63 letters.
#: The lengths of the whole are checked apart.
_PLAIN = re.compile(
    r"(?=[^@]{1,64}@)[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)
#: email-validator's own limits (RFC 5321): the whole address, the domain.
_ADDRESS_MAX = 254
_DOMAIN_MAX = 253


def _plain_normalised(value: str) -> str | None:
    """The normalised form of a plain address, or ``None`` when the library must decide."""
    match = _PLAIN.fullmatch(value)
    if match is None or len(value) > _ADDRESS_MAX:
        return None
    domain = match[1].lower()
    # Two hyphens in a row: Punycode ("xn--") or a reserved label, for the library.
    if len(domain) > _DOMAIN_MAX or "--" in domain:
        return None
    for special in email_validator.SPECIAL_USE_DOMAIN_NAMES:  # read each time: settable
        if domain == special or domain.endswith("." + special):
            return None
    return value[: match.start(1)] + domain


@functools.lru_cache(maxsize=8192)
def normalised_email(value: str) -> str:
    """The normalised address (cached: regular commenters post again and again).

    Args:
        value: The address as given, without surrounding white space.

    Returns:
        The address as email-validator normalises it (deliverability is not checked).

    Raises:
        EmailNotValidError: Not a syntactically valid address.
    """
    plain = _plain_normalised(value)
    if plain is not None:
        return plain
    return validate_email(value, check_deliverability=False).normalized
