"""The plain-address fast path never disagrees with email-validator."""

from __future__ import annotations

import email_validator
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

from service.web.api.email_address import _plain_normalised, normalised_email


def _library(value: str) -> str | None:
    """email-validator's normalised form, or ``None`` when it refuses the address."""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("user1@mail.example", "user1@mail.example"),
        ("first.last+tag@Sub.Example.COM", "first.last+tag@sub.example.com"),
        ("a_b-c@x-y.co.uk", "a_b-c@x-y.co.uk"),
        ("9@9a.io", "9@9a.io"),
    ],
)
def test_plain_addresses_take_the_fast_path(value: str, expected: str) -> None:
    assert _plain_normalised(value) == expected
    assert _library(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "Postmaster@example.com",  # the library lower-cases some mailbox names
        "John.Smith@example.com",  # capitals in the local part: the library decides
        "someone@mail.test",  # special-use names
        "someone@onion",
        "someone@a.b.localhost",
        "someone@xn--bcher-kva.example",  # Punycode
        "someone@ab--cd.example",  # a reserved label
        "someone@example.c0m",  # a top-level domain that is not letters
        "someone@example",  # no period
        "caf\u00e9@example.com",  # non-ASCII
        '"quoted"@example.com',
        "Name <someone@example.com>",
        "someone@[192.0.2.1]",
        "a..b@example.com",
        ".a@example.com",
        "someone@-example.com",
        "someone@example-.com",
        "x" * 65 + "@example.com",  # local part over 64
        "x@" + "a" * 64 + ".com",  # label over 63
        "x@" + ".".join(["a" * 60] * 5) + ".com",  # domain over 253
    ],
)
def test_other_addresses_go_to_the_library(value: str) -> None:
    assert _plain_normalised(value) is None


def test_special_use_names_are_read_from_the_library_each_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _plain_normalised("someone@mail.internal") == "someone@mail.internal"
    monkeypatch.setattr(
        email_validator,
        "SPECIAL_USE_DOMAIN_NAMES",
        [*email_validator.SPECIAL_USE_DOMAIN_NAMES, "internal"],
    )
    assert _plain_normalised("someone@mail.internal") is None


def test_normalised_email_raises_for_invalid_addresses() -> None:
    normalised_email.cache_clear()
    for value in ("no-at-sign", "a@b", "someone@mail.test", "a..b@example.com"):
        with pytest.raises(EmailNotValidError):
            normalised_email(value)
    assert normalised_email("Jane.Doe@Example.ORG") == "Jane.Doe@example.org"


_LOCAL = st.text(alphabet="abzAZ09._+-!#$%&'*/=?^`{|}~\"\u00e9", min_size=0, max_size=70)
_LABEL = st.text(alphabet="abzAZ09-_\u00e9", min_size=0, max_size=66)
_TLD = st.sampled_from(
    [
        "com",
        "COM",
        "org",
        "io",
        "c0m",
        "1",
        "x",
        "test",
        "onion",
        "local",
        "localhost",
        "arpa",
        "invalid",
        "example",
        "xn--p1ai",
        "a" * 63,
        "a" * 64,
    ]
)
#: Near the pattern's edges: its own alphabets, dots and hyphens anywhere, any length.
_NEAR_LOCAL = st.one_of(
    st.text(alphabet="az09._+-", max_size=66),
    st.from_regex(r"[a-z0-9_+-]{1,66}(\.[a-z0-9_+-]{1,20}){0,2}", fullmatch=True),
)
_NEAR_LABEL = st.one_of(
    st.text(alphabet="azAZ09-", max_size=64),
    st.from_regex(r"[a-zA-Z0-9-]?[a-zA-Z0-9]{1,63}[a-zA-Z0-9-]?", fullmatch=True),
)
_DOMAIN = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(_LABEL, min_size=0, max_size=5),
    _TLD,
)
_NEAR_DOMAIN = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(_NEAR_LABEL, min_size=0, max_size=5),
    st.one_of(_TLD, _NEAR_LABEL),
)


_ADDRESSES = st.one_of(
    st.builds(lambda local, domain: f"{local}@{domain}", _NEAR_LOCAL, _NEAR_DOMAIN),
    st.builds(lambda local, domain: f"{local}@{domain}", _LOCAL, _DOMAIN),
    st.emails(),
    st.text(max_size=80),
)


@settings(max_examples=3000, deadline=None)
@given(_ADDRESSES)
@example("a@" + ".".join(["a" * 63] * 3) + "." + "a" * 61)  # 253: the longest domain
@example("a" * 64 + "@" + ".".join(["a" * 63] * 2) + "." + "a" * 59 + ".io")  # 254 in all
@example("a" * 64 + "@" + ".".join(["a" * 63] * 2) + "." + "a" * 60 + ".io")  # 255 in all
def test_fast_path_agrees_with_the_library(value: str) -> None:
    fast = _plain_normalised(value)
    if fast is not None:
        assert _library(value) == fast
