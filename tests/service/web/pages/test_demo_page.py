"""The demo blog post at ``/``: form, captcha, comments, notices and pagination."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.core.store import CommentStatus
from service.web.pages import DEMO_THREAD, demo
from service.web.pages.form_state import FieldProblem, FormState, save_form
from service.web.services import EXTENSION_KEY
from tests.conftest import solve
from tests.service.web.pages.conftest import BROWSER, DEMO_REFERER, Page, filled_form


def get_page(client: FlaskClient, url: str = "/") -> Page:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    return Page.of(response.get_data(as_text=True))


def test_the_page_is_a_blog_post_with_a_plain_comment_form(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"  # it embeds a single-use token
    page = Page.of(response.get_data(as_text=True))
    assert page.select("h1", class_="entry-title")
    form = page.by_id("commentform")
    assert form.attrs["action"] == "/api/v1/comments"
    assert form.attrs["method"] == "post"
    fields = page.form_fields()
    assert fields["thread"] == DEMO_THREAD == "demo/hello-world"
    assert set(fields) == {
        "body",
        "author_name",
        "author_email",
        "author_url",
        "hp_website",
        "captcha_answer",
        "captcha_token",
        "thread",
    }
    assert not page.select("script")
    assert not [e for e in page.elements if "style" in e.attrs or e.tag == "style"]


def test_every_field_has_a_label(client: FlaskClient) -> None:
    page = get_page(client)
    labelled = {label.attrs["for"] for label in page.select("label")}
    for element in page.elements:
        if element.tag in ("input", "textarea") and element.attrs.get("type") != "hidden":
            assert element.attrs["id"] in labelled, element


def test_the_honeypot_is_hidden_from_people_and_keyboards(client: FlaskClient) -> None:
    page = get_page(client)
    trap = page.by_id("hp_website")
    assert trap.attrs["name"] == "hp_website"
    assert trap.attrs["tabindex"] == "-1"
    assert trap.attrs["autocomplete"] == "off"
    wrapper = page.select("p", class_="comment-form-hp")
    assert len(wrapper) == 1
    assert wrapper[0].attrs["aria-hidden"] == "true"


def test_the_honeypot_name_follows_the_setting(make_settings: Any) -> None:
    from service.web.app import create_app

    client = create_app(make_settings(honeypot_field="contact_me")).test_client()
    assert "contact_me" in get_page(client).form_fields()


def test_the_captcha_is_rendered_server_side_and_solvable(client: FlaskClient, app: Flask) -> None:
    page = get_page(client)
    question = page.select("span", class_="captcha-question")[0]
    assert question.attrs["aria-hidden"] == "true"
    equation = question.attrs["data-question"]
    assert re.fullmatch(r"[\d?]+ [+\u2212\u00d7] [\d?]+ = [\d?]+", equation)
    assert " ".join(question.text.split()) == equation
    label = next(e for e in page.select("label") if e.attrs.get("for") == "captcha-answer")
    assert re.search(r"Spam check.*: .*\?$", " ".join(label.text.split()))  # the spoken prompt
    answer = page.by_id("captcha-answer")
    assert "captcha-help" in answer.attrs["aria-describedby"]
    token = page.form_fields()["captcha_token"]
    issuer = app.extensions[EXTENSION_KEY].captcha
    issuer.verify(token, str(solve(equation)))  # raises when the page lied


def test_posting_the_form_comes_back_with_a_moderation_notice(client: FlaskClient) -> None:
    fields = filled_form(get_page(client), body="Hello from the form.", author_name="Ada")
    posted = client.post(
        "/api/v1/comments", data=fields, headers=BROWSER | {"Referer": DEMO_REFERER}
    )
    assert posted.status_code == 303
    location = posted.headers["Location"]
    parts = urlsplit(location)
    assert parts.path == "/"
    assert parts.fragment == "comment-status"
    page = get_page(client, f"/?{parts.query}")
    assert page.by_id("comment-status").text.strip() == "Your comment is awaiting moderation."
    assert parse_qs(parts.query)["comment"]


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (CommentStatus.PENDING, "Your comment is awaiting moderation."),
        (CommentStatus.HELD, "Your comment is awaiting moderation."),
        (CommentStatus.SPAM, "Your comment is awaiting moderation."),
        (CommentStatus.REJECTED, "Your comment is awaiting moderation."),
        (CommentStatus.PUBLISHED, "Thanks, your comment is published. See it below."),
    ],
)
def test_the_notice_never_reveals_a_spam_verdict(
    client: FlaskClient, store: Any, status: CommentStatus, message: str
) -> None:
    comment = store(status=status)
    response = client.get(f"/?comment={comment.id}")
    page = Page.of(response.get_data(as_text=True))
    notice = page.by_id("comment-status")
    assert " ".join(notice.text.split()) == message
    assert notice.attrs["role"] == "status"
    assert "spam" not in notice.text.lower()
    assert "notice--published" in notice.attrs["class"] or status is not CommentStatus.PUBLISHED


def test_the_newest_posted_comment_wins(client: FlaskClient, store: Any) -> None:
    first = store(status=CommentStatus.PUBLISHED)
    second = store(status=CommentStatus.HELD)
    page = get_page(client, f"/?comment={first.id}&comment={second.id}")
    assert "awaiting moderation" in page.by_id("comment-status").text


def test_a_kept_form_is_shown_from_its_retry_id_but_never_beside_a_notice(
    app: Flask, client: FlaskClient, store: Any
) -> None:
    form = FormState(
        values={"body": "Typed before", "author_name": "Ada"},
        errors={"author": "Name is too long."},
        problems=[FieldProblem("author", "Name is too long.")],
    )
    retry_id = save_form(app.extensions[EXTENSION_KEY].redis, form)
    page = get_page(client, f"/?retry={retry_id}")
    assert page.form_fields()["body"] == "Typed before"
    assert page.by_id("author-error").text == "Name is too long."
    assert page.by_id("form-errors").attrs["role"] == "alert"
    comment = store(status=CommentStatus.HELD)
    both = get_page(client, f"/?retry={retry_id}&comment={comment.id}")
    assert both.has_id("comment-status")
    assert not both.has_id("form-errors")
    assert both.form_fields()["body"] == ""


@pytest.mark.parametrize("comment_id", ["nope", "A" * 22, "../../etc", "x" * 500])
def test_no_notice_for_unknown_ids(client: FlaskClient, comment_id: str) -> None:
    assert not get_page(client, f"/?comment={comment_id}").has_id("comment-status")


def test_no_notice_for_comments_of_other_threads(client: FlaskClient, store: Any) -> None:
    other = store(thread="https://blog.example/elsewhere")
    assert not get_page(client, f"/?comment={other.id}").has_id("comment-status")


def test_only_published_comments_of_the_post_are_listed(client: FlaskClient, store: Any) -> None:
    shown = store(body="I am published.")
    store(status=CommentStatus.HELD, body="I am held.")
    store(status=CommentStatus.SPAM, body="I am spam.")
    store(status=CommentStatus.PENDING, body="I am pending.")
    store(thread="other/thread", body="I am elsewhere.")
    page = get_page(client)
    items = page.select("li", class_="comment")
    assert [item.attrs["id"] for item in items] == [f"comment-{shown.id}"]
    assert page.by_id("comments-title").text.strip() == "One thought on \u201cHello, world\u201d"


def test_comments_are_escaped_text_with_their_line_breaks(client: FlaskClient, store: Any) -> None:
    body = '<script>alert(1)</script>\n<img src=x onerror=alert(2)>\n\n  indented & "quoted"'
    name = '<b onmouseover="alert(3)">Mallory</b>'
    url = 'https://example.org/"onmouseover="alert(4)'
    comment = store(body=body, author_name=name, author_url=url)
    html = client.get("/").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = Page.of(html)
    content = page.select("div", class_="comment-content")[0]
    assert content.text == body  # exactly: pre-wrap keeps the line breaks and spaces
    links = page.select("a", class_="url")
    assert len(links) == 1
    assert links[0].attrs["href"] == url
    assert links[0].attrs["rel"] == "nofollow ugc noopener"
    assert links[0].text == name
    assert "onmouseover" not in links[0].attrs
    assert not page.select("img")
    assert page.has_id(f"comment-{comment.id}")


def test_authors_without_a_website_are_not_links(client: FlaskClient, store: Any) -> None:
    store(author_name="Plain Name", author_url="")
    page = get_page(client)
    author = page.select("b", class_="comment-author")[0]
    assert author.text.strip() == "Plain Name"
    assert not page.select("a", class_="url")


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,hi", "//evil.example/", "http://"]
)
def test_stored_urls_that_are_not_http_are_never_linked(
    client: FlaskClient, store: Any, url: str
) -> None:
    store(author_name="Sneaky", author_url=url)  # bypassing intake validation
    page = get_page(client)
    assert not page.select("a", class_="url")
    assert url not in client.get("/").get_data(as_text=True)


def test_an_empty_author_name_shows_as_anonymous(client: FlaskClient, store: Any) -> None:
    store(author_name="")
    page = get_page(client)
    assert page.select("b", class_="comment-author")[0].text.strip() == "Anonymous"
    assert page.select("span", class_="avatar")[0].text.strip() == "A"


def test_comments_are_oldest_first_with_cursor_pages(
    client: FlaskClient, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "COMMENTS_PER_PAGE", 2)
    ids = [store(body=f"comment {i}").id for i in range(5)]
    seen: list[str] = []
    url: str | None = "/"
    pages = 0
    while url:
        page = get_page(client, url)
        pages += 1
        seen += [
            e.attrs["id"].removeprefix("comment-") for e in page.select("li", class_="comment")
        ]
        assert page.by_id("comments-title").text.strip().startswith("5 thoughts")
        more = page.select("a", class_="nav-more")
        first = page.select("a", class_="nav-first")
        assert bool(first) == (pages > 1)
        if first:
            assert first[0].attrs["href"] == "/#comments"
        url = more[0].attrs["href"] if more else None
        if url:
            assert url.startswith("/?cursor=")
            assert url.endswith("#comments")
            assert more[0].text.strip().startswith("Load more comments")
    assert seen == ids
    assert pages == 3


@pytest.mark.parametrize("cursor", ["!!!", "bm90IGpzb24", "W10"])
def test_a_bad_cursor_is_a_400_page(client: FlaskClient, cursor: str) -> None:
    response = client.get(f"/?cursor={cursor}")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    page = Page.of(response.get_data(as_text=True))
    assert "does not exist" in page.by_id("error-title").text
    assert page.select("a", class_="button")[0].attrs["href"] == "/#comments"


def test_the_stylesheet_is_served(client: FlaskClient) -> None:
    page = get_page(client)
    sheet = next(e for e in page.select("link") if e.attrs.get("rel") == "stylesheet")
    response = client.get(sheet.attrs["href"])
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert b"white-space: pre-wrap" in response.get_data()
    response.close()


def test_a_comment_decided_while_the_page_waits_is_published(
    client: FlaskClient, app: Any, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page waits briefly for the decision (a bounded poll of the stored status)."""
    import threading

    from service.core.store import Decision

    svc = app.extensions[EXTENSION_KEY]
    # Bounded; it ends as soon as the decision is stored.
    monkeypatch.setattr(demo, "DECISION_WAIT_SECONDS", 30.0)
    comment = store(status=CommentStatus.PENDING)
    reads = threading.Event()
    real_get = svc.store.get

    def get(comment_id: str) -> Any:
        reads.set()  # the page is polling: decide it now, as a worker would
        return real_get(comment_id)

    def decide() -> None:
        reads.wait(30)
        svc.store.record_decisions([Decision(comment, CommentStatus.PUBLISHED, 0.1, "m", ())])

    monkeypatch.setattr(svc.store, "get", get)
    worker = threading.Thread(target=decide)
    worker.start()
    try:
        page = get_page(client, f"/?comment={comment.id}")
    finally:
        worker.join()
    notice = " ".join(page.by_id("comment-status").text.split())
    assert notice == "Thanks, your comment is published. See it below."


def test_an_old_pending_comment_is_not_waited_for(
    client: FlaskClient, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "DECISION_WAIT_SECONDS", 3600.0)  # a wait would hang the test
    comment = store(status=CommentStatus.PENDING, created_at=time.time() - 60)
    page = get_page(client, f"/?comment={comment.id}")
    assert "awaiting moderation" in page.by_id("comment-status").text
