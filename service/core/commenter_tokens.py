"""Commenter tokens: what makes an author "previously approved", and receipts.

Trust used to follow the bare e-mail address: after one published comment from
``carol@…`` anyone typing that address skipped the score's hold (issue 13). Now it
follows a **commenter token** that only the poster of a published comment can obtain:

1. The 202 of ``POST /api/v1/comments`` carries a ``receipt``: a keyed digest of the
   new comment's id, shown to the poster only (comment ids are public, receipts are not).
2. Once that comment is published, ``POST /api/v1/comments/<id>/commenter-token`` with
   the receipt answers a commenter token. The site keeps it (a cookie, local storage,
   its own user record) and sends it as ``commenter_token`` with the commenter's later
   comments.
3. The intake checks the signature, age and that the token names the e-mail address of
   the new comment, and records the earning comment's id (``vouched_by``). The worker
   trusts the comment only while that earning comment is still published, by the same
   address: a moderator marking it spam or rejecting it revokes the token.

A token is ``<payload>.<signature>`` like a captcha token (:mod:`service.core.captcha`): the
payload is URL-safe base64 JSON with the commenter's identity (a keyed digest of the
normalised e-mail address, never the address), the earning comment's id and the issue
time, signed by itsdangerous' ``Signer`` (HMAC-SHA256) under a key derived from the
secret key for this use alone. A token that does not verify is not an error: the
comment is simply decided like a stranger's (see :meth:`CommenterTokens.vouching`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from itsdangerous import BadData, Signer, base64_decode, base64_encode

from service.core.captcha import CLOCK_SKEW_SECONDS

#: What the keys are derived for: no other use of the secret key shares them.
_TOKEN_PURPOSE = b"commentgate.commenter-token.v1"
_RECEIPT_PURPOSE = b"commentgate.receipt.v1"
_IDENTITY_PURPOSE = b"commentgate.commenter-identity.v1"
#: A token's claims: the commenter's identity, the earning comment, the issue time.
_CLAIMS = frozenset({"a", "c", "t"})

Refusal = Literal["missing", "forged", "expired", "future", "other_author"]


@dataclass(frozen=True, slots=True)
class Vouching:
    """What checking a commenter token against a new comment found.

    Attributes:
        comment_id: The earning comment's id when the token is good for this comment's
            author; the worker still checks that comment is published.
        refusal: Otherwise why not (for the metrics and logs; never sent to the client).
    """

    comment_id: str | None
    refusal: Refusal | None = None


def normalised_address(email: str) -> str:
    """The form of an e-mail address that identities are computed from."""
    return email.strip().lower()


class CommenterTokens:
    """Issues and checks commenter tokens and comment receipts.

    Args:
        secret: The deployment's secret key.
        ttl_seconds: How long a token is valid after it is issued.
        clock: Source of the current time in seconds.
    """

    def __init__(
        self, secret: str, *, ttl_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        key = secret.encode()
        token_key = hmac.digest(key, _TOKEN_PURPOSE, "sha256")
        self._signer = Signer(token_key, key_derivation="none", digest_method=hashlib.sha256)
        # Every 202 carries a receipt: the keyed state is set up once and copied per use.
        self._receipt_mac = hmac.new(
            hmac.digest(key, _RECEIPT_PURPOSE, "sha256"), digestmod=hashlib.sha256
        )
        self._identity_key = hmac.digest(key, _IDENTITY_PURPOSE, "sha256")
        self.ttl_seconds = ttl_seconds
        self._clock = clock

    # -- receipts -------------------------------------------------------------------

    def receipt(self, comment_id: str) -> str:
        """The receipt of a new comment: proof of having posted it, for its poster."""
        mac = self._receipt_mac.copy()
        mac.update(comment_id.encode())
        return mac.hexdigest()[:32]

    def receipt_matches(self, comment_id: str, receipt: str) -> bool:
        """Whether ``receipt`` is the receipt of ``comment_id`` (constant time)."""
        return hmac.compare_digest(self.receipt(comment_id).encode(), receipt.encode())

    # -- tokens ---------------------------------------------------------------------

    def identity(self, email: str) -> str:
        """The commenter's identity: a keyed digest of the normalised e-mail address."""
        address = normalised_address(email).encode()
        return hmac.new(self._identity_key, address, hashlib.sha256).hexdigest()[:32]

    def issue(self, comment_id: str, email: str) -> str:
        """A token naming the author of ``comment_id`` (a published comment) and it."""
        claims = {"a": self.identity(email), "c": comment_id, "t": round(self._clock(), 3)}
        payload = base64_encode(json.dumps(claims, separators=(",", ":")))
        return self._signer.sign(payload).decode("ascii")

    def vouching(self, token: str, email: str) -> Vouching:
        """Check a token sent with a new comment by ``email``.

        Args:
            token: The ``commenter_token`` field ('' when absent).
            email: The new comment's e-mail address ('' when absent).

        Returns:
            The earning comment's id, or why the token does not vouch for this comment:
            ``missing`` (no token, or no e-mail address to match), ``forged`` (not signed
            here, or not a token), ``expired``, ``future`` (issued ahead of the clock by
            more than :data:`CLOCK_SKEW_SECONDS`) or ``other_author`` (another address).
        """
        if not token or not email:
            return Vouching(None, "missing")
        claims = self._signed_claims(token)
        if (
            not isinstance(claims, dict)
            or not claims.keys() >= _CLAIMS
            or not isinstance(claims["a"], str)
            or not isinstance(claims["c"], str)
            or not isinstance(claims["t"], int | float)
            or isinstance(claims["t"], bool)
        ):
            return Vouching(None, "forged")
        age = self._clock() - claims["t"]
        if age > self.ttl_seconds:
            return Vouching(None, "expired")
        if age < -CLOCK_SKEW_SECONDS:
            return Vouching(None, "future")
        if not hmac.compare_digest(claims["a"].encode(), self.identity(email).encode()):
            return Vouching(None, "other_author")
        return Vouching(claims["c"])

    def _signed_claims(self, token: str) -> Any:
        if not token.isascii():
            return None
        try:
            return json.loads(base64_decode(self._signer.unsign(token)).decode())
        except (BadData, ValueError):  # unsigned, or signed yet not UTF-8 JSON issued here
            return None
