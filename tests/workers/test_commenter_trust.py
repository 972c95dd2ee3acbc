"""Issue 13, item 3: "previously approved" follows a commenter token, never a bare address.

Through the API and real worker processes: carol earns a token with a published comment;
a stranger typing her address is decided like anyone else; carol with her token skips
only the middling score's hold; bad tokens are ignored; a moderator marking the earning
comment as spam revokes the token.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from service.core.commenter_tokens import CommenterTokens
from service.core.store import keys
from tests.conftest import TEST_SECRET, auth, new_comment
from tests.workers.conftest import Workers

PUBLISH_ALL = {"COMMENTGATE_PUBLISH_BELOW": "0.999999", "COMMENTGATE_SPAM_ABOVE": "1.0"}
#: Every score is middling: only a previously approved author is published.
HOLD_ALL = {"COMMENTGATE_PUBLISH_BELOW": "0", "COMMENTGATE_SPAM_ABOVE": "1"}
CAROL = "carol@example.org"
NOTE = "Following up on my earlier note: the second diagram cleared it up for me."
LINKS = "My notes: http://a-notes.example http://b-notes.example http://c-notes.example"


def post(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    """Post a comment; the 202's body."""
    response = client.post("/api/v1/comments", json=new_comment(client, **fields))
    assert response.status_code == 202, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def outcome(redis_client: redis.Redis, comment_id: str) -> tuple[str, list[str]]:
    stored = redis_client.hgetall(keys.comment(comment_id))
    return stored[b"status"].decode(), json.loads(stored[b"reasons"])


def exchange(client: FlaskClient, accepted: dict[str, Any]) -> Any:
    """Ask for the commenter token of a posted comment, with its receipt."""
    return client.post(
        f"/api/v1/comments/{accepted['id']}/commenter-token",
        json={"receipt": accepted["receipt"]},
    )


def earn_token(client: FlaskClient, workers: Workers, redis_client: redis.Redis) -> str:
    """Carol's first comment, published; the token its receipt obtains."""
    first = post(client, author_email=CAROL, author_name="Carol")
    assert exchange(client, first).status_code == 409  # not published yet
    workers.burst(**PUBLISH_ALL)
    assert outcome(redis_client, first["id"])[0] == "published"
    response = exchange(client, first)
    assert response.status_code == 200, response.get_json()
    token: str = response.get_json()["commenter_token"]
    assert CAROL not in token
    assert "carol" not in token.lower()
    return token


def test_a_stranger_with_carols_address_is_decided_like_anyone(
    client: FlaskClient, workers: Workers, redis_client: redis.Redis
) -> None:
    earn_token(client, workers, redis_client)
    stranger = post(client, author_email=CAROL, body=NOTE)
    stranger_links = post(client, author_email="Carol@Example.org", body=LINKS)
    workers.burst(**HOLD_ALL)
    assert outcome(redis_client, stranger["id"]) == ("held", ["model_score"])
    assert outcome(redis_client, stranger_links["id"]) == ("held", ["model_score", "links"])


def test_carol_with_her_token_skips_only_the_score_hold(
    client: FlaskClient,
    workers: Workers,
    redis_client: redis.Redis,
    make_settings: Callable[..., Any],
) -> None:
    from service.web.app import create_app

    token = earn_token(client, workers, redis_client)
    note = post(client, author_email="CAROL@example.org", body=NOTE, commenter_token=token)
    links = post(client, author_email=CAROL, body=LINKS, commenter_token=token)
    phone = post(
        client, author_email=CAROL, body="Ring me on 0161 496 0734 after six", commenter_token=token
    )
    # An intake where every captcha is answered too fast for a person.
    hasty: Flask = create_app(make_settings(captcha_min_solve_seconds=3600))
    fast = post(hasty.test_client(), author_email=CAROL, body=NOTE, commenter_token=token)
    workers.burst(**HOLD_ALL)
    assert outcome(redis_client, note["id"]) == ("published", ["previously_approved"])
    assert outcome(redis_client, links["id"]) == ("held", ["links"])
    assert outcome(redis_client, phone["id"]) == ("held", ["phone_numbers"])
    assert outcome(redis_client, fast["id"]) == ("held", ["too_fast"])


def _tampered(token: str) -> str:
    chars = list(token)
    chars[-10] = "B" if chars[-10] == "A" else "A"  # inside the signature, not its last bits
    return "".join(chars)


def _with_claims(token: str, **change: Any) -> str:
    """The token's payload changed (and not signed again)."""
    from itsdangerous import base64_decode, base64_encode

    payload, _, signature = token.rpartition(".")
    claims = json.loads(base64_decode(payload)) | change
    return base64_encode(json.dumps(claims, separators=(",", ":"))).decode() + "." + signature


BAD_TOKENS: dict[str, Callable[[str], str]] = {
    "tampered signature": _tampered,
    "payload changed": lambda token: _with_claims(token, c="AAAAAAAAAAAAAAAAAAAAAA"),
    "another key": lambda token: CommenterTokens("another-secret", ttl_seconds=60).issue(
        "AAAAAAAAAAAAAAAAAAAAAA", CAROL
    ),
    "expired": lambda token: CommenterTokens(
        TEST_SECRET, ttl_seconds=365 * 86400, clock=lambda: time.time() - 366 * 86400
    ).issue(_with_claims_id(token), CAROL),
    "issued in the future": lambda token: CommenterTokens(
        TEST_SECRET, ttl_seconds=365 * 86400, clock=lambda: time.time() + 86400
    ).issue(_with_claims_id(token), CAROL),
    "not a token": lambda token: "not-a-token",
}


def _with_claims_id(token: str) -> str:
    from itsdangerous import base64_decode

    claim: str = json.loads(base64_decode(token.rpartition(".")[0]))["c"]
    return claim


def test_bad_tokens_are_not_trusted_and_never_fail_the_comment(
    client: FlaskClient, workers: Workers, redis_client: redis.Redis
) -> None:
    token = earn_token(client, workers, redis_client)
    # Ignored rather than refused: an expired cookie or a rotated key must not lose a
    # real comment, and a refusal would tell a prober which tokens are genuine.
    ids = {
        name: post(client, author_email=CAROL, body=NOTE, commenter_token=make(token))["id"]
        for name, make in BAD_TOKENS.items()
    }
    # Genuine, but carol's: it does not vouch for dave.
    ids["another author"] = post(
        client, author_email="dave@example.org", body=NOTE, commenter_token=token
    )["id"]
    ids["no address"] = post(client, body=NOTE, commenter_token=token)["id"]
    # A value no token could be is a malformed field, like any other.
    for field_value in (12, "x" * 1025, "tok\u0000en", "jeton-\u00e9chang\u00e9"):
        refused = client.post(
            "/api/v1/comments",
            json=new_comment(client, author_email=CAROL, commenter_token=field_value),
        )
        assert refused.status_code == 422, field_value
        assert refused.content_type == "application/problem+json"
        assert "commenter_token" in refused.get_json()["errors"]
    workers.burst(**HOLD_ALL)
    for name, comment_id in ids.items():
        assert outcome(redis_client, comment_id) == ("held", ["model_score"]), name


def test_a_token_whose_comment_was_marked_spam_no_longer_counts(
    client: FlaskClient,
    workers: Workers,
    redis_client: redis.Redis,
    tokens: dict[str, str],
) -> None:
    token = earn_token(client, workers, redis_client)
    earned_by = post(client, author_email=CAROL, body=NOTE, commenter_token=token)
    workers.burst(**HOLD_ALL)
    assert outcome(redis_client, earned_by["id"]) == ("published", ["previously_approved"])
    first_id = redis_client.hget(keys.comment(earned_by["id"]), "vouched_by")
    assert first_id
    marked = client.post(
        f"/api/v1/moderation/comments/{first_id.decode()}",
        json={"action": "spam"},
        headers=auth(tokens["moderator"]),
    )
    assert marked.status_code == 200
    after = post(client, author_email=CAROL, body=NOTE, commenter_token=token)
    workers.burst(**HOLD_ALL)
    assert outcome(redis_client, after["id"]) == ("held", ["model_score"])


@pytest.mark.parametrize("published", [True, False])
def test_only_the_receipt_obtains_a_token(
    client: FlaskClient, workers: Workers, redis_client: redis.Redis, published: bool
) -> None:
    mine = post(client, author_email=CAROL)
    other = post(client, author_email="dave@example.org")
    workers.burst(**(PUBLISH_ALL if published else HOLD_ALL))
    # The public status view carries neither the receipt nor a token.
    view = client.get(mine["status_url"]).get_json()
    assert "receipt" not in view
    assert "commenter_token" not in view
    wrong = {"id": mine["id"], "receipt": other["receipt"]}
    response = exchange(client, wrong)
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    assert exchange(client, mine).status_code == (200 if published else 409)
    if not published:  # held and spam alike: the spam verdict is never told
        redis_client.hset(keys.comment(mine["id"]), "status", "spam")
        assert exchange(client, mine).get_json()["detail"] == (
            "the comment is not published; ask again once it is"
        )


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
HIDDEN_TOKEN = re.compile(r'name="commenter_token" value="([^"]+)"')


def test_the_demo_page_keeps_the_token_in_a_cookie(
    app: Flask, client: FlaskClient, workers: Workers, redis_client: redis.Redis
) -> None:
    from service.web.pages.demo import DEMO_THREAD, RECEIPT_COOKIE, TOKEN_COOKIE

    form = new_comment(client, thread=DEMO_THREAD, author_email=CAROL)
    posted = client.post("/api/v1/comments", data=form, headers=BROWSER)
    assert posted.status_code == 303
    comment_id = parse_qs(urlsplit(posted.location).query)["comment"][-1]
    receipt_cookie = client.get_cookie(RECEIPT_COOKIE)
    assert receipt_cookie is not None
    assert receipt_cookie.http_only
    workers.burst(**PUBLISH_ALL)
    # Anyone can follow the same link: without the receipt, no token.
    stranger = app.test_client()
    page = stranger.get(f"/?comment={comment_id}")
    assert "your comment is published" in page.text
    assert HIDDEN_TOKEN.search(page.text) is None
    assert stranger.get_cookie(TOKEN_COOKIE) is None
    page = client.get(f"/?comment={comment_id}")
    kept = client.get_cookie(TOKEN_COOKIE)
    assert kept is not None
    assert kept.http_only
    assert client.get_cookie(RECEIPT_COOKIE) is None
    hidden = HIDDEN_TOKEN.search(page.text)
    assert hidden is not None
    assert hidden.group(1) == kept.value
    # The next visit's form carries the kept token; the next comment is trusted.
    again = client.get("/")
    hidden = HIDDEN_TOKEN.search(again.text)
    assert hidden is not None
    form = new_comment(
        client, thread=DEMO_THREAD, author_email=CAROL, body=NOTE, commenter_token=hidden.group(1)
    )
    second = client.post("/api/v1/comments", data=form, headers=BROWSER)
    second_id = parse_qs(urlsplit(second.location).query)["comment"][-1]
    workers.burst(**HOLD_ALL)
    assert outcome(redis_client, second_id) == ("published", ["previously_approved"])
