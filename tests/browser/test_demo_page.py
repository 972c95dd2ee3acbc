"""The demo blog page in a real browser: post, moderate, publish, stay safe."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Locator, Page, expect

from service.core.store import keys
from tests.browser.conftest import GuardedPage, Workers
from tests.conftest import REPO_ROOT, solve

pytestmark = pytest.mark.browser

#: Worker settings under which every comment the model scores is published.
PUBLISH_ALL = {
    "COMMENTGATE_PUBLISH_BELOW": "0.999999",
    "COMMENTGATE_SPAM_ABOVE": "1.0",
    "COMMENTGATE_MAX_LINKS": "10",
}
#: Set to a path (relative to the repo) to save a screenshot of the published comment.
SCREENSHOT_ENV = "COMMENTGATE_DEMO_SCREENSHOT"


def captcha_answer(page: Page) -> str:
    """Read the captcha question from the page and solve it."""
    question = page.locator(".captcha-question").get_attribute("data-question")
    assert question, "the page shows no captcha question"
    return str(solve(question))


def field(page: Page, label: str) -> Locator:
    """The form control whose label starts with ``label`` (labels end with ``*``, a prompt)."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}\b"))


def fill_comment(page: Page, *, body: str, name: str, email: str = "", website: str = "") -> None:
    """Fill the visible fields of the comment form, found by their labels."""
    field(page, "Comment").fill(body)
    field(page, "Name").fill(name)
    field(page, "Email").fill(email)
    field(page, "Website").fill(website)


def post_comment(page: Page) -> None:
    """Submit the form and wait for the page the intake sends the browser back to."""
    page.get_by_role("button", name="Post Comment").click()
    page.wait_for_url(re.compile(r"\?comment=[\w-]+#comment-status$"))


def test_comment_waits_for_moderation_then_is_published(page: Page, workers: Workers) -> None:
    body = "So glad the comments are back.\nThis second line stays on its own line."
    page.goto("/")
    expect(page).to_have_title(re.compile("Hello, world"))
    expect(page.get_by_role("heading", name="No comments yet")).to_be_visible()
    fill_comment(
        page,
        body=body,
        name="Grace Hopper",
        email="grace@example.org",
        website="https://grace.example/",
    )
    field(page, "Spam check").fill(captcha_answer(page))
    post_comment(page)

    expect(page.locator("#comment-status")).to_have_text("Your comment is awaiting moderation.")
    expect(page.locator(".comment")).to_have_count(0)

    workers.burst(**PUBLISH_ALL)
    page.reload()
    expect(page.locator("#comment-status")).to_contain_text("Thanks, your comment is published.")
    expect(page.get_by_role("heading", name="One thought on")).to_be_visible()
    comment = page.locator(".comment")
    expect(comment).to_have_count(1)
    assert comment.locator(".comment-content").text_content() == body
    author = comment.get_by_role("link", name="Grace Hopper")
    expect(author).to_have_attribute("href", "https://grace.example/")
    expect(author).to_have_attribute("rel", "nofollow ugc noopener")
    expect(page.get_by_text("grace@example.org")).to_have_count(0)

    target = os.environ.get(SCREENSHOT_ENV)
    if target:  # the README's picture: the end of the post, the comment and the form
        page.set_viewport_size({"width": 1280, "height": 1600})
        page.locator("#colophon").scroll_into_view_if_needed()
        path = Path(target) if Path(target).is_absolute() else REPO_ROOT / target
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path))


HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_BODY = (
    "<img src=x onerror=alert(2)>\n"
    "<script>alert(3)</script>\n"
    '<a href="javascript:alert(4)">click me</a> javascript:alert(5)\n'
    "&lt;b&gt;entities stay text&lt;/b&gt; {{ 7*7 }}"
)
#: Valid for the intake (http, a host, no spaces), but tries to break out of href="".
HOSTILE_URL = 'https://example.org/"onmouseover="alert(6)'


def test_hostile_names_bodies_and_urls_are_shown_as_text(
    guarded_page: GuardedPage, workers: Workers
) -> None:
    page, guard = guarded_page.page, guarded_page.guard
    page.goto("/")
    fill_comment(page, body=HOSTILE_BODY, name=HOSTILE_NAME, website=HOSTILE_URL)
    field(page, "Spam check").fill(captcha_answer(page))
    post_comment(page)
    workers.burst(**PUBLISH_ALL)
    page.reload()

    comment = page.locator(".comment")
    expect(comment).to_have_count(1)
    assert comment.locator(".comment-author").text_content() == HOSTILE_NAME
    assert comment.locator(".comment-content").text_content() == HOSTILE_BODY
    expect(page.locator(".comment-list script, .comment-list img")).to_have_count(0)
    expect(page.locator("script")).to_have_count(0)
    author = comment.get_by_role("link", name=HOSTILE_NAME)
    assert author.get_attribute("href") == HOSTILE_URL
    assert author.get_attribute("onmouseover") is None
    author.hover()
    expect(page.get_by_role("link", name="click me")).to_have_count(0)
    assert guard.dialogs == []
    assert guard.foreign_requests == []
    assert not [u for u in guard.requests if urlsplit(u).path.rstrip("/").endswith("/x")]


def test_wrong_captcha_sends_the_browser_back_to_the_page_with_the_input_kept(
    page: Page, redis_client: Any
) -> None:
    body = "First attempt at a comment, with a typo in the sum."
    page.goto("/")
    fill_comment(
        page, body=body, name="Ada", email="ada@example.org", website="https://ada.example"
    )
    first_token = page.locator("input[name=captcha_token]").input_value()
    wrong = str(int(captcha_answer(page)) + 1)
    field(page, "Spam check").fill(wrong)
    with page.expect_response(re.compile(r"/api/v1/comments$")) as posted:
        page.get_by_role("button", name="Post Comment").click()
    assert posted.value.status == 303
    # Post/redirect/get: the address bar shows the demo page, not the intake.
    page.wait_for_url(re.compile(r"/\?retry=[\w-]+#respond$"))
    expect(page).to_have_title(re.compile(r"^Error: Hello, world"))

    def expect_the_form_shown_again() -> None:
        expect(page.get_by_role("alert")).to_contain_text("was not right")
        captcha = field(page, "Spam check")
        expect(captcha).to_have_value("")
        expect(captcha).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#captcha-answer-error")).to_contain_text("was not right")
        expect(field(page, "Comment")).to_have_value(body)
        expect(field(page, "Name")).to_have_value("Ada")
        expect(field(page, "Email")).to_have_value("ada@example.org")
        expect(field(page, "Website")).to_have_value("https://ada.example")
        assert page.locator("input[name=captcha_token]").input_value() != first_token

    expect_the_form_shown_again()
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.reload()  # a GET of the demo page: nothing is posted again
    expect_the_form_shown_again()
    assert posts == []
    assert redis_client.zcard(keys.PENDING) == 0
    assert list(redis_client.scan_iter(keys.comment("*"))) == []

    field(page, "Spam check").fill(captcha_answer(page))
    post_comment(page)
    assert "retry=" not in page.url
    expect(page.locator("#comment-status")).to_have_text("Your comment is awaiting moderation.")
    expect(page.locator("#form-errors")).to_have_count(0)
    expect(field(page, "Comment")).to_have_value("")
    assert redis_client.zcard(keys.PENDING) == 1


def test_the_form_works_with_the_keyboard_alone(page: Page) -> None:
    page.goto("/")
    fields = ["Comment", "Name", "Email", "Website", "Spam check"]
    ids = [field(page, label).get_attribute("id") for label in fields]
    assert ids == ["comment", "author", "email", "url", "captcha-answer"]

    field(page, "Comment").focus()
    page.keyboard.type("Typed without a mouse.")
    for label, text in [
        ("Name", "Keyboard User"),
        ("Email", "keys@example.org"),
        ("Website", "https://keys.example"),
    ]:
        page.keyboard.press("Tab")
        expect(field(page, label)).to_be_focused()
        page.keyboard.type(text)
    page.keyboard.press("Tab")  # the honeypot is skipped (tabindex=-1)
    expect(field(page, "Spam check")).to_be_focused()
    page.keyboard.type(captcha_answer(page))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"\?comment=[\w-]+#comment-status$"))
    expect(page.locator("#comment-status")).to_have_text("Your comment is awaiting moderation.")


def test_a_returning_commenter_is_known_by_the_cookie_not_the_address(
    page: Page, workers: Workers
) -> None:
    # Issue 13: the demo keeps the commenter token in an HttpOnly cookie once the first
    # comment is published; the same address from a browser without it is a stranger's.
    def post_as_carol(body: str) -> None:
        page.goto("/")
        fill_comment(page, body=body, name="Carol", email="carol@example.org")
        field(page, "Spam check").fill(captcha_answer(page))
        post_comment(page)

    post_as_carol("First visit: the part about the lighthouse keeper made me smile.")
    workers.burst(**PUBLISH_ALL)
    page.reload()  # the page exchanges the receipt for the token, kept in a cookie
    expect(page.locator("#comment-status")).to_contain_text("your comment is published")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["cg_demo_commenter"]["httpOnly"]
    assert "cg_demo_receipt" not in cookies

    every_score_held = {"COMMENTGATE_PUBLISH_BELOW": "0", "COMMENTGATE_SPAM_ABOVE": "1"}
    post_as_carol("Second visit: I tried the recipe from the footnote, it worked.")
    workers.burst(**every_score_held)
    page.reload()
    expect(page.locator("#comment-status")).to_contain_text("your comment is published")

    page.context.clear_cookies()  # another browser, typing carol's address
    post_as_carol("Not really carol: great post, visit my page for more.")
    workers.burst(**every_score_held)
    page.reload()
    expect(page.locator("#comment-status")).to_have_text("Your comment is awaiting moderation.")
