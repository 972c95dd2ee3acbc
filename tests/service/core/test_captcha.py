import base64
import hashlib
import hmac
import json
import random
import re
import time
from typing import Any

import pytest

from service.core.captcha import CLOCK_SKEW_SECONDS, CaptchaError, CaptchaIssuer, parse_answer
from tests.conftest import solve, solved

QUESTION = re.compile(r"^(\?|\d+) ([+\u2212\u00d7]) (\?|\d+) = (\?|\d+)$")


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def issuer(seed: int = 0, clock: Clock | None = None, **kwargs: object) -> CaptchaIssuer:
    return CaptchaIssuer(
        "secret",
        rng=random.Random(seed),
        clock=clock or Clock(),
        **kwargs,  # type: ignore[arg-type]
    )


def test_questions_have_one_blank_in_every_position_and_valid_answers() -> None:
    captcha = issuer()
    positions = set()
    ops = set()
    for _ in range(300):
        challenge = captcha.issue()
        match = QUESTION.match(challenge.question)
        assert match, challenge.question
        slots = [match.group(1), match.group(3), match.group(4)]
        assert slots.count("?") == 1
        positions.add(slots.index("?"))
        ops.add(match.group(2))
        answer = solve(challenge.question)
        assert answer >= 0
        captcha.verify(challenge.token, str(answer))
    assert positions == {0, 1, 2}
    assert ops == {"+", "\u2212", "\u00d7"}


def test_prompt_reads_the_question_for_screen_readers() -> None:
    captcha = issuer(seed=3, operations=["-"])
    challenge = captcha.issue()
    assert "minus" in challenge.prompt
    assert "what number" in challenge.prompt.lower()
    assert challenge.prompt.endswith("?")


def test_token_never_holds_the_answer_in_clear() -> None:
    captcha = issuer(seed=1, max_operand=99, operations=["x"])
    for _ in range(50):
        challenge = captcha.issue()
        answer = str(solve(challenge.question))
        payload = challenge.token.split(".")[0]
        decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert answer not in [str(v) for v in decoded.values()]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", 7),
        ("  12 ", 12),
        ("seven", 7),
        ("Seven", 7),
        ("twenty-one", 21),
        ("twenty one", 21),
        ("forty", 40),
        ("one hundred", 100),
        ("", None),
        ("7.5", None),
        ("-3", None),
        ("seven apples", None),
        ("\u0667", None),
    ],
)
def test_parse_answer(text: str, expected: int | None) -> None:
    assert parse_answer(text) == expected


def test_answer_in_words_is_accepted() -> None:
    captcha = issuer(seed=5, operations=["+"], max_operand=5)
    challenge = captcha.issue()
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    solved = captcha.verify(challenge.token, f"  {words[solve(challenge.question)]}  ")
    assert solved.nonce


def test_wrong_answer() -> None:
    captcha = issuer()
    challenge = captcha.issue()
    with pytest.raises(CaptchaError) as info:
        captcha.verify(challenge.token, str(solve(challenge.question) + 1))
    assert info.value.reason == "wrong_answer"


def test_expired_token() -> None:
    clock = Clock()
    captcha = issuer(clock=clock, ttl_seconds=600)
    challenge = captcha.issue()
    clock.now += 601
    with pytest.raises(CaptchaError) as info:
        captcha.verify(challenge.token, str(solve(challenge.question)))
    assert info.value.reason == "expired"


def test_forged_and_foreign_tokens() -> None:
    captcha = issuer()
    challenge = captcha.issue()
    answer = str(solve(challenge.question))
    tampered = challenge.token[:-2] + ("AA" if not challenge.token.endswith("AA") else "BB")
    payload, _, signature = challenge.token.partition(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    later = base64.urlsafe_b64encode(json.dumps(claims | {"t": claims["t"] + 500}).encode())
    rewritten = f"{later.decode().rstrip('=')}.{signature}"
    other_deployment = CaptchaIssuer("another-secret", rng=random.Random(0), clock=Clock())
    for token in (tampered, rewritten, other_deployment.issue().token, "garbage", "a.b.c", "é.x"):
        with pytest.raises(CaptchaError) as info:
            captcha.verify(token, answer)
        assert info.value.reason == "forged"


def test_missing_answer() -> None:
    with pytest.raises(CaptchaError) as info:
        issuer().verify("", "")
    assert info.value.reason == "missing"


def test_solve_time_is_measured() -> None:
    clock = Clock()
    captcha = issuer(clock=clock)
    challenge = captcha.issue()
    clock.now += 1.5
    solved = captcha.verify(challenge.token, str(solve(challenge.question)))
    assert solved.solve_seconds == pytest.approx(1.5, abs=0.01)


def test_tokens_are_plain_itsdangerous_hmac_sha256() -> None:
    # The issuer keeps its keyed HMAC state between tokens; the tokens and answer
    # digests must be exactly what the plain construction gives.
    from itsdangerous import Signer, base64_decode

    from service.core import captcha

    key = hmac.digest(b"secret", captcha._KEY_PURPOSE, "sha256")
    plain = Signer(key, key_derivation="none", digest_method=hashlib.sha256)
    checker = issuer(seed=3)
    for _ in range(20):
        challenge = checker.issue()
        claims = json.loads(base64_decode(plain.unsign(challenge.token)))
        answer = solve(challenge.question)
        message = captcha._ANSWER + f"{claims['n']}:{answer}".encode()
        assert claims["d"] == hmac.digest(key, message, "sha256").hex()[:32]
    assert not plain.validate(issuer().issue().token + "x")


def test_token_issued_in_the_future_is_refused_beyond_the_clock_skew() -> None:
    # A token from a clock an hour ahead would stay valid for an hour and ten minutes,
    # long after the record of its spent nonce (kept for the TTL) is gone.
    clock = Clock()
    ahead = Clock()
    ahead.now = clock.now + 3600
    captcha = issuer(clock=clock, ttl_seconds=600)
    future = issuer(clock=ahead, ttl_seconds=600).issue()
    with pytest.raises(CaptchaError) as info:
        captcha.verify(future.token, str(solve(future.question)))
    assert info.value.reason == "forged"
    ahead.now = clock.now + CLOCK_SKEW_SECONDS - 1  # a replica whose clock is a little ahead
    skewed = issuer(clock=ahead, ttl_seconds=600).issue()
    accepted = captcha.verify(skewed.token, str(solve(skewed.question)))
    assert accepted.solve_seconds == 0.0


def test_intake_refuses_a_token_from_the_future(make_settings: Any) -> None:
    from service.web.app import create_app

    settings = make_settings()
    client = create_app(settings).test_client()
    ahead = CaptchaIssuer(settings.secret, clock=lambda: time.time() + 3600)
    challenge = ahead.issue()
    payload = solved({"token": challenge.token, "question": challenge.question})
    response = client.post("/api/v1/comments", json=payload)
    assert response.status_code == 422
    assert response.get_json()["reason"] == "forged"
