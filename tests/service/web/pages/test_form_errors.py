"""Failed form posts from browsers get HTML pages; other clients keep problem JSON."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import TooManyRequests

from service.core.store import keys
from service.web.pages.form_state import RETRY_TTL_SECONDS
from tests.service.web.pages.conftest import BROWSER, DEMO_REFERER, Page, filled_form


def demo_form(client: FlaskClient, **values: str) -> dict[str, str]:
    """The demo page's form, filled in with a solved captcha."""
    page = Page.of(client.get("/").get_data(as_text=True))
    base = {"body": "A fine comment.", "author_name": "Ada"}
    return filled_form(page, **(base | values))


def post_form(
    client: FlaskClient, fields: dict[str, str], referer: str | None = DEMO_REFERER
) -> Any:
    headers = BROWSER | ({"Referer": referer} if referer else {})
    return client.post("/api/v1/comments", data=fields, headers=headers)


def html_page(response: Any, status: int) -> Page:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/html"
    assert "Content-Security-Policy" in response.headers
    return Page.of(response.get_data(as_text=True))


# -- the demo form shown again (post/redirect/get) -------------------------------------


def retry_id_of(response: Any) -> str:
    """The ``retry`` id of a 303 back to the demo page (checking it is our own page)."""
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    assert response.headers["Cache-Control"] == "no-store"
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("", "", "/")
    assert location.fragment == "respond"
    query = parse_qs(location.query)
    assert list(query) == ["retry"]
    return query["retry"][0]


def retry_page(client: FlaskClient, response: Any) -> Page:
    """Follow the 303 of a refused demo form and read the page it leads to."""
    shown = client.get(response.headers["Location"], headers=BROWSER)
    assert shown.headers["Cache-Control"] == "no-store"
    return html_page(shown, 200)


def test_invalid_fields_send_the_browser_back_to_the_demo_page_with_the_input_kept(
    client: FlaskClient, redis_client: Any
) -> None:
    hostile = '"><script>alert(1)</script>'
    fields = demo_form(
        client,
        author_name="",
        author_email="not-an-address",
        author_url=f"https://ok.example/{hostile}",
        body=f"Line one\nLine two {hostile}",
        hp_website="",
    )
    response = post_form(client, fields)
    retry_id_of(response)
    shown = client.get(response.headers["Location"], headers=BROWSER)
    page = html_page(shown, 200)
    assert "<script>alert(1)" not in shown.get_data(as_text=True)
    assert page.select("title")[0].text.startswith("Error: ")
    kept = page.form_fields()
    assert kept["body"] == fields["body"]
    assert kept["author_email"] == "not-an-address"
    assert kept["author_url"] == fields["author_url"]
    assert kept["captcha_answer"] == ""
    assert kept["captcha_token"] != fields["captcha_token"]  # a fresh captcha
    assert page.by_id("author-error").text == "Name is required."
    assert page.by_id("email-error").text.startswith("Email: not a valid e-mail address")
    author = page.by_id("author")
    assert author.attrs["aria-invalid"] == "true"
    assert author.attrs["aria-describedby"] == "author-error"
    assert page.by_id("email").attrs["aria-describedby"] == "email-notes email-error"
    summary = page.by_id("form-errors")
    assert summary.attrs["role"] == "alert"
    links = {a.attrs.get("href") for a in page.select("a")}
    assert {"#author", "#email"} <= links
    assert redis_client.zcard(keys.PENDING) == 0


def test_a_wrong_captcha_sends_the_browser_back_with_a_new_question(
    client: FlaskClient,
) -> None:
    fields = demo_form(client, body="Kept body", author_name="Kept name")
    fields["captcha_answer"] = str(int(fields["captcha_answer"]) + 1)
    page = retry_page(client, post_form(client, fields))
    error = page.by_id("captcha-answer-error").text
    assert error.startswith("That answer to the spam check was not right.")
    answer = page.by_id("captcha-answer")
    assert answer.attrs["aria-invalid"] == "true"
    assert answer.attrs["aria-describedby"] == "captcha-help captcha-answer-error"
    kept = page.form_fields()
    assert (kept["body"], kept["author_name"]) == ("Kept body", "Kept name")
    assert kept["captcha_token"] != fields["captcha_token"]
    assert kept["captcha_answer"] == ""
    assert kept["hp_website"] == ""


def test_the_kept_form_holds_the_input_and_messages_only_for_a_while(
    client: FlaskClient, redis_client: Any
) -> None:
    fields = demo_form(client, body="Kept body", author_email="ada@example.org")
    fields["captcha_answer"] = "12345"
    retry_id = retry_id_of(post_form(client, fields))
    key = keys.form_retry(retry_id)
    assert 0 < redis_client.ttl(key) <= RETRY_TTL_SECONDS
    kept = json.loads(redis_client.get(key))
    assert kept["values"] == {
        "body": "Kept body",
        "author_name": "Ada",
        "author_email": "ada@example.org",
        "author_url": "",
    }
    assert "12345" not in json.dumps(kept)
    assert fields["captcha_token"] not in json.dumps(kept)


def test_reloading_the_page_shows_the_form_again_and_posts_nothing(
    client: FlaskClient, redis_client: Any
) -> None:
    fields = demo_form(client, author_name="", body="Reloaded body")
    location = post_form(client, fields).headers["Location"]
    first = html_page(client.get(location, headers=BROWSER), 200)
    again = html_page(client.get(location, headers=BROWSER), 200)
    assert again.form_fields()["body"] == "Reloaded body"
    assert again.by_id("author-error").text == "Name is required."
    assert again.form_fields()["captcha_token"] != first.form_fields()["captcha_token"]
    assert redis_client.zcard(keys.PENDING) == 0


def test_the_honeypot_is_never_echoed(client: FlaskClient) -> None:
    fields = demo_form(client, author_name="", hp_website="http://bot.example")
    page = retry_page(client, post_form(client, fields))
    assert page.form_fields()["hp_website"] == ""


@pytest.mark.parametrize(
    "referer",
    [
        None,
        "http://localhost/?cursor=abc&retry=old&next=https://evil.example/",
        "http://localhost/?comment=abcdefgh12345678#comment-status",
    ],
)
def test_the_way_back_is_always_the_demo_page_itself(
    client: FlaskClient, referer: str | None
) -> None:
    fields = demo_form(client, author_name="")
    retry_id_of(post_form(client, fields, referer=referer))


def test_the_form_shown_again_posts_and_the_retry_is_left_behind(
    client: FlaskClient,
) -> None:
    fields = demo_form(client, author_name="")
    location = post_form(client, fields).headers["Location"]
    page = html_page(client.get(location, headers=BROWSER), 200)
    retry = filled_form(page, author_name="Ada")
    again = post_form(client, retry, referer="http://localhost" + location.split("#")[0])
    assert again.status_code == 303
    target = urlsplit(again.headers["Location"])
    assert list(parse_qs(target.query)) == ["comment"]
    assert target.fragment == "comment-status"
    notice = html_page(client.get(again.headers["Location"], headers=BROWSER), 200)
    assert not notice.has_id("form-errors")


@pytest.mark.parametrize(
    "retry_id", ["x", "../../etc/passwd", "A" * 22, "B" * 80, "corrupt-id-0123456"]
)
def test_an_unknown_or_expired_retry_shows_the_empty_form(
    client: FlaskClient, redis_client: Any, retry_id: str
) -> None:
    redis_client.set(keys.form_retry("corrupt-id-0123456"), '{"values": [1]')
    response = client.get("/", query_string={"retry": retry_id}, headers=BROWSER)
    page = html_page(response, 200)
    assert not page.has_id("form-errors")
    assert page.form_fields()["body"] == ""
    assert not page.select("title")[0].text.startswith("Error")


def test_without_redis_to_keep_it_the_form_is_shown_at_once(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis refuses to keep the form: the intake's answer shows it (a 422 at its URL)."""

    def refuse(*_args: Any) -> str:
        raise redis.ConnectionError("refused for the test")

    monkeypatch.setattr("service.web.pages.errors.save_form", refuse)
    fields = demo_form(client, author_name="", body="Never lost")
    response = post_form(client, fields)
    page = html_page(response, 422)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert page.form_fields()["body"] == "Never lost"
    assert page.by_id("author-error").text == "Name is required."
    # That page lives at the intake's URL and sends no Referer: the next post works.
    retry = filled_form(page, author_name="Ada")
    again = post_form(client, retry, referer=None)
    assert again.status_code == 303
    assert again.headers["Location"].startswith("/?comment=")
    # And a second mistake without a Referer still shows the demo form.
    wrong = filled_form(page, author_name="")
    assert html_page(post_form(client, wrong, referer=None), 422).has_id("commentform")


# -- the generic page --------------------------------------------------------------------


def test_posts_from_other_pages_get_the_generic_page_with_a_link_back(
    client: FlaskClient,
) -> None:
    fields = demo_form(client, author_name="", thread="https://blog.example/post")
    referer = "https://blog.example/post?x=1"
    page = html_page(post_form(client, fields, referer=referer), 422)
    assert not page.has_id("commentform")
    assert page.by_id("error-title").text == "Your comment could not be posted"
    problems = [" ".join(li.text.split()) for li in page.select("li")]
    assert "Name is required." in problems
    back = page.select("a", class_="button")[0]
    assert back.attrs["href"] == referer


def test_a_cross_site_referer_to_the_demo_path_is_not_the_demo_page(
    client: FlaskClient,
) -> None:
    fields = demo_form(client, author_name="")
    page = html_page(post_form(client, fields, referer="https://evil.example/"), 422)
    assert not page.has_id("commentform")


@pytest.mark.parametrize("referer", [None, "javascript:alert(1)", "data:text/html,x", "/rel"])
def test_no_link_back_to_a_missing_or_unsafe_referer(
    client: FlaskClient, referer: str | None
) -> None:
    fields = demo_form(client, author_name="", thread="elsewhere")
    response = post_form(client, fields, referer=referer)
    page = html_page(response, 422)
    assert not page.select("a", class_="button")
    assert "Back button" in page.by_id("content").text
    assert "javascript:" not in response.get_data(as_text=True)


def test_a_wrong_captcha_elsewhere_is_described_in_words(client: FlaskClient) -> None:
    fields = demo_form(client, thread="elsewhere")
    fields["captcha_answer"] = "not a number"
    page = html_page(post_form(client, fields, referer="https://blog.example/p"), 422)
    text = " ".join(page.by_id("content").text.split())
    assert "spam-check question was not answered correctly" in text
    assert "That answer to the spam check was not right" in text


def test_a_too_large_form_gets_a_413_page(make_settings: Any) -> None:
    from service.web.app import create_app

    client = create_app(make_settings(max_request_bytes=2048)).test_client()
    fields = demo_form(client, body="x" * 4000)
    page = html_page(post_form(client, fields), 413)
    assert "too large" in page.by_id("content").text
    assert page.select("a", class_="button")[0].attrs["href"] == "http://localhost/#respond"


def test_a_duplicated_field_gets_a_400_page(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/comments",
        data="thread=a&body=b&body=c",
        content_type="application/x-www-form-urlencoded",
        headers=BROWSER | {"Referer": DEMO_REFERER},
    )
    page = html_page(response, 400)
    assert "could not be read" in page.by_id("content").text


def test_rate_limited_form_posts_get_a_429_page_with_retry_after(app: Flask) -> None:
    def limited() -> str:
        raise TooManyRequests(retry_after=30)

    app.add_url_rule("/test-limited", "test_limited", limited, methods=["POST"])
    response = app.test_client().post(
        "/test-limited", data={"a": "b"}, headers=BROWSER | {"Referer": DEMO_REFERER}
    )
    page = html_page(response, 429)
    assert response.headers["Retry-After"] == "30"
    text = " ".join(page.by_id("content").text.split())
    assert "Too many submissions" in text
    assert "wait 30 seconds" in text
    assert page.by_id("error-title").text == "The form could not be sent"


def test_the_comment_rate_limit_gets_a_429_page(make_settings: Any) -> None:
    from service.web.app import create_app

    client = create_app(make_settings(rate_limit_comments="1/minute")).test_client()
    assert post_form(client, demo_form(client)).status_code == 303
    response = post_form(client, demo_form(client))
    page = html_page(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    text = " ".join(page.by_id("content").text.split())
    assert "Too many submissions" in text
    assert "Please wait" in text


# -- everyone else keeps problem JSON ------------------------------------------------------


def test_scripts_posting_forms_still_get_problem_json(client: FlaskClient) -> None:
    fields = demo_form(client, author_name="")
    for accept in ("application/json", "*/*", ""):
        response = client.post(
            "/api/v1/comments", data=fields, headers={"Accept": accept, "Referer": DEMO_REFERER}
        )
        assert response.status_code == 422
        assert response.mimetype == "application/problem+json"
        assert "Content-Security-Policy" not in response.headers


def test_json_posts_still_get_problem_json(client: FlaskClient) -> None:
    response = client.post("/api/v1/comments", json={"thread": "t"}, headers=BROWSER)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


# -- Redis down ------------------------------------------------------------------------------

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def test_the_demo_page_says_when_redis_is_down(make_settings: Any) -> None:
    from service.web.app import create_app

    client = create_app(make_settings(redis_url=UNREACHABLE_REDIS)).test_client()
    response = client.get("/")
    page = html_page(response, 503)
    assert response.headers["Retry-After"] == "5"
    assert "briefly unavailable" in page.by_id("error-title").text


def test_a_form_error_with_redis_down_falls_back_to_the_generic_page(
    make_settings: Any,
) -> None:
    from service.web.app import create_app

    client = create_app(make_settings(redis_url=UNREACHABLE_REDIS)).test_client()
    fields = {"thread": "demo/hello-world", "body": "hi", "author_name": ""}
    page = html_page(post_form(client, fields), 422)
    assert not page.has_id("commentform")
    assert "Name is required." in page.by_id("content").text
