"""Arithmetic captcha: "? \u2212 3 = 4" challenges in signed, single-use tokens.

A challenge is an equation with one blank among its three slots. The token carries a
nonce, its issue time and a keyed digest of the answer, so an answer can be checked
without a lookup and the answer never travels in clear. It is
``<payload>.<signature>``: the payload is that JSON object in URL-safe base64, signed by
itsdangerous' ``Signer`` (HMAC-SHA256) under a key derived once from the secret key for
captchas alone. Tokens are checked on the intake's hot path, so the key is derived at
start-up and the payload carries its own issue time (expiry is read from it) rather
than going through ``URLSafeTimedSerializer``, which re-derives the key, compresses and
re-encodes on every check. Spending the nonce (single use) is the store's job: it
happens atomically with storing the comment.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from itsdangerous import BadData, Signer, base64_decode, base64_encode
from itsdangerous.signer import HMACAlgorithm

Operation = Literal["+", "-", "x"]

#: How each operation is shown in the question and read in the spoken prompt.
_SYMBOLS: dict[str, str] = {"+": "+", "-": "\u2212", "x": "\u00d7"}
_WORDS: dict[str, str] = {"+": "plus", "-": "minus", "x": "times"}

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
)
_NUMBER_WORDS: dict[str, int] = {word: value for value, word in enumerate(_UNITS.split())}
_TENS: dict[str, int] = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
#: What the captcha key is derived for: no other use of the secret key shares it.
_KEY_PURPOSE = b"commentgate.captcha.v2"
#: Prefix keeping the answer's digest apart from anything else the key signs.
_ANSWER = b"answer:"
#: Reads a token's claims. ``json.loads`` on bytes first sniffs their encoding in Python,
#: which costs more than the rest of the decoding; the payload is decoded here instead.
_CLAIMS_JSON = json.JSONDecoder()
#: A token's claims: its nonce, its issue time and the digest of its answer.
_CLAIMS = frozenset({"n", "t", "d"})
#: How far in the future a token's issue time may lie (clocks of web replicas differ).
#: A token from further ahead would outlive its spent nonce's record, and be replayed.
CLOCK_SKEW_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Challenge:
    """A captcha as sent to a client."""

    token: str
    question: str
    prompt: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class SolvedCaptcha:
    """What a correctly answered token tells the intake."""

    nonce: str
    issued_at: float
    solve_seconds: float


class _KeyedHMAC(HMACAlgorithm):
    """itsdangerous' HMAC-SHA256 with the key's schedule computed once.

    A captcha issuer signs with one key, so the keyed HMAC state is kept and copied per
    signature instead of set up again (with OpenSSL 3 that setup is a large share of an
    HMAC's cost; docs/performance.md, "Intake"). Any other key is signed the usual way.
    """

    def __init__(self, key: bytes) -> None:
        super().__init__(hashlib.sha256)
        self._key = key
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        """The HMAC of ``value`` under ``key``."""
        if key != self._key:
            return super().get_signature(key, value)
        mac = self._keyed.copy()
        mac.update(value)
        return mac.digest()


class CaptchaError(ValueError):
    """The answer is wrong or the token unusable; ``reason`` says which.

    ``nonce`` is the token's nonce when the token itself was genuine (a wrong answer),
    so the caller can count the failed attempts against it.
    """

    def __init__(self, reason: str, nonce: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.nonce = nonce


def parse_answer(answer: str) -> int | None:
    """Read an answer given as digits or English number words.

    Args:
        answer: What the person typed, e.g. ``" 7 "``, ``"seven"``, ``"twenty-one"``.

    Returns:
        The number, or ``None`` when the text is not a non-negative whole number.
    """
    text = answer.strip().lower()
    if not text or len(text) > 40:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    words = [word for word in re.split(r"[\s-]+", text) if word and word != "and"]
    if len(words) == 1 and words[0] in _NUMBER_WORDS:
        return _NUMBER_WORDS[words[0]]
    if len(words) == 1 and words[0] in _TENS:
        return _TENS[words[0]]
    if len(words) == 2 and words[0] in _TENS and words[1] in _NUMBER_WORDS:
        unit = _NUMBER_WORDS[words[1]]
        if 1 <= unit <= 9:
            return _TENS[words[0]] + unit
    if words in (["hundred"], ["one", "hundred"], ["a", "hundred"]):
        return 100
    return None


class CaptchaIssuer:
    """Issues and checks arithmetic captchas.

    Args:
        secret: The deployment's secret key.
        ttl_seconds: How long a token is valid.
        operations: Which of ``+``, ``-``, ``x`` questions may use.
        max_operand: Largest operand shown.
        rng: Source of randomness (tests pass a seeded :class:`random.Random`).
        clock: Source of the current time in seconds.
    """

    def __init__(
        self,
        secret: str,
        *,
        ttl_seconds: int = 600,
        operations: Sequence[str] = ("+", "-", "x"),
        max_operand: int = 10,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        key = hmac.digest(secret.encode(), _KEY_PURPOSE, "sha256")
        self._signer = Signer(key, key_derivation="none", algorithm=_KeyedHMAC(key))
        self._answer_mac = hmac.new(key, _ANSWER, hashlib.sha256)
        self.ttl_seconds = ttl_seconds
        self._operations = list(operations)
        self._max_operand = max_operand
        self._rng = rng or random.SystemRandom()
        self._clock = clock

    def issue(self) -> Challenge:
        """Make a new challenge with a signed token."""
        op = self._rng.choice(self._operations)
        a, b, result = self._equation(op)
        blank = self._rng.randrange(3)
        slots = [str(a), str(b), str(result)]
        answer = slots[blank]
        slots[blank] = "?"
        question = f"{slots[0]} {_SYMBOLS[op]} {slots[1]} = {slots[2]}"
        spoken = ["what number" if slot == "?" else slot for slot in slots]
        prompt = f"{spoken[0]} {_WORDS[op]} {spoken[1]} equals {spoken[2]}?"
        prompt = prompt[0].upper() + prompt[1:]
        nonce = secrets.token_urlsafe(12)
        issued_at = round(self._clock(), 3)
        claims = {"n": nonce, "t": issued_at, "d": self._digest(nonce, int(answer))}
        payload = base64_encode(json.dumps(claims, separators=(",", ":")))
        token = self._signer.sign(payload).decode("ascii")
        return Challenge(token=token, question=question, prompt=prompt, expires_in=self.ttl_seconds)

    def verify(self, token: str, answer: str) -> SolvedCaptcha:
        """Check an answer against its token, without spending the token.

        Args:
            token: The token the challenge came with.
            answer: The answer as typed.

        Returns:
            The token's nonce and timing, for the caller to spend and record.

        Raises:
            CaptchaError: With ``reason`` one of ``missing``, ``forged`` (also for a
                token issued more than :data:`CLOCK_SKEW_SECONDS` in the future),
                ``expired``, ``wrong_answer``.
        """
        if not token or not answer or not answer.strip():
            raise CaptchaError("missing")
        claims = self._signed_claims(token)
        if not isinstance(claims, dict) or not claims.keys() >= _CLAIMS:
            raise CaptchaError("forged")
        nonce, issued_at, digest = claims["n"], claims["t"], claims["d"]
        if not isinstance(nonce, str) or not isinstance(issued_at, (int, float)):
            raise CaptchaError("forged")
        now = self._clock()
        if issued_at - now > CLOCK_SKEW_SECONDS:
            raise CaptchaError("forged")
        if now - issued_at > self.ttl_seconds:
            raise CaptchaError("expired")
        value = parse_answer(answer)
        if value is None or not hmac.compare_digest(str(digest), self._digest(nonce, value)):
            raise CaptchaError("wrong_answer", nonce=nonce)
        return SolvedCaptcha(
            nonce=nonce, issued_at=issued_at, solve_seconds=max(0.0, now - issued_at)
        )

    def _signed_claims(self, token: str) -> Any:
        """The decoded payload of a token this issuer signed.

        Raises:
            CaptchaError: ``forged`` when the signature does not match.
        """
        if not token.isascii():
            raise CaptchaError("forged")
        try:
            return _CLAIMS_JSON.decode(base64_decode(self._signer.unsign(token)).decode())
        except (BadData, ValueError):  # unsigned, or signed yet not UTF-8 JSON issued here
            raise CaptchaError("forged") from None

    def _equation(self, op: str) -> tuple[int, int, int]:
        top = self._max_operand
        if op == "+":
            a, b = self._rng.randint(0, top), self._rng.randint(0, top)
            return a, b, a + b
        if op == "-":
            b, result = self._rng.randint(0, top), self._rng.randint(0, top)
            return b + result, b, result
        a, b = self._rng.randint(1, top), self._rng.randint(1, top)
        return a, b, a * b

    def _digest(self, nonce: str, answer: int) -> str:
        mac = self._answer_mac.copy()  # keyed, and fed the prefix, once
        mac.update(f"{nonce}:{answer}".encode())
        return mac.hexdigest()[:32]
