"""Commenter tokens and receipts, without Redis (the flow is tested end to end in
tests/workers/test_commenter_trust.py)."""

from __future__ import annotations

import pytest

from service.core.captcha import CLOCK_SKEW_SECONDS
from service.core.commenter_tokens import CommenterTokens, Vouching

NOW = 1_800_000_000.0
DAY = 86400


def tokens(at: float = NOW, secret: str = "s3cret", ttl: int = 30 * DAY) -> CommenterTokens:
    return CommenterTokens(secret, ttl_seconds=ttl, clock=lambda: at)


def test_a_token_vouches_for_its_author_only() -> None:
    token = tokens().issue("earned-comment-id", "Carol@Example.org")
    assert tokens().vouching(token, " carol@example.org ") == Vouching("earned-comment-id")
    assert tokens().vouching(token, "dave@example.org") == Vouching(None, "other_author")
    assert tokens().vouching(token, "") == Vouching(None, "missing")
    assert tokens().vouching("", "carol@example.org") == Vouching(None, "missing")


def test_the_address_is_never_in_the_token() -> None:
    token = tokens().issue("earned-comment-id", "carol@example.org")
    from itsdangerous import base64_decode

    assert b"carol" not in base64_decode(token.rpartition(".")[0])


@pytest.mark.parametrize(
    ("issued_at", "refusal"),
    [
        (NOW - 30 * DAY - 1, "expired"),
        (NOW - 30 * DAY, None),
        (NOW + CLOCK_SKEW_SECONDS, None),
        (NOW + CLOCK_SKEW_SECONDS + 1, "future"),
    ],
)
def test_age_and_clock_skew(issued_at: float, refusal: str | None) -> None:
    token = tokens(at=issued_at).issue("earned-comment-id", "carol@example.org")
    assert tokens().vouching(token, "carol@example.org").refusal == refusal


def _flip(token: str, at: int) -> str:
    """The token with one character of its signature (or payload) changed."""
    chars = list(token)
    chars[at] = "B" if chars[at] == "A" else "A"
    return "".join(chars)


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b",
        tokens(secret="another").issue("earned-comment-id", "carol@example.org"),
        _flip(tokens().issue("earned-comment-id", "carol@example.org"), -10),
        _flip(tokens().issue("earned-comment-id", "carol@example.org"), 5),
        "\u00e9t\u00e9.x",
    ],
)
def test_forged_tokens(token: str) -> None:
    assert tokens().vouching(token, "carol@example.org") == Vouching(None, "forged")


def test_a_signed_payload_of_the_wrong_shape_is_forged() -> None:
    from itsdangerous import Signer, base64_encode

    issuer = tokens()
    for payload in (b"[1, 2]", b'{"a": "x", "c": 1, "t": 1}', b'{"a": "x", "c": "y", "t": true}'):
        signed = issuer._signer.sign(base64_encode(payload)).decode()
        assert issuer.vouching(signed, "carol@example.org") == Vouching(None, "forged")
    assert isinstance(issuer._signer, Signer)


def test_receipts() -> None:
    issuer = tokens()
    receipt = issuer.receipt("comment-one")
    assert issuer.receipt_matches("comment-one", receipt)
    assert not issuer.receipt_matches("comment-two", receipt)
    assert not issuer.receipt_matches("comment-one", "")
    assert not tokens(secret="another").receipt_matches("comment-one", receipt)
