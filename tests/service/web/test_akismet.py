"""The Akismet protocol at /1.1/, through the Flask test client.

Requests are shaped as WordPress's Akismet plugin sends them: every comment form field
again as ``POST_*``, the server's ``HTTP_*`` variables, ``api_key`` added to the body,
``Host: rest.akismet.com`` and a ``WordPress/x | Akismet/y`` user agent.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from service.core.akismet import RECHECK_AFTER_SECONDS
from service.core.sites import SiteRegistry
from service.core.store import CommentStore, keys
from service.core.store.lists import ListStore
from service.web.akismet import THANKS
from tests.conftest import auth
from tests.service.core.test_metrics import received

BLOG = "https://blog.example/"
POST = "https://blog.example/2026/11/cache-sizing/"
GENUINE = "Great explanation of the migration steps, it saved me an afternoon of debugging."
SPAMMY = (
    "CHEAP PILLS!!! buy now http://pills.example http://pills.example/buy click here "
    "best price casino win money fast"
)
WORDPRESS_UA = "WordPress/6.8.1 | Akismet/5.4"
WP_HEADERS = {"Host": "rest.akismet.com", "User-Agent": WORDPRESS_UA}


@pytest.fixture
def site_key(redis_client: redis.Redis) -> str:
    _, key = SiteRegistry(redis_client).add("blog", url=BLOG)
    return key


def wordpress_form(key: str, content: str, **extra: str) -> dict[str, str]:
    """A comment-check body as WordPress's Akismet plugin builds it (values of our own)."""
    form = {
        "comment_post_ID": "42",
        "comment_author": "Rosa Lind",
        "comment_author_email": "rosa@mail.example",
        "comment_author_url": "",
        "comment_content": content,
        "comment_type": "comment",
        "comment_parent": "0",
        "user_ID": "0",
        "user_id": "0",
        "comment_author_IP": "203.0.113.7",
        "comment_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        "comment_date": "2026-12-02 10:11:12",
        "comment_date_gmt": "2026-12-02 09:11:12",
        "comment_post_modified_gmt": "2026-11-30 08:00:00",
        "user_ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        "referrer": POST,
        "blog": BLOG,
        "blog_lang": "en_GB",
        "blog_charset": "UTF-8",
        "permalink": POST,
        "akismet_comment_nonce": "passed",
        "comment_context[0]": "caching",
        "comment_context[1]": "performance",
        "callback": "https://blog.example/wp-json/akismet/v1/webhook",
        "POST_comment": content,
        "POST_author": "Rosa Lind",
        "POST_email": "rosa@mail.example",
        "POST_url": "",
        "POST_submit": "Post Comment",
        "POST_comment_post_ID": "42",
        "POST_comment_parent": "0",
        "POST_akismet_comment_nonce": "0123456789",
        "POST_ak_hp_textarea": "",
        "POST_ak_js": "1764666670000",
        "HTTP_HOST": "blog.example",
        "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        "HTTP_ACCEPT": "text/html,application/xhtml+xml",
        "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.7",
        "HTTP_REFERER": POST,
        "REMOTE_ADDR": "203.0.113.7",
        "REQUEST_URI": "/wp-comments-post.php",
        "api_key": key,
    }
    form.update(extra)
    return form


def check(client: FlaskClient, key: str, content: str, **extra: str) -> Any:
    return client.post(
        "/1.1/comment-check", data=wordpress_form(key, content, **extra), headers=WP_HEADERS
    )


# -- verify-key --------------------------------------------------------------------------


def test_verify_key(client: FlaskClient, site_key: str) -> None:
    valid = client.post("/1.1/verify-key", data={"key": site_key, "blog": BLOG}, headers=WP_HEADERS)
    assert (valid.status_code, valid.mimetype, valid.get_data(as_text=True)) == (
        200,
        "text/plain",
        "valid",
    )
    wrong = client.post("/1.1/verify-key", data={"key": "cgs_nope", "blog": BLOG})
    assert wrong.get_data(as_text=True) == "invalid"
    assert "site key" in wrong.headers["X-akismet-debug-help"]
    missing = client.post("/1.1/verify-key", data={"key": site_key})
    assert missing.status_code == 400
    assert missing.get_data(as_text=True) == "Missing required field: blog."
    assert missing.headers["X-akismet-debug-help"] == "Missing required field: blog."


def test_a_revoked_key_is_invalid(
    client: FlaskClient, site_key: str, redis_client: redis.Redis
) -> None:
    SiteRegistry(redis_client).revoke("blog")
    assert check(client, site_key, GENUINE).get_data(as_text=True) == "invalid"


# -- comment-check -----------------------------------------------------------------------


def test_a_genuine_comment_is_false_and_published(
    client: FlaskClient, site_key: str, redis_client: redis.Redis
) -> None:
    response = check(client, site_key, GENUINE)
    assert (response.status_code, response.mimetype) == (200, "text/plain")
    assert response.get_data(as_text=True) == "false"
    assert "X-akismet-pro-tip" not in response.headers
    assert "X-akismet-recheck-after" not in response.headers
    comment = CommentStore(redis_client).get(response.headers["X-akismet-guid"])
    assert comment is not None
    assert (comment.site, comment.thread, comment.status.value) == ("blog", POST, "published")
    assert (comment.author_name, comment.author_email, comment.ip) == (
        "Rosa Lind",
        "rosa@mail.example",
        "203.0.113.7",
    )
    assert comment.user_agent.startswith("Mozilla/5.0")
    listed = client.get("/api/v1/comments", query_string={"thread": POST, "site": "blog"})
    listed = listed.get_json()
    assert [c["id"] for c in listed["comments"]] == [comment.id]
    assert received(redis_client) == {("blog", "accepted"): 1}  # as intake counts


def test_spam_is_true_and_blatant_spam_may_be_discarded(
    client: FlaskClient, site_key: str, redis_client: redis.Redis
) -> None:
    response = check(client, site_key, SPAMMY)
    assert response.get_data(as_text=True) == "true"
    assert response.headers["X-akismet-pro-tip"] == "discard"
    comment = CommentStore(redis_client).get(response.headers["X-akismet-guid"])
    assert comment is not None
    assert comment.status.value == "spam"


def test_a_block_listed_commenter_is_discarded(
    client: FlaskClient, site_key: str, redis_client: redis.Redis
) -> None:
    ListStore(redis_client, "blog").add("block", "emails", "rosa@mail.example")
    response = check(client, site_key, GENUINE)
    assert response.get_data(as_text=True) == "true"
    assert response.headers["X-akismet-pro-tip"] == "discard"


def test_a_filled_honeypot_is_spam_but_not_discarded(client: FlaskClient, site_key: str) -> None:
    response = check(client, site_key, GENUINE, POST_ak_hp_textarea="I am a bot")
    assert response.get_data(as_text=True) == "true"
    assert "X-akismet-pro-tip" not in response.headers
    named = check(client, site_key, GENUINE, honeypot_field_name="hp_field", hp_field="filled")
    assert named.get_data(as_text=True) == "true"


def test_held_is_false_and_asks_the_client_to_keep_it_pending(
    client: FlaskClient, site_key: str, redis_client: redis.Redis
) -> None:
    SiteRegistry(redis_client).configure("blog", premoderation=True)
    response = check(client, site_key, GENUINE)
    assert response.get_data(as_text=True) == "false"
    assert response.headers["X-akismet-recheck-after"] == str(RECHECK_AFTER_SECONDS)
    comment = CommentStore(redis_client).get(response.headers["X-akismet-guid"])
    assert comment is not None
    assert comment.status.value == "held"


def test_a_test_call_is_answered_but_not_stored(
    client: FlaskClient, site_key: str, redis_client: redis.Redis
) -> None:
    response = check(client, site_key, SPAMMY, is_test="1")
    assert response.get_data(as_text=True) == "true"
    assert "X-akismet-guid" not in response.headers
    assert redis_client.keys(keys.comment("*")) == []
    assert received(redis_client) == {}


def test_an_administrator_is_never_spam(
    client: FlaskClient, site_key: str, redis_client: redis.Redis
) -> None:
    response = check(client, site_key, SPAMMY, user_role="editor,administrator")
    assert response.get_data(as_text=True) == "false"
    assert redis_client.keys(keys.comment("*")) == []


def test_a_recheck_answers_with_the_current_status(
    client: FlaskClient, site_key: str, tokens: dict[str, str]
) -> None:
    first = check(client, site_key, SPAMMY)
    guid = first.headers["X-akismet-guid"]
    approved = client.post(
        f"/api/v1/moderation/comments/{guid}",
        json={"action": "approve"},
        headers=auth(tokens["moderator"]),
    )
    assert approved.status_code == 200, approved.get_json()
    again = check(client, site_key, SPAMMY, recheck_reason="recheck_queue")
    assert again.get_data(as_text=True) == "false"
    assert again.headers["X-akismet-guid"] == guid


def test_the_key_may_come_in_a_header_or_the_host(client: FlaskClient, site_key: str) -> None:
    form = wordpress_form("", GENUINE)
    del form["api_key"]
    bearer = client.post(
        "/1.1/comment-check", data=form, headers={"Authorization": f"Bearer {site_key}"}
    )
    assert bearer.get_data(as_text=True) == "false"
    subdomain = client.post(
        "/1.1/comment-check", data=form, headers={"Host": f"{site_key}.rest.akismet.com"}
    )
    assert subdomain.get_data(as_text=True) == "false"
    nothing = client.post("/1.1/comment-check", data=form)
    assert nothing.get_data(as_text=True) == "invalid"
    assert nothing.headers["X-akismet-debug-help"]


@pytest.mark.parametrize("field", ["blog", "user_ip"])
def test_a_missing_required_field_is_a_400(client: FlaskClient, site_key: str, field: str) -> None:
    form = wordpress_form(site_key, GENUINE)
    del form[field]
    response = client.post("/1.1/comment-check", data=form)
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == f"Missing required field: {field}."
    assert response.headers["X-akismet-debug-help"] == f"Missing required field: {field}."


def test_bad_requests_are_answered_in_text_never_500(client: FlaskClient, site_key: str) -> None:
    too_big = client.post(
        "/1.1/comment-check",
        data=wordpress_form(site_key, "x" * (2 * 1024 * 1024)),
    )
    assert too_big.status_code == 413
    assert too_big.mimetype == "text/plain"
    assert too_big.headers["X-akismet-debug-help"]
    not_a_form = client.post(
        "/1.1/comment-check", data=b"\xff\xfe{", content_type="application/json"
    )
    assert not_a_form.get_data(as_text=True) == "invalid"
    garbage = client.post(
        "/1.1/comment-check",
        data=b"api_key=" + site_key.encode() + b"&blog=%ZZ&user_ip=\xff\xfe&comment_content=%00",
        content_type="application/x-www-form-urlencoded",
    )
    assert garbage.status_code == 200
    assert garbage.get_data(as_text=True) in ("true", "false")


def test_redis_down_is_a_503_in_text(make_settings: Any) -> None:
    from service.web.app import create_app

    down = create_app(make_settings(redis_url="redis://127.0.0.1:1/0")).test_client()
    response = down.post("/1.1/comment-check", data=wordpress_form("cgs_x", GENUINE))
    assert response.status_code == 503
    assert response.mimetype == "text/plain"
    assert response.headers["X-akismet-error"]


def test_the_akismet_api_is_not_in_the_openapi_document(app: Flask) -> None:
    from service.web.apidoc import build_document

    assert not [path for path in build_document(app)["paths"] if path.startswith("/1.1")]


# -- submit-spam and submit-ham -------------------------------------------------------------


def feedback(redis_client: redis.Redis, site: str = "blog") -> list[dict[str, str]]:
    """The labels in a site's feedback stream."""
    return [
        {k.decode(): v.decode() for k, v in fields.items()}
        for _, fields in redis_client.xrange(keys.feedback(site))
    ]


def test_submit_spam_by_guid_moves_the_comment_and_labels_it(
    client: FlaskClient, site_key: str, redis_client: redis.Redis, tokens: dict[str, str]
) -> None:
    guid = check(client, site_key, GENUINE).headers["X-akismet-guid"]
    response = client.post(
        "/1.1/submit-spam",
        data=wordpress_form(site_key, GENUINE, guid=guid, reporter="editor"),
        headers=WP_HEADERS,
    )
    assert (response.status_code, response.get_data(as_text=True)) == (200, THANKS)
    queue = client.get(
        "/api/v1/moderation/queue",
        query_string={"status": "spam"},
        headers=auth(tokens["moderator"]),
    ).get_json()
    assert [(c["id"], c["moderated_by"]) for c in queue["comments"]] == [(guid, "site:blog")]
    assert [(f["comment_id"], f["label"], f["moderator"]) for f in feedback(redis_client)] == [
        (guid, "spam", "site:blog")
    ]
    listed = client.get("/api/v1/comments", query_string={"thread": POST, "site": "blog"})
    listed = listed.get_json()
    assert listed["comments"] == []


def test_submit_ham_without_guid_finds_the_comment_by_its_content(
    client: FlaskClient, site_key: str, redis_client: redis.Redis
) -> None:
    guid = check(client, site_key, SPAMMY).headers["X-akismet-guid"]
    rewrapped = SPAMMY.replace(" ", "\n", 3)
    response = client.post("/1.1/submit-ham", data=wordpress_form(site_key, rewrapped))
    assert response.get_data(as_text=True) == THANKS
    comment = CommentStore(redis_client).get(guid)
    assert comment is not None
    assert comment.status.value == "published"
    assert [(f["comment_id"], f["label"]) for f in feedback(redis_client)] == [(guid, "ham")]


def test_a_report_of_an_unknown_comment_stores_it_labelled(
    client: FlaskClient, site_key: str, redis_client: redis.Redis
) -> None:
    response = client.post("/1.1/submit-spam", data=wordpress_form(site_key, GENUINE))
    assert response.get_data(as_text=True) == THANKS
    (label,) = feedback(redis_client)
    comment = CommentStore(redis_client).get(label["comment_id"])
    assert comment is not None
    assert (comment.site, comment.status.value, comment.body) == ("blog", "spam", GENUINE)


def test_a_site_cannot_report_another_sites_comment(
    client: FlaskClient, site_key: str, redis_client: redis.Redis
) -> None:
    _, other_key = SiteRegistry(redis_client).add("news", url="https://news.example/")
    guid = check(client, site_key, GENUINE).headers["X-akismet-guid"]
    client.post("/1.1/submit-spam", data=wordpress_form(other_key, GENUINE, guid=guid))
    comment = CommentStore(redis_client).get(guid)
    assert comment is not None
    assert comment.status.value == "published"
    assert feedback(redis_client) == []  # nothing for blog: a new comment of news
    (label,) = feedback(redis_client, "news")
    assert label["moderator"] == "site:news"
    assert label["comment_id"] != guid


def test_a_test_report_changes_nothing(
    client: FlaskClient, site_key: str, redis_client: redis.Redis
) -> None:
    guid = check(client, site_key, GENUINE).headers["X-akismet-guid"]
    response = client.post(
        "/1.1/submit-spam", data=wordpress_form(site_key, GENUINE, guid=guid, is_test="true")
    )
    assert response.get_data(as_text=True) == THANKS
    assert feedback(redis_client) == []


def test_a_report_with_a_bad_key_is_invalid(client: FlaskClient) -> None:
    response = client.post("/1.1/submit-ham", data=wordpress_form("cgs_nope", GENUINE))
    assert response.get_data(as_text=True) == "invalid"
    assert response.headers["X-akismet-debug-help"]


def test_a_form_in_the_blogs_own_charset_is_decoded_with_it(
    client: FlaskClient, site_key: str, redis_client: redis.Redis
) -> None:
    text = "Très clair, merci : la deuxième figure répond à ma question."
    body = urlencode(wordpress_form(site_key, text, blog_charset="ISO-8859-1"), encoding="latin-1")
    response = client.post(
        "/1.1/comment-check",
        data=body,
        content_type="application/x-www-form-urlencoded; charset=ISO-8859-1",
    )
    comment = CommentStore(redis_client).get(response.headers["X-akismet-guid"])
    assert comment is not None
    assert comment.body == text
