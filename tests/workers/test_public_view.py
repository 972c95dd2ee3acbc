"""A spammer cannot tell a comment filed as spam from one waiting for a moderator."""

from __future__ import annotations

import re
from typing import Any

import redis
from flask.testing import FlaskClient

from service.core.store import keys
from service.core.store.lists import ListStore
from service.web.pages import DEMO_THREAD
from tests.conftest import new_comment
from tests.workers.conftest import Workers

#: Every comment is held by its score; the blocked term files one as spam.
HOLD_ALL = {"COMMENTGATE_PUBLISH_BELOW": "0", "COMMENTGATE_SPAM_ABOVE": "1.0"}
#: The same length, so the two comments differ only by the verdict.
SPAM_BODY = "Fresh marmalade for sale, ask me for the price today."
HELD_BODY = "Fresh rhubarbjam for sale, ask me for the price today."


def post_form(client: FlaskClient, body: str) -> tuple[str, str]:
    """Post the demo page's form as a browser would: the redirect and the comment id."""
    form = new_comment(client, thread=DEMO_THREAD, body=body, author_name="Bo")
    response = client.post(
        "/api/v1/comments",
        data=form,
        headers={"Accept": "text/html", "Referer": "http://localhost/"},
    )
    assert response.status_code == 303
    location = response.headers["Location"]
    match = re.search(r"comment=([\w-]+)", location)
    assert match is not None
    return location, match.group(1)


def scrub(text: str, comment_id: str, body: str) -> str:
    """What a spammer compares: the answer without the comment's own id, body and times."""
    text = text.replace(comment_id, "ID").replace(body, "BODY")
    return re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)?", "TIME", text)


def public_answers(client: FlaskClient, comment_id: str, body: str) -> dict[str, Any]:
    status = client.get(f"/api/v1/comments/{comment_id}")
    page = client.get(f"/?comment={comment_id}")
    assert status.status_code == page.status_code == 200
    return {
        "status": scrub(status.get_data(as_text=True), comment_id, body),
        "status headers": sorted(
            (k, scrub(v, comment_id, body))
            for k, v in status.headers
            if k not in ("Content-Length", "X-Request-ID")
        ),
        # The page apart from its form, whose captcha changes on every load.
        "page": re.sub(
            r"<form.*</form>", "", scrub(page.get_data(as_text=True), comment_id, body), flags=re.S
        ),
    }


def test_spam_looks_like_a_held_comment_to_the_public(
    client: FlaskClient, workers: Workers, redis_client: redis.Redis
) -> None:
    ListStore(redis_client).add("block", "terms", "marmalade")
    spam_redirect, spam = post_form(client, SPAM_BODY)
    held_redirect, held = post_form(client, HELD_BODY)
    workers.burst(**HOLD_ALL)
    assert redis_client.hget(keys.comment(spam), "status") == b"spam"
    assert redis_client.hget(keys.comment(held), "status") == b"held"

    assert spam_redirect.replace(spam, "ID") == held_redirect.replace(held, "ID")
    spam_view = client.get(f"/api/v1/comments/{spam}").get_json()
    assert spam_view["status"] == "held"
    assert spam_view["decided_at"] is not None
    seen_spam = public_answers(client, spam, SPAM_BODY)
    seen_held = public_answers(client, held, HELD_BODY)
    assert "awaiting moderation" in seen_spam["page"]
    assert seen_spam == seen_held


def test_openapi_never_promises_a_spam_status(client: FlaskClient) -> None:
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    status = schemas["CommentView"]["properties"]["status"]
    assert status["enum"] == ["pending", "published", "held", "rejected"]
    assert "spam" in status["description"]
