"""The embeddable widget on a page of another origin, under a strict CSP, in Chromium.

The host page comes from a second small HTTP server (another port, so another origin)
whose Content Security Policy allows scripts, styles and connections to commentgate's
origin only, and requires Trusted Types: an inline style, an ``innerHTML`` or a request
anywhere else would be a violation, and violations fail the test (the guard fails on
console errors, and :func:`violations` reads what the page recorded).
"""

from __future__ import annotations

import html
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import redis
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Request, Route, expect

from service.core.sites import SiteRegistry
from service.core.store import CommentStore, keys
from tests.browser.conftest import (
    _GUARD,
    PLAYWRIGHT_TIMEOUT_MS,
    LiveServer,
    PageGuard,
    Workers,
)
from tests.browser.test_demo_page import PUBLISH_ALL
from tests.conftest import REPO_ROOT, decided, solve

pytestmark = pytest.mark.browser

THREAD = "https://blog.example/posts/widget"
#: Worker settings under which every comment is held for a moderator.
HOLD_ALL = {"COMMENTGATE_PUBLISH_BELOW": "0", "COMMENTGATE_SPAM_ABOVE": "1"}
#: Set to a path (relative to the repo) to save a screenshot of the rendered widget.
SCREENSHOT_ENV = "COMMENTGATE_WIDGET_SCREENSHOT"
#: Milliseconds to wait for the widget to see a worker's decision (it polls).
DECISION_TIMEOUT_MS = 20_000
#: Records the page's CSP violations and reports them as console errors.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const line = event.violatedDirective + " " + (event.blockedURI || "inline");
  window.__violations.push(line);
  console.error("CSP violation: " + line);
}, true);
"""


# -- the host site: another origin, a strict policy ------------------------------------


@dataclass
class HostSite:
    """A static site on its own port, serving the pages a test puts in ``pages``.

    Attributes:
        origin: ``http://127.0.0.1:<port>``.
        pages: Path -> (HTML, Content-Security-Policy).
        files: Path -> (body, content type), served without a policy.
    """

    origin: str
    pages: dict[str, tuple[str, str]] = field(default_factory=dict)
    files: dict[str, tuple[str, str]] = field(default_factory=dict)


def strict_policy(commentgate: str, *, own_styles: bool = False) -> str:
    """A policy allowing commentgate's origin only (and the page's stylesheets if asked)."""
    styles = f"{commentgate} 'self'" if own_styles else commentgate
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {commentgate}",
            f"style-src {styles}",
            f"connect-src {commentgate}",
            "img-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "require-trusted-types-for 'script'",
        ]
    )


def host_page(commentgate: str, *, lang: str = "en", head: str = "", **data: str) -> str:
    """A blog post embedding the widget; ``data`` become ``data-commentgate-*`` attributes."""
    attributes = {"thread": THREAD, **data}
    data_attributes = " ".join(
        f'data-commentgate-{name.replace("_", "-")}="{html.escape(value)}"'
        for name, value in attributes.items()
    )
    return f"""<!doctype html>
<html lang="{lang}">
<head><meta charset="utf-8"><title>A post on another origin</title>{head}</head>
<body>
<main>
<h1>A post on another origin</h1>
<p>The post's text.</p>
<script src="{commentgate}/embed.js" {data_attributes} async></script>
</main>
</body>
</html>
"""


def _handler(site: HostSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path in site.pages:
                text, policy = site.pages[path]
                self._send(200, text, "text/html; charset=utf-8", policy)
            elif path in site.files:
                body, content_type = site.files[path]
                self._send(200, body, content_type)
            else:
                self._send(404, "not here", "text/plain")

        def _send(self, status: int, text: str, content_type: str, policy: str = "") -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if policy:
                self.send_header("Content-Security-Policy", policy)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet

    return Handler


@pytest.fixture
def host_site() -> Iterator[HostSite]:
    """The host site, on a free port of 127.0.0.1; shut down after the test."""
    site = HostSite(origin="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    site.origin = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def commentgate(live_server_factory: Callable[..., LiveServer], host_site: HostSite) -> LiveServer:
    """commentgate, allowing the host site's origin to call the API."""
    return live_server_factory(COMMENTGATE_ALLOWED_ORIGINS=host_site.origin)


# -- the browser -------------------------------------------------------------------------


@dataclass
class WidgetGuard(PageGuard):
    """A :class:`PageGuard` that also lets requests to the host site through."""

    host: str = ""

    def _route(self, route: Route) -> None:
        parts = urlsplit(route.request.url)
        if f"{parts.scheme}://{parts.netloc}" == self.host:
            self.requests.append(route.request.url)
            route.continue_()
        else:
            super()._route(route)


@dataclass
class Visitor:
    """One browser context (one visitor, with its own local storage) and its guard."""

    context: BrowserContext
    guard: WidgetGuard
    host: HostSite

    def open(self, path: str) -> Page:
        """A new page on the host site, once the widget has shown its form."""
        page = self.context.new_page()
        page.goto(self.host.origin + path)
        expect(page.locator(".commentgate")).to_be_visible()
        expect(page.locator(".commentgate-question")).to_have_text(re.compile(r"="))
        return page


@pytest.fixture
def visitor_factory(
    browser: Browser,
    commentgate: LiveServer,
    host_site: HostSite,
    request: pytest.FixtureRequest,
) -> Iterator[Callable[[], Visitor]]:
    """Fresh visitors; any error, CSP violation or stray request of theirs fails the test."""
    guard = WidgetGuard(origin=commentgate.origin, host=host_site.origin)
    request.node.stash[_GUARD] = guard  # checked after the test by tests/browser/conftest.py
    contexts: list[BrowserContext] = []

    def new_visitor() -> Visitor:
        context = browser.new_context(locale="en-GB", viewport={"width": 1024, "height": 900})
        context.set_default_timeout(PLAYWRIGHT_TIMEOUT_MS)
        context.add_init_script(RECORD_VIOLATIONS)
        guard.attach(context)
        contexts.append(context)
        return Visitor(context=context, guard=guard, host=host_site)

    yield new_visitor
    for context in contexts:
        context.close()


@pytest.fixture
def visitor(visitor_factory: Callable[[], Visitor]) -> Visitor:
    """The first visitor."""
    return visitor_factory()


def violations(page: Page) -> list[str]:
    """The CSP violations the page recorded."""
    found: list[str] = page.evaluate("window.__violations")
    return found


def serve(host_site: HostSite, commentgate: LiveServer, path: str = "/post.html", **kw: str) -> str:
    """Put a host page embedding the widget at ``path``, under the strict policy."""
    host_site.pages[path] = (host_page(commentgate.url, **kw), strict_policy(commentgate.url))
    return path


# -- helpers -----------------------------------------------------------------------------


def field(page: Page, label: str) -> Locator:
    """A form control of the widget by the start of its label."""
    return page.locator(".commentgate").get_by_label(re.compile(rf"^{re.escape(label)}"))


def captcha_answer(page: Page) -> str:
    """Solve the captcha the widget shows."""
    question = page.locator(".commentgate-question").text_content()
    assert question
    return str(solve(question))


def fill_form(page: Page, body: str, name: str, *, email: str = "", website: str = "") -> None:
    """Fill the widget's form, the captcha included."""
    field(page, "Comment").fill(body)
    field(page, "Name").fill(name)
    field(page, "Email").fill(email)
    field(page, "Website").fill(website)
    field(page, "Spam check").fill(captcha_answer(page))


def top_level(page: Page) -> Locator:
    """The bodies of the top-level comments, in order."""
    return page.locator(".commentgate-list > .commentgate-comment > article .commentgate-body")


# -- tests -------------------------------------------------------------------------------


def test_comments_render_oldest_first_with_nested_replies_a_page_at_a_time(
    visitor: Visitor, commentgate: LiveServer, host_site: HostSite, redis_client: redis.Redis
) -> None:
    start = time.time() - 3600

    def published(body: str, minute: int, **kwargs: Any) -> str:
        created_at = start + 60 * minute
        return decided(
            redis_client, "published", body=body, thread=THREAD, created_at=created_at, **kwargs
        )

    hostile = "First! <img src=x onerror=alert(1)>"
    first = published(hostile, 1, author_name="<b>Ann</b>", author_url="https://ann.example/")
    published("Second, on its own.", 2, author_name="Ben")
    published("Third, a newer one.", 3, author_name="Cy")
    reply = published("A reply to the first.", 4, author_name="Dee", parent_id=first)
    published("A reply to the reply.", 5, author_name="Eve", parent_id=reply)
    decided(redis_client, "held", body="Held, never shown.", thread=THREAD)
    decided(redis_client, "published", body="Another thread.", thread=THREAD + "/other")

    page = visitor.open(serve(host_site, commentgate, page_size="2"))
    expect(page.get_by_role("heading", name="Comments")).to_be_visible()
    expect(top_level(page)).to_have_text([hostile, "Second, on its own."])
    author = page.get_by_role("link", name="<b>Ann</b>")
    expect(author).to_have_attribute("href", "https://ann.example/")
    expect(author).to_have_attribute("rel", "nofollow ugc noopener")
    expect(page.locator(".commentgate img, .commentgate b")).to_have_count(0)

    more = page.get_by_role("button", name="Load more comments")
    more.click()
    expect(top_level(page)).to_have_count(3)
    nested = page.locator(f"#commentgate-{first} > .commentgate-replies > .commentgate-comment")
    expect(nested.locator("> article .commentgate-body")).to_have_text(["A reply to the first."])
    more.click()
    expect(more).to_be_hidden()
    deeper = page.locator(f"#commentgate-{reply} > .commentgate-replies .commentgate-body")
    expect(deeper).to_have_text(["A reply to the reply."])
    expect(top_level(page)).to_have_text([hostile, "Second, on its own.", "Third, a newer one."])
    expect(page.locator(".commentgate-comment")).to_have_count(5)
    expect(page.get_by_text("Held, never shown.")).to_have_count(0)
    expect(page.get_by_text("Another thread.")).to_have_count(0)

    # The stylesheet from commentgate applies under the host's policy.
    white_space = page.locator(".commentgate-body").first.evaluate(
        "node => getComputedStyle(node).whiteSpace"
    )
    assert white_space == "pre-wrap"
    assert violations(page) == []
    target = os.environ.get(SCREENSHOT_ENV)
    if target:  # a picture of the widget, for the docs
        path = Path(target) if Path(target).is_absolute() else REPO_ROOT / target
        path.parent.mkdir(parents=True, exist_ok=True)
        page.locator(".commentgate").screenshot(path=str(path))


def test_a_comment_is_posted_across_origins_and_published_by_the_workers(
    visitor: Visitor,
    visitor_factory: Callable[[], Visitor],
    commentgate: LiveServer,
    host_site: HostSite,
    workers: Workers,
) -> None:
    path = serve(host_site, commentgate)
    page = visitor.open(path)
    expect(page.get_by_text("No comments yet.")).to_be_visible()
    posts: list[Request] = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    fill_form(page, "Posted from another origin.\nSecond line.", "Grace", email="g@example.org")
    with page.expect_response(re.compile(r"/api/v1/comments$")) as posted:
        page.get_by_role("button", name="Post comment").click()
    assert posted.value.status == 202
    assert posted.value.headers["access-control-allow-origin"] == host_site.origin
    sent = posts[0].post_data_json
    assert sent["thread"] == THREAD
    assert "site" not in sent
    assert "cookie" not in posts[0].headers
    expect(page.get_by_role("status").filter(has_text="being checked")).to_be_visible()
    expect(page.locator(".commentgate-own")).to_have_count(1)

    workers.burst(**PUBLISH_ALL)
    expect(page.get_by_text("Your comment is published.")).to_be_visible(
        timeout=DECISION_TIMEOUT_MS
    )
    expect(page.locator(".commentgate-own")).to_have_count(0)
    expect(top_level(page)).to_have_text(["Posted from another origin.\nSecond line."])
    expect(field(page, "Comment")).to_have_value("")
    assert violations(page) == []

    stranger = visitor_factory().open(path)
    expect(top_level(stranger)).to_have_text(["Posted from another origin.\nSecond line."])
    expect(stranger.get_by_text("g@example.org")).to_have_count(0)


def test_a_reply_is_posted_under_its_parent(
    visitor: Visitor,
    commentgate: LiveServer,
    host_site: HostSite,
    redis_client: redis.Redis,
    workers: Workers,
) -> None:
    parent = decided(redis_client, "published", body="Start of the thread.", thread=THREAD)
    # decided() stores like the intake, which marks a scoring job as scheduled, but
    # enqueues none: clear the mark, as the worker that drained it would have.
    redis_client.delete(keys.DRAIN_SCHEDULED)
    page = visitor.open(serve(host_site, commentgate))
    page.get_by_role("button", name="Reply to Sam").click()
    expect(page.get_by_text("Replying to Sam")).to_be_visible()
    expect(field(page, "Comment")).to_be_focused()
    page.get_by_role("button", name="Cancel reply").click()
    expect(page.get_by_text("Replying to Sam")).to_be_hidden()
    page.get_by_role("button", name="Reply to Sam").click()

    fill_form(page, "An answer to the start.", "Ivy")
    with page.expect_request(re.compile(r"/api/v1/comments$")) as posted:
        page.get_by_role("button", name="Post comment").click()
    assert posted.value.post_data_json["parent_id"] == parent
    replies = page.locator(f"#commentgate-{parent} > .commentgate-replies > .commentgate-comment")
    expect(replies).to_have_count(1)
    expect(replies).to_have_class(re.compile("commentgate-own"))
    expect(page.get_by_text("Replying to Sam")).to_be_hidden()

    workers.burst(**PUBLISH_ALL)
    expect(page.get_by_text("Your comment is published.")).to_be_visible(
        timeout=DECISION_TIMEOUT_MS
    )
    expect(replies).not_to_have_class(re.compile("commentgate-own"))
    expect(replies.locator(".commentgate-body")).to_have_text(["An answer to the start."])
    page.reload()
    expect(replies.locator(".commentgate-body")).to_have_text(["An answer to the start."])
    assert violations(page) == []


def test_the_json_preflight_allows_the_host_origin_without_credentials(
    commentgate: LiveServer, host_site: HostSite
) -> None:
    response = httpx.options(
        f"{commentgate.url}/api/v1/comments",
        headers={
            "Origin": host_site.origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == host_site.origin
    assert "content-type" in response.headers["access-control-allow-headers"].lower()
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in response.headers


def test_a_wrong_answer_is_announced_with_a_new_question_and_the_text_kept(
    visitor: Visitor, commentgate: LiveServer, host_site: HostSite
) -> None:
    visitor.guard.allow_http_error(422, r"/api/v1/comments$")
    page = visitor.open(serve(host_site, commentgate))
    body = "Typed with the keyboard alone."
    field(page, "Comment").focus()
    page.keyboard.type(body)
    for label, text in [("Name", "Kim"), ("Email", "kim@example.org"), ("Website", "")]:
        page.keyboard.press("Tab")
        expect(field(page, label)).to_be_focused()
        page.keyboard.type(text)
    page.keyboard.press("Tab")
    captcha = field(page, "Spam check")
    expect(captcha).to_be_focused()
    page.keyboard.type(str(int(captcha_answer(page)) + 1))
    with page.expect_response(re.compile(r"/api/v1/comments$")) as posted:
        page.keyboard.press("Enter")
    assert posted.value.status == 422
    first_token = posted.value.request.post_data_json["captcha_token"]

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The answer to the spam check was not right.")
    expect(captcha).to_have_value("")
    expect(captcha).to_have_attribute("aria-invalid", "true")
    expect(captcha).to_be_focused()
    expect(field(page, "Comment")).to_have_value(body)
    expect(field(page, "Name")).to_have_value("Kim")
    expect(field(page, "Email")).to_have_value("kim@example.org")
    # The new question is read out in the alert and is the field's name.
    spoken = page.locator(".commentgate-sr").text_content()
    assert spoken
    expect(alert).to_contain_text(spoken.removeprefix("Spam check: "))
    expect(captcha).to_have_accessible_name(re.compile(r"^Spam check: .+\?$"))

    captcha.fill(captcha_answer(page))
    with page.expect_response(re.compile(r"/api/v1/comments$")) as posted:
        page.get_by_role("button", name="Post comment").click()
    assert posted.value.status == 202
    assert posted.value.request.post_data_json["captcha_token"] != first_token
    expect(captcha).not_to_have_attribute("aria-invalid", "true")
    assert violations(page) == []


def test_a_held_comment_is_shown_to_its_author_only(
    visitor: Visitor,
    visitor_factory: Callable[[], Visitor],
    commentgate: LiveServer,
    host_site: HostSite,
    workers: Workers,
) -> None:
    path = serve(host_site, commentgate)
    page = visitor.open(path)
    fill_form(page, "Please look at my shop, best prices.", "Mallory")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".commentgate-own")).to_have_count(1)

    workers.burst(**HOLD_ALL)
    own = page.locator(".commentgate-own")
    expect(own).to_contain_text("awaiting moderation", timeout=DECISION_TIMEOUT_MS)
    expect(page.get_by_role("status").filter(has_text="awaiting moderation")).to_be_visible()
    expect(own).to_contain_text("Please look at my shop, best prices.")
    expect(own.get_by_role("button", name=re.compile("^Reply"))).to_have_count(0)

    page.reload()  # the author, later: remembered in this browser's storage
    expect(page.locator(".commentgate-own")).to_contain_text("awaiting moderation")

    stranger = visitor_factory().open(path)
    expect(stranger.get_by_text("No comments yet.")).to_be_visible()
    expect(stranger.get_by_text("Please look at my shop")).to_have_count(0)
    expect(stranger.get_by_text("awaiting moderation")).to_have_count(0)
    assert violations(page) == []
    assert violations(stranger) == []


@pytest.mark.parametrize(
    ("lang", "texts"),
    [
        (
            "de",
            {
                "heading": "Kommentare",
                "captcha": "Spam-Schutz",
                "post": "Kommentar abschicken",
                "required": "Bitte fülle dieses Feld aus.",
                "question": r"(Was ist \d+ (plus|minus|mal) \d+|.* ergibt .*)\?",
            },
        ),
        (
            "fr-CA",
            {
                "heading": "Commentaires",
                "captcha": "Contrôle anti-spam",
                "post": "Publier le commentaire",
                "required": "Veuillez remplir ce champ.",
                "question": r"(Combien font \d+ (plus|moins|fois) \d+|.* égale .*) \?",
            },
        ),
        (
            "ja",
            {
                "heading": "Comments",
                "captcha": "Spam check",
                "post": "Post comment",
                "required": "Please fill in this field.",
                "question": r"(What is \d+ (plus|minus|times) \d+|.* equals .*)\?",
            },
        ),
    ],
)
def test_strings_follow_the_page_language(
    visitor: Visitor,
    commentgate: LiveServer,
    host_site: HostSite,
    lang: str,
    texts: dict[str, str],
) -> None:
    page = visitor.open(serve(host_site, commentgate, lang=lang))
    expect(page.locator(".commentgate")).to_have_attribute(
        "lang", lang.split("-")[0] if lang != "ja" else "en"
    )
    expect(page.get_by_role("heading", name=texts["heading"], exact=True)).to_be_visible()
    captcha = field(page, texts["captcha"])
    name = rf"^{re.escape(texts['captcha'])}: {texts['question']}$"
    expect(captcha).to_have_accessible_name(re.compile(name))
    page.get_by_role("button", name=texts["post"]).click()
    expect(page.get_by_role("alert")).not_to_be_empty()
    expect(page.locator(".commentgate-field-error").first).to_have_text(texts["required"])
    assert violations(page) == []


def test_the_site_attribute_is_sent_with_every_request(
    visitor: Visitor, commentgate: LiveServer, host_site: HostSite, redis_client: redis.Redis
) -> None:
    """A site's widget posts to that site, from the origin the site allows."""
    SiteRegistry(redis_client).add("blog", url=host_site.origin + "/")
    requests: list[Request] = []
    visitor.context.on("request", lambda request: requests.append(request))
    page = visitor.open(serve(host_site, commentgate, site="blog"))
    fill_form(page, "Sent with the site's name.", "Sam")
    with page.expect_response(re.compile(r"/api/v1/comments$")):
        page.get_by_role("button", name="Post comment").click()
    api = [r for r in requests if "/api/v1/" in r.url]
    assert {urlsplit(r.url).path for r in api} >= {"/api/v1/captcha", "/api/v1/comments"}
    for sent in api:
        if sent.method == "POST":
            continue
        assert parse_qs(urlsplit(sent.url).query).get("site") == ["blog"], sent.url
    posted = [r for r in api if r.method == "POST"]
    assert posted
    assert posted[0].post_data_json["site"] == "blog"
    stored = CommentStore(redis_client).get(posted[0].response().json()["id"])
    assert stored is not None
    assert stored.site == "blog"


def test_a_revoked_sites_widget_says_it_takes_no_comments(
    visitor: Visitor, commentgate: LiveServer, host_site: HostSite, redis_client: redis.Redis
) -> None:
    registry = SiteRegistry(redis_client)
    registry.add("blog", url=host_site.origin + "/")
    page = visitor.open(serve(host_site, commentgate, site="blog"))
    registry.revoke("blog")  # while the page is open
    visitor.guard.allow_http_error(403, r"/api/v1/comments$")
    fill_form(page, "Sent after the site was revoked.", "Sam")
    with page.expect_response(re.compile(r"/api/v1/comments$")) as posted:
        page.get_by_role("button", name="Post comment").click()
    assert posted.value.status == 403
    expect(page.get_by_role("alert")).to_have_text("This site no longer takes comments.")
    assert redis_client.keys(keys.comment("*")) == []
    assert violations(page) == []


def test_the_theme_comes_from_the_host_pages_custom_properties(
    visitor: Visitor, commentgate: LiveServer, host_site: HostSite
) -> None:
    theme = ":root { --commentgate-accent: rgb(1, 2, 3); --commentgate-radius: 0px; }"
    host_site.files["/theme.css"] = (theme, "text/css")
    head = '<link rel="stylesheet" href="/theme.css">'
    html_text = host_page(commentgate.url, head=head)
    host_site.pages["/themed.html"] = (html_text, strict_policy(commentgate.url, own_styles=True))
    page = visitor.open("/themed.html")
    button = page.get_by_role("button", name="Post comment")
    expect(button).to_have_css("background-color", "rgb(1, 2, 3)")
    expect(field(page, "Comment")).to_have_css("border-radius", "0px")
    assert violations(page) == []


def test_violations_are_seen(
    browser: Browser, commentgate: LiveServer, host_site: HostSite
) -> None:
    """The violation recorder works: an inline style on the host page is one."""
    page_html = host_page(commentgate.url).replace("<p>", '<p style="color: red">')
    host_site.pages["/inline.html"] = (page_html, strict_policy(commentgate.url))
    context = browser.new_context()
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    page.goto(host_site.origin + "/inline.html")
    expect(page.locator(".commentgate")).to_be_visible()
    assert any(v.startswith("style-src") for v in violations(page))
    context.close()
