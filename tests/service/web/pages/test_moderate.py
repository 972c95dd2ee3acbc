"""The moderation UI at /moderate through Flask's test client, on a real Redis."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service.core.accounts import ModeratorStore, Role
from service.core.decision import Policy, read_card
from service.core.model_registry import CANDIDATE, ModelRegistry
from service.core.moderation import Action, apply_decision
from service.core.moderation_audit import audit_page
from service.core.privacy import ClientDataPurge, pseudonym, pseudonym_key
from service.core.store import Comment, CommentStatus, keys
from service.web.app import create_app
from service.web.pages import CONTENT_SECURITY_POLICY
from service.web.pages.moderate import access, presenters, queues, session
from service.web.services import EXTENSION_KEY, Services
from tests.conftest import TEST_SECRET
from tests.service.web.pages.conftest import Page, store_comment

THREAD = "https://blog.example/posts/moderated"
OTHER_THREAD = "https://blog.example/posts/elsewhere"
#: Headers of a browser posting a form from the UI.
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


# -- helpers -------------------------------------------------------------------------------


@pytest.fixture
def token(redis_client: redis.Redis) -> str:
    return ModeratorStore(redis_client).add("mia")


@pytest.fixture
def held(app: Flask) -> Callable[..., Comment]:
    """``held(**fields)``: a comment in the held queue (or another ``status``)."""

    def put(status: CommentStatus = CommentStatus.HELD, **fields: Any) -> Comment:
        fields.setdefault("thread", THREAD)
        return store_comment(app, status=status, **fields)

    return put


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def log_in(client: FlaskClient, token: str, next_path: str | None = None) -> TestResponse:
    page = client.get("/moderate/login")
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "token": token}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/moderate/login", data=data, headers=BROWSER)


def logged_in(client: FlaskClient, token: str) -> str:
    """Log in and return the CSRF token of the queue page."""
    assert log_in(client, token).status_code == 303
    page = client.get("/moderate")
    assert page.status_code == 200
    return csrf_of(page.get_data(as_text=True))


def decide(
    client: FlaskClient, csrf: str, comment_id: str, action: str, **fields: str
) -> TestResponse:
    data = {"csrf_token": csrf, "action": action, "expected": "held", "next": "/moderate"}
    data.update(fields)
    return client.post(f"/moderate/comments/{comment_id}", data=data, headers=BROWSER)


def flashes(response: TestResponse) -> list[str]:
    page = Page.of(response.get_data(as_text=True))
    return [e.text.strip() for e in page.elements if "flash" in e.attrs.get("class", "").split()]


def status_of(app: Flask, comment_id: str) -> str:
    svc: Services = app.extensions[EXTENSION_KEY]
    comment = svc.store.get(comment_id)
    assert comment is not None
    return comment.status.value


def cookie_attributes(response: TestResponse) -> dict[str, str]:
    """Attributes of the session cookie set by ``response`` (lower-case names)."""
    headers = [
        h for h in response.headers.getlist("Set-Cookie") if h.startswith(session.COOKIE_NAME)
    ]
    assert len(headers) == 1, response.headers
    parsed = SimpleCookie()
    parsed.load(headers[0])
    morsel = parsed[session.COOKIE_NAME]
    flags = {part.strip().split("=")[0].lower() for part in headers[0].split(";")[1:]}
    return {key: str(morsel[key]) for key in morsel if morsel[key]} | {
        flag: "" for flag in flags if flag in ("secure", "httponly")
    }


def moderate_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(method, url, endpoint) of every route of the moderate blueprint."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("moderate."):
            continue
        url = rule.rule
        for argument in rule.arguments:
            value = {"comment_id": "AAAAAAAAAAAAAAAAAAAAAA", "status": "spam"}.get(argument, "x")
            url = re.sub(rf"<[^>]*{argument}>", value, url)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, url, rule.endpoint))
    return routes


# -- logging in and out ------------------------------------------------------------------------


def test_the_login_page_has_a_labelled_token_field_and_a_csrf_token(client: FlaskClient) -> None:
    response = client.get("/moderate/login")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = Page.of(response.get_data(as_text=True))
    field = page.by_id("token")
    assert field.attrs["type"] == "password"
    assert field.attrs["name"] == "token"
    assert page.select("label", **{"for": "token"})[0].text == "API token"
    assert page.form_fields()["csrf_token"]
    assert not page.has_id("login-error")


def test_a_valid_token_logs_in_and_goes_where_the_moderator_was_going(
    client: FlaskClient, token: str
) -> None:
    assert client.get("/moderate/spam?q=casino").headers["Location"] == (
        "/moderate/login?next=/moderate/spam?q%3Dcasino"
    )
    response = log_in(client, token, next_path="/moderate/spam?q=casino")
    assert response.status_code == 303
    assert response.headers["Location"] == "/moderate/spam?q=casino"
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Welcome, mia." in flashes(page)
    assert 'class="whoami__name">mia<' in html
    # Logged in, the login page sends the moderator to the queue.
    assert client.get("/moderate/login").headers["Location"] == "/moderate"


@pytest.mark.parametrize("bad", ["", "cgm_not-a-token", "not even a prefix", "cgm_" + "x" * 300])
def test_a_bad_token_gets_401_and_the_same_message_whatever_it_is(
    client: FlaskClient, token: str, bad: str
) -> None:
    response = log_in(client, bad)
    assert response.status_code == 401
    page = Page.of(response.get_data(as_text=True))
    assert page.by_id("login-error").text.strip() == (
        "That token is not valid. Paste the whole token, starting with cgm_."
    )
    assert page.by_id("token").attrs["aria-invalid"] == "true"
    assert client.get("/moderate").status_code == 303  # still logged out


def test_a_revoked_moderators_token_gets_the_same_401(
    client: FlaskClient, redis_client: redis.Redis, token: str
) -> None:
    ModeratorStore(redis_client).revoke("mia")
    response = log_in(client, token)
    assert response.status_code == 401
    assert "mia" not in response.get_data(as_text=True)


def test_the_session_cookie_is_httponly_strict_secure_and_scoped(
    client: FlaskClient, token: str
) -> None:
    response = log_in(client, token)
    attributes = cookie_attributes(response)
    assert "httponly" in attributes
    assert "secure" in attributes  # production settings: COMMENTGATE_SECURE_COOKIES on
    assert attributes["samesite"] == "Strict"
    assert attributes["path"] == "/moderate"
    expires = datetime.strptime(attributes["expires"], "%a, %d %b %Y %H:%M:%S GMT")
    lifetime = expires.replace(tzinfo=UTC) - datetime.now(UTC)
    assert timedelta(hours=7) < lifetime <= session.IDLE_LIFETIME


def test_the_cookie_is_not_secure_over_http_when_the_setting_is_off(
    make_settings: Callable[..., Any], token: str
) -> None:
    client = create_app(make_settings(secure_cookies=False)).test_client()
    attributes = cookie_attributes(log_in(client, token))
    assert "secure" not in attributes
    assert "httponly" in attributes
    assert attributes["samesite"] == "Strict"


def test_the_cookie_is_secure_over_https_even_when_the_setting_is_off(
    make_settings: Callable[..., Any], token: str
) -> None:
    client = create_app(make_settings(secure_cookies=False)).test_client()
    base = "https://localhost"
    page = client.get("/moderate/login", base_url=base)
    response = client.post(
        "/moderate/login",
        base_url=base,
        data={"csrf_token": csrf_of(page.get_data(as_text=True)), "token": token},
        headers=BROWSER | {"Referer": f"{base}/moderate/login"},  # Flask-WTF's HTTPS check
    )
    assert response.status_code == 303
    assert "secure" in cookie_attributes(response)


def test_development_defaults_to_plain_cookies(make_settings: Callable[..., Any]) -> None:
    assert session.secure_cookies(make_settings(env="development")) is False
    assert session.secure_cookies(make_settings()) is True
    assert session.secure_cookies(make_settings(env="development", secure_cookies=True)) is True


def test_logging_out_ends_the_session_even_for_a_copy_of_the_cookie(
    client: FlaskClient, token: str
) -> None:
    csrf = logged_in(client, token)
    saved = client.get_cookie(session.COOKIE_NAME, path="/moderate")
    assert saved is not None
    response = client.post("/moderate/logout", data={"csrf_token": csrf}, headers=BROWSER)
    assert response.status_code == 303
    assert response.headers["Location"] == "/moderate/login"
    login_page = client.get("/moderate/login")
    assert "You are logged out." in flashes(login_page)
    assert client.get("/moderate").status_code == 303
    # Replaying the cookie from before the logout does not bring the session back.
    client.set_cookie(session.COOKIE_NAME, saved.value, path="/moderate")
    assert client.get("/moderate").status_code == 303


def test_logout_needs_the_csrf_token(client: FlaskClient, token: str) -> None:
    logged_in(client, token)
    assert client.post("/moderate/logout", headers=BROWSER).status_code == 400
    assert client.get("/moderate").status_code == 200  # still logged in


def test_revoking_the_account_ends_its_sessions(
    client: FlaskClient, redis_client: redis.Redis, token: str, held: Callable[..., Comment]
) -> None:
    comment = held()
    csrf = logged_in(client, token)
    ModeratorStore(redis_client).revoke("mia")
    response = client.get("/moderate")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/moderate/login")
    assert "Your session has ended. Please log in again." in flashes(client.get("/moderate/login"))
    response = decide(client, csrf, comment.id, "approve")
    assert response.status_code == 401
    assert status_of(client.application, comment.id) == "held"


def test_a_new_token_for_the_same_name_ends_the_old_session(
    client: FlaskClient, redis_client: redis.Redis, token: str
) -> None:
    logged_in(client, token)
    store = ModeratorStore(redis_client)
    store.revoke("mia")
    store.add("mia")
    assert client.get("/moderate").status_code == 303


def test_a_session_ends_a_day_after_the_login_however_busy(client: FlaskClient, token: str) -> None:
    logged_in(client, token)
    with client.session_transaction("/moderate") as stored:
        stored["login_at"] = time.time() - session.ABSOLUTE_LIFETIME.total_seconds() - 1
    assert client.get("/moderate").status_code == 303


def test_a_forged_or_foreign_cookie_is_no_login(
    client: FlaskClient, token: str, make_settings: Callable[..., Any]
) -> None:
    client.set_cookie(session.COOKIE_NAME, "eyJtb2RlcmF0b3IiOiJtaWEifQ.bad.sig", path="/moderate")
    assert client.get("/moderate").status_code == 303
    other = create_app(make_settings(secret_key="another-secret")).test_client()
    logged_in(other, token)
    cookie = other.get_cookie(session.COOKIE_NAME, path="/moderate")
    assert cookie is not None
    client.set_cookie(session.COOKIE_NAME, cookie.value, path="/moderate")
    assert client.get("/moderate").status_code == 303


# -- every route is guarded -----------------------------------------------------------------------


def test_every_route_needs_a_session_but_the_login_page(app: Flask, client: FlaskClient) -> None:
    routes = moderate_routes(app)
    endpoints = {endpoint for _, _, endpoint in routes}
    assert endpoints >= {
        "moderate.login",
        "moderate.logout",
        "moderate.queue",
        "moderate.act",
        "moderate.bulk",
    }
    assert frozenset({"moderate.login"}) == access.PUBLIC_ENDPOINTS
    for method, url, endpoint in routes:
        if endpoint in access.PUBLIC_ENDPOINTS:
            continue
        response = client.open(url, method=method, data={"action": "approve"}, headers=BROWSER)
        if method == "GET":
            assert response.status_code == 303, (method, url)
            assert response.headers["Location"].startswith("/moderate/login?next="), url
        else:
            assert response.status_code == 401, (method, url)
            assert "Please log in again" in response.get_data(as_text=True)


def test_the_api_token_alone_opens_no_page(client: FlaskClient, token: str) -> None:
    response = client.get("/moderate", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 303


def test_roles_are_checked_like_the_apis(
    app: Flask, client: FlaskClient, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.web import auth

    logged_in(client, token)
    monkeypatch.setattr(auth, "required_role", lambda endpoint: Role.ADMIN)
    response = client.get("/moderate")
    assert response.status_code == 403
    assert "this needs the admin role" in response.get_data(as_text=True)


# -- CSRF ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("csrf", [None, "", "forged-token"])
def test_a_decision_without_a_valid_csrf_token_gets_400_and_changes_nothing(
    client: FlaskClient, token: str, held: Callable[..., Comment], csrf: str | None
) -> None:
    comment = held()
    logged_in(client, token)
    data = {"action": "approve", "expected": "held"}
    if csrf is not None:
        data["csrf_token"] = csrf
    response = client.post(f"/moderate/comments/{comment.id}", data=data, headers=BROWSER)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    page = Page.of(response.get_data(as_text=True))
    assert page.by_id("message-title").text == "This form could not be accepted"
    assert "nothing was changed" in response.get_data(as_text=True)
    assert status_of(client.application, comment.id) == "held"
    bulk = client.post(
        "/moderate/bulk", data={"action": "spam", "ids": [comment.id]}, headers=BROWSER
    )
    assert bulk.status_code == 400
    assert status_of(client.application, comment.id) == "held"


def test_a_csrf_token_of_another_session_is_refused(
    app: Flask, token: str, held: Callable[..., Comment]
) -> None:
    comment = held()
    first, second = app.test_client(), app.test_client()
    foreign = logged_in(first, token)
    logged_in(second, token)
    assert decide(second, foreign, comment.id, "approve").status_code == 400
    assert status_of(app, comment.id) == "held"


def test_login_needs_the_csrf_token(client: FlaskClient, token: str) -> None:
    response = client.post("/moderate/login", data={"token": token}, headers=BROWSER)
    assert response.status_code == 400
    assert client.get("/moderate").status_code == 303


def test_the_json_api_needs_no_csrf_token(
    client: FlaskClient, token: str, held: Callable[..., Comment]
) -> None:
    comment = held()
    response = client.post(
        f"/api/v1/moderation/comments/{comment.id}",
        json={"action": "approve"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200


# -- decisions -------------------------------------------------------------------------------------


def test_approving_publishes_through_the_shared_path(
    client: FlaskClient, redis_client: redis.Redis, token: str, held: Callable[..., Comment]
) -> None:
    comment, after = held(), held()
    csrf = logged_in(client, token)
    response = decide(client, csrf, comment.id, "approve", focus=after.id)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/moderate#c-{after.id}"
    assert status_of(client.application, comment.id) == "published"
    assert flashes(client.get("/moderate")) == ["Approved: the comment is published."]
    svc: Services = client.application.extensions[EXTENSION_KEY]
    [entry], _ = audit_page(svc.redis, limit=5)
    assert (entry.moderator, entry.comment_id, entry.action) == ("mia", comment.id, "approve")
    assert (entry.previous, entry.current) == ("held", "published")
    listing = client.get(f"/api/v1/comments?thread={THREAD}").get_json()
    assert [c["id"] for c in listing["comments"]] == [comment.id]


@pytest.mark.parametrize(("action", "status"), [("spam", "spam"), ("reject", "rejected")])
def test_spam_and_reject(
    client: FlaskClient, token: str, held: Callable[..., Comment], action: str, status: str
) -> None:
    comment = held()
    csrf = logged_in(client, token)
    assert decide(client, csrf, comment.id, action).status_code == 303
    assert status_of(client.application, comment.id) == status


def test_a_comment_moderated_by_someone_else_meanwhile_is_a_conflict(
    app: Flask, client: FlaskClient, token: str, held: Callable[..., Comment]
) -> None:
    comment = held()
    csrf = logged_in(client, token)
    svc: Services = app.extensions[EXTENSION_KEY]
    apply_decision(svc, [comment.id], Action.APPROVE, "ada", CommentStatus.HELD)
    response = decide(client, csrf, comment.id, "spam")
    assert response.status_code == 303
    assert flashes(client.get("/moderate")) == [
        "Someone else moderated this comment: it is now published. Nothing was changed."
    ]
    assert status_of(app, comment.id) == "published"


def test_an_unknown_comment_is_reported(client: FlaskClient, token: str) -> None:
    csrf = logged_in(client, token)
    response = decide(client, csrf, "AAAAAAAAAAAAAAAAAAAAAA", "approve")
    assert response.status_code == 303
    assert flashes(client.get("/moderate")) == [
        "That comment no longer exists (it may have been purged). Nothing changed."
    ]


@pytest.mark.parametrize(
    "fields",
    [{"action": "delete"}, {"action": ""}, {"expected": "pending"}, {"expected": "gone"}],
)
def test_a_tampered_form_gets_400(
    client: FlaskClient, token: str, held: Callable[..., Comment], fields: dict[str, str]
) -> None:
    comment = held()
    csrf = logged_in(client, token)
    response = decide(client, csrf, comment.id, **({"action": "approve"} | fields))
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert status_of(client.application, comment.id) == "held"


def test_a_malformed_comment_id_gets_400(client: FlaskClient, token: str) -> None:
    csrf = logged_in(client, token)
    assert decide(client, csrf, "not*an*id", "approve").status_code == 400


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example/moderate",
        "//evil.example/moderate",
        "/\\evil.example",
        "/api/v1/comments",
        "javascript:alert(1)",
        "/moderateX",
    ],
)
def test_decisions_and_logins_only_return_to_the_ui(
    app: Flask, token: str, held: Callable[..., Comment], next_path: str
) -> None:
    client = app.test_client()
    response = log_in(client, token, next_path=next_path)
    assert response.headers["Location"] == "/moderate"
    csrf = csrf_of(client.get("/moderate").get_data(as_text=True))
    response = decide(client, csrf, held().id, "approve", next=next_path, focus="x\r\nSet-Cookie")
    assert response.headers["Location"] == "/moderate"


def test_bulk_moves_every_selected_comment(
    client: FlaskClient, token: str, held: Callable[..., Comment]
) -> None:
    first, second, untouched = held(), held(), held()
    csrf = logged_in(client, token)
    response = client.post(
        "/moderate/bulk",
        data={
            "csrf_token": csrf,
            "action": "spam",
            "expected": "held",
            "ids": [first.id, second.id],
            "next": "/moderate?q=comment",
        },
        headers=BROWSER,
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/moderate?q=comment"
    app = client.application
    assert [status_of(app, c.id) for c in (first, second, untouched)] == ["spam", "spam", "held"]
    assert flashes(client.get("/moderate")) == ["Marked 2 comments as spam."]
    svc: Services = app.extensions[EXTENSION_KEY]
    entries, _ = audit_page(svc.redis, limit=5)
    assert {(e.moderator, e.comment_id, e.current) for e in entries} == {
        ("mia", first.id, "spam"),
        ("mia", second.id, "spam"),
    }


def test_bulk_is_all_or_nothing(
    app: Flask, client: FlaskClient, token: str, held: Callable[..., Comment]
) -> None:
    fresh, taken = held(), held()
    csrf = logged_in(client, token)
    apply_decision(app.extensions[EXTENSION_KEY], [taken.id], Action.REJECT, "ada")
    client.post(
        "/moderate/bulk",
        data={
            "csrf_token": csrf,
            "action": "approve",
            "expected": "held",
            "ids": [fresh.id, taken.id],
        },
        headers=BROWSER,
    )
    assert flashes(client.get("/moderate")) == [
        "Someone else moderated one of the selected comments: it is now rejected. "
        "Nothing was changed."
    ]
    assert status_of(app, fresh.id) == "held"


def test_bulk_without_a_selection_says_so(client: FlaskClient, token: str) -> None:
    csrf = logged_in(client, token)
    response = client.post(
        "/moderate/bulk", data={"csrf_token": csrf, "action": "reject"}, headers=BROWSER
    )
    assert response.status_code == 303
    assert flashes(client.get("/moderate")) == ["Select one or more comments first."]


@pytest.mark.parametrize("ids", [["same", "same"], ["not*an*id"]])
def test_bulk_refuses_bad_selections(client: FlaskClient, token: str, ids: list[str]) -> None:
    csrf = logged_in(client, token)
    ids = ["AAAAAAAAAAAAAAAAAAAAAA"] * 2 if ids[0] == "same" else ids
    response = client.post(
        "/moderate/bulk", data={"csrf_token": csrf, "action": "reject", "ids": ids}, headers=BROWSER
    )
    assert response.status_code == 400


# -- the queue page ----------------------------------------------------------------------


def test_after_retention_the_queue_shows_the_address_hash_not_the_address(
    client: FlaskClient, token: str, held: Callable[..., Comment], redis_client: redis.Redis
) -> None:
    old = held(ip="198.51.100.7", user_agent="Agent/1", created_at=time.time() - 40 * 86400)
    new = held(ip="203.0.113.9")
    key = pseudonym_key(TEST_SECRET)
    assert ClientDataPurge(redis_client, key).run(older_than=time.time() - 30 * 86400) == 1
    logged_in(client, token)
    page = Page.of(client.get("/moderate").get_data(as_text=True))
    shown = {e.text for e in page.select("span", class_="cm__ip")}
    assert shown == {f"IP hash {pseudonym(key, old.ip)}", f"IP {new.ip}"}
    assert "198.51.100.7" not in client.get("/moderate").get_data(as_text=True)


def test_the_queue_shows_counts_and_every_detail_of_a_comment(
    client: FlaskClient, token: str, held: Callable[..., Comment], app: Flask
) -> None:
    comment = held(
        body="Line one\n  indented line two",
        author_name="Grace",
        author_email="grace@example.org",
        author_url="https://grace.example/",
        ip="198.51.100.7",
        parent_id="BBBBBBBBBBBBBBBBBBBBBB",
    )
    held(status=CommentStatus.SPAM)
    held(status=CommentStatus.SPAM)
    held(status=CommentStatus.PUBLISHED)
    store_comment(app, status=CommentStatus.PENDING, thread=THREAD)
    logged_in(client, token)
    response = client.get("/moderate")
    html = response.get_data(as_text=True)
    page = Page.of(html)

    tabs = {e.attrs["href"]: e.text for e in page.select("a", class_="tabs__tab")}
    assert tabs == {
        "/moderate": "Held 1(1 comment)",
        "/moderate/spam": "Spam 2(2 comments)",
        "/moderate/published": "Published 1(1 comment)",
        "/moderate/rejected": "Rejected 0(0 comments)",
    }
    [current] = [e for e in page.select("a", class_="tabs__tab") if "aria-current" in e.attrs]
    assert current.attrs["href"] == "/moderate"
    assert "1 new comment waiting to be scored." in html

    article = page.by_id(f"c-{comment.id}")
    assert article.attrs["aria-labelledby"] == f"c-{comment.id}-title"
    assert page.by_id(f"c-{comment.id}-title").text == "Comment by Grace"
    assert page.select("div", class_="cm__body")[0].text == "Line one\n  indented line two"
    assert page.select("span", class_="cm__email")[0].text == "grace@example.org"
    assert page.select("span", class_="cm__url")[0].text == "https://grace.example/"
    assert not [a for a in page.select("a") if "grace.example" in a.attrs.get("href", "")]
    assert "198.51.100.7" in page.select("span", class_="cm__ip")[0].text
    assert "BBBBBBBBBBBBBBBBBBBBBB" in page.select("p", class_="cm__thread")[0].text
    [meter] = page.select("meter")
    assert meter.attrs["value"] == "0.1000"
    assert meter.attrs["aria-label"] == "Spam score 0.10 out of 1"
    assert [chip.text for chip in page.select("li", class_="chip")] == ["Test"]
    assert "test" in page.select("span", class_="cm__model")[0].text
    time_element = page.select("time")[0]
    assert time_element.attrs["datetime"].startswith(
        datetime.fromtimestamp(comment.created_at, UTC).strftime("%Y-%m-%dT%H:%M")
    )
    buttons = [
        b.attrs["value"] for b in page.select("button", class_="btn") if b.attrs.get("data-action")
    ]
    assert buttons == ["approve", "spam", "reject"]
    [select] = page.select("input", name="ids")
    assert select.attrs == select.attrs | {"value": comment.id, "form": "bulk-form"}
    assert page.select("label", **{"for": f"select-{comment.id}"})[0].text == (
        "Select the comment by Grace"
    )


def test_other_tabs_offer_only_the_actions_that_change_something(
    client: FlaskClient, token: str, held: Callable[..., Comment]
) -> None:
    held(status=CommentStatus.PUBLISHED)
    logged_in(client, token)
    page = Page.of(client.get("/moderate/published").get_data(as_text=True))
    actions = [b.attrs["data-action"] for b in page.select("button") if b.attrs.get("data-action")]
    assert actions == ["spam", "reject"]
    assert page.select("input", name="expected")[0].attrs["value"] == "published"


def test_the_held_tab_has_one_url(client: FlaskClient, token: str) -> None:
    logged_in(client, token)
    response = client.get("/moderate/held")
    assert response.status_code in (301, 308)
    assert response.headers["Location"].endswith("/moderate")
    assert client.get("/moderate/pending").status_code == 404


def test_an_empty_queue_says_so(client: FlaskClient, token: str) -> None:
    logged_in(client, token)
    page = Page.of(client.get("/moderate").get_data(as_text=True))
    assert page.select("p", class_="empty__title")[0].text == "No held comments."
    assert not page.has_id("bulk-form")


def test_filter_by_thread_and_search(
    client: FlaskClient, token: str, held: Callable[..., Comment]
) -> None:
    casino = held(body="Best CASINO bonus here")
    other = held(body="A thoughtful remark", thread=OTHER_THREAD)
    by_mail = held(body="Hello", author_email="casino-fan@example.org", thread=OTHER_THREAD)
    logged_in(client, token)

    def shown(url: str) -> set[str]:
        page = Page.of(client.get(url).get_data(as_text=True))
        return {e.attrs["id"][2:] for e in page.select("article")}

    assert shown("/moderate") == {casino.id, other.id, by_mail.id}
    assert shown(f"/moderate?thread={OTHER_THREAD}") == {other.id, by_mail.id}
    assert shown("/moderate?q=casino") == {casino.id, by_mail.id}
    assert shown(f"/moderate?q=casino&thread={OTHER_THREAD}") == {by_mail.id}
    page = Page.of(client.get(f"/moderate?q=nothing&thread={OTHER_THREAD}").get_data(as_text=True))
    assert page.by_id("filter-q").attrs["value"] == "nothing"
    assert page.by_id("filter-thread").attrs["value"] == OTHER_THREAD
    assert page.select("p", class_="empty__title")[0].text == (
        "No held comments match these filters."
    )
    # The tabs keep the filters.
    assert all("q=nothing" in e.attrs["href"] for e in page.select("a", class_="tabs__tab"))


def test_pagination_with_cursors(
    client: FlaskClient,
    token: str,
    held: Callable[..., Comment],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(queues, "PAGE_SIZE", 2)
    comments = [held(body=f"comment {n}") for n in range(5)]
    newest_first = [c.id for c in reversed(comments)]
    logged_in(client, token)
    seen: list[str] = []
    url: str | None = "/moderate"
    pages = 0
    while url:
        page = Page.of(client.get(url).get_data(as_text=True))
        seen += [e.attrs["id"][2:] for e in page.select("article")]
        pages += 1
        first = [a for a in page.select("a") if a.text.endswith("First page")]
        assert bool(first) == (pages > 1)
        following = page.select("a", rel="next")
        url = following[0].attrs["href"] if following else None
    assert seen == newest_first
    assert pages == 3


def test_an_invalid_cursor_goes_back_to_the_first_page(client: FlaskClient, token: str) -> None:
    logged_in(client, token)
    response = client.get("/moderate/spam?cursor=broken&q=x")
    assert response.status_code == 303
    assert response.headers["Location"] == "/moderate/spam?q=x"
    assert flashes(client.get(response.headers["Location"])) == [
        "That page of the queue does not exist; here is the first page."
    ]


HOSTILE = {
    "body": '<script>alert(1)</script>\n<img src=x onerror=alert(2)>\n"><svg onload=alert(3)>',
    "author_name": "<img src=x onerror=alert(4)>",
    "author_email": '"><script>alert(5)</script>@example.org',
    "author_url": "javascript:alert(6)",
    "thread": 'https://blog.example/"><script>alert(7)</script>',
}


def test_hostile_comments_are_shown_as_text(
    client: FlaskClient, redis_client: redis.Redis, token: str, held: Callable[..., Comment]
) -> None:
    comment = held(**HOSTILE)
    # What a worker records is stored input too: model versions and reasons.
    redis_client.hset(
        keys.comment(comment.id),
        mapping={"model_version": "<b>v1</b>", "reasons": json.dumps(["<i>odd</i>"])},
    )
    logged_in(client, token)
    html = client.get("/moderate").get_data(as_text=True)
    for needle in ("<script>alert", "<img src", "<svg onload", "<b>v1", "<i>odd"):
        assert needle not in html
    page = Page.of(html)
    assert [e.attrs.get("src") for e in page.select("script")] == ["/static/js/moderate.js"]
    assert not page.select("img")
    assert all(a.attrs["href"].startswith(("/", "#")) for a in page.select("a"))
    assert not page.select("svg", onload="alert(3)")
    assert page.select("div", class_="cm__body")[0].text == HOSTILE["body"]
    assert page.by_id(f"c-{comment.id}-title").text == "Comment by " + HOSTILE["author_name"]
    assert page.select("span", class_="cm__url")[0].text == HOSTILE["author_url"]
    assert page.select("span", class_="cm__email")[0].text == HOSTILE["author_email"]
    assert page.select("li", class_="chip")[0].text == "<i>odd</i>"
    assert not [e for e in page.elements if any(k.startswith("on") for k in e.attrs)]


def test_pages_carry_the_security_headers(client: FlaskClient, token: str) -> None:
    for response in (client.get("/moderate/login"), log_in(client, "cgm_bad")):
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"
    logged_in(client, token)
    response = client.get("/moderate")
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["Cache-Control"] == "no-store"


def test_templates_have_no_inline_scripts_styles_or_handlers(
    client: FlaskClient, token: str, held: Callable[..., Comment]
) -> None:
    held()
    pages = [client.get("/moderate/login").get_data(as_text=True)]
    logged_in(client, token)
    pages.append(client.get("/moderate").get_data(as_text=True))
    for html in pages:
        page = Page.of(html)
        assert all(e.attrs.get("src") for e in page.select("script"))
        assert not page.select("style")
        assert not [e for e in page.elements if "style" in e.attrs]
        assert not [e for e in page.elements if any(k.startswith("on") for k in e.attrs)]


def test_the_queue_page_is_accessible_by_structure(
    client: FlaskClient, token: str, held: Callable[..., Comment]
) -> None:
    held()
    logged_in(client, token)
    page = Page.of(client.get("/moderate").get_data(as_text=True))
    assert page.select("html")[0].attrs["lang"] == "en"
    assert page.select("main", id="main")
    assert page.select("nav", **{"aria-label": "Queues"})
    assert page.select("form", role="search")
    assert page.by_id("flashes").attrs["aria-live"] == "polite"
    assert len(page.select("h1")) == 1
    labelled = {e.attrs["for"] for e in page.select("label")}
    for element in page.select("input"):
        if element.attrs.get("type") not in ("hidden",):
            assert element.attrs.get("id") in labelled, element
    for button in page.select("button"):
        assert button.text.strip(), button


# -- presenters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/moderate", "/moderate"),
        ("/moderate/spam?q=a&cursor=b", "/moderate/spam?q=a&cursor=b"),
        ("/moderate#c-1", "/moderate"),
        (None, None),
        ("", None),
        ("/moderately", None),
        ("//evil.example/moderate", None),
        ("https://evil.example/moderate", None),
        ("/moderate\\..\\x", None),
        ("/moderate\r\nLocation: x", None),
    ],
)
def test_local_path(value: str | None, expected: str | None) -> None:
    assert presenters.local_path(value, "/moderate") == expected


def test_time_ago() -> None:
    now = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
    assert presenters.time_ago(now - timedelta(seconds=30), now) == "just now"
    assert presenters.time_ago(now - timedelta(minutes=5), now) == "5 min ago"
    assert presenters.time_ago(now - timedelta(hours=3), now) == "3 h ago"
    assert presenters.time_ago(now - timedelta(hours=30), now) == "yesterday"
    assert presenters.time_ago(now - timedelta(days=4), now) == "4 days ago"


def test_reason_chips() -> None:
    assert presenters.chip("links") == presenters.Chip("links", "Many links", "warning")
    assert presenters.chip("brand_new_rule") == presenters.Chip(
        "brand_new_rule", "Brand new rule", "neutral"
    )


def test_score_bands_are_the_thresholds_of_the_policy_in_force() -> None:
    policy = Policy(publish_below=0.3, spam_above=0.7, max_links=2)
    bands = presenters.score_bands(policy)
    assert bands == presenters.ScoreBands(0.3, 0.7)
    assert [bands.band(s) for s in (0.1, 0.3, 0.69, 0.7, 1.0)] == [
        "low",
        "mid",
        "mid",
        "high",
        "high",
    ]


def test_the_queue_colours_scores_with_a_promoted_site_models_thresholds(
    client: FlaskClient,
    token: str,
    held: Callable[..., Comment],
    app: Flask,
    redis_client: redis.Redis,
) -> None:
    """The meter uses the thresholds the workers decide with, not the model file's."""
    held(score=0.2)
    logged_in(client, token)
    [meter] = Page.of(client.get("/moderate").get_data(as_text=True)).select("meter")
    base = read_card(app.extensions[EXTENSION_KEY].settings.model_path)
    assert float(meter.attrs["high"]) == base["thresholds"]["spam_above"]
    site_card = base | {
        "model_version": f"{base['model_version']}+stest",
        "thresholds": {"publish_below": 0.05, "spam_above": 0.1},
    }
    registry = ModelRegistry(redis_client)
    registry.put(site_card["model_version"], b"bytes", site_card, status=CANDIDATE)
    registry.promote(site_card["model_version"], actor="test")
    page = Page.of(client.get("/moderate").get_data(as_text=True))
    [meter] = page.select("meter")
    assert (meter.attrs["low"], meter.attrs["high"]) == ("0.05", "0.1")
    assert page.select("div", class_="score--high")


def test_too_many_login_attempts_get_a_page_with_retry_after(
    make_settings: Callable[..., Any], token: str
) -> None:
    client = create_app(make_settings(rate_limit_login="2/minute")).test_client()
    assert [log_in(client, "cgm_wrong").status_code for _ in range(2)] == [401, 401]
    response = log_in(client, token)
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert int(response.headers["Retry-After"]) > 0
    page = Page.of(response.get_data(as_text=True))
    assert page.by_id("message-title").text == "Too many attempts"
    assert "Please wait" in response.get_data(as_text=True)
    assert client.get("/moderate").status_code == 303  # not logged in


# -- links from other sites (issue 13: forced logout) ------------------------------------

CROSS_SITE = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}


@pytest.mark.parametrize("path", ["/moderate", "/moderate/spam?q=x", "/moderate/login"])
def test_a_link_from_another_site_never_touches_the_session(
    client: FlaskClient, token: str, redis_client: redis.Redis, path: str
) -> None:
    log_in(client, token)
    live = set(redis_client.scan_iter(session.session_key("*")))
    assert len(live) == 1
    cookie = client.get_cookie(session.COOKIE_NAME, path="/moderate")
    assert cookie is not None
    client.delete_cookie(session.COOKIE_NAME, path="/moderate")  # SameSite=Strict: held back

    page = client.get(path, headers=BROWSER | CROSS_SITE)
    assert page.status_code == 200
    assert "Set-Cookie" not in page.headers
    assert f'<meta http-equiv="refresh" content="0; url={path.replace("&", "&amp;")}">' in (
        page.get_data(as_text=True)
    )
    # Without the cookie, other requests (no Sec-Fetch-Site) are sent to log in, and
    # the session is neither cleared nor its record deleted.
    gone = client.get("/moderate/spam", headers=BROWSER)
    assert gone.status_code == 303
    assert "Set-Cookie" not in gone.headers
    assert set(redis_client.scan_iter(session.session_key("*"))) == live

    client.set_cookie(session.COOKIE_NAME, cookie.value, path="/moderate")  # the reload
    assert client.get(path, headers=BROWSER | {"Sec-Fetch-Site": "same-origin"}).status_code in (
        200,
        303,
    )
    assert "Log out" in client.get("/moderate", headers=BROWSER).get_data(as_text=True)
