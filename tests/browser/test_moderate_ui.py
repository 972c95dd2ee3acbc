"""The moderation UI in headless Chromium: log in, moderate, stay safe from hostile input.

Set ``COMMENTGATE_UI_SCREENSHOTS`` to a directory (relative to the repository) to save
the README's pictures there: ``moderate-login.png`` and ``moderate-queue.png``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

import pytest
import redis
from playwright.sync_api import Browser, Locator, Page, expect

from service.core.accounts import ModeratorStore, Role
from service.core.store import Comment, CommentStatus, CommentStore, Decision, new_comment_id
from service.web.pages import DEMO_THREAD
from tests.browser.conftest import PLAYWRIGHT_TIMEOUT_MS, GuardedPage, LiveServer, PageGuard
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.browser

SCREENSHOTS_ENV = "COMMENTGATE_UI_SCREENSHOTS"
LOGIN = re.compile(r"/moderate/login(\?.*)?$")
QUEUE = re.compile(r"/moderate(#c-[\w-]+)?$")


def hold(
    client: redis.Redis,
    body: str,
    *,
    name: str = "Ada",
    thread: str = DEMO_THREAD,
    status: str = "held",
    score: float = 0.5,
    reasons: Sequence[str] = ("model_score",),
    age: float = 60.0,
    **fields: str,
) -> str:
    """Store a comment and decide it as a worker would; returns its id."""
    store = CommentStore(client)
    comment = Comment(
        id=new_comment_id(),
        thread=thread,
        body=body,
        author_name=name,
        created_at=time.time() - age,
        status=CommentStatus.PENDING,
        **fields,
    )
    store.accept(comment, nonce=None, nonce_ttl=60)
    store.record_decisions(
        [Decision(comment, CommentStatus(status), score, "cg-7ce46b4283f9", tuple(reasons))]
    )
    return comment.id


def status_of(client: redis.Redis, comment_id: str) -> str:
    comment = CommentStore(client).get(comment_id)
    assert comment is not None
    return comment.status.value


def scripts_ready(page: Page) -> None:
    """Wait until moderate.js has set up the page (it adds the ``js`` class last).

    The class is read with ``classList``: a ``\bjs\b`` pattern also matches the
    server's ``no-js``, and did, so keys were pressed on a queue page whose script had
    not run yet (1 run in about 10). The document's own URL is read in the same
    evaluation: just after a navigation commits, the previous document (the login page,
    which has the class too) may still answer.
    """
    page.wait_for_function(
        "url => location.href === url && document.documentElement.classList.contains('js')",
        arg=page.url,
    )


def log_in(page: Page, token: str, *, scripts: bool = True) -> None:
    """Open the queue, get sent to the login page, paste the token and come back.

    With ``scripts`` (JavaScript enabled), also wait until the queue's script has run.
    """
    page.goto("/moderate")
    expect(page).to_have_url(LOGIN)
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(QUEUE)
    if scripts:
        scripts_ready(page)


def card(page: Page, author: str) -> Locator:
    """The comment article whose heading names ``author``."""
    return page.get_by_role("article", name=f"Comment by {author}", exact=True)


def flash(page: Page) -> Locator:
    return page.locator("#flashes .flash")


def test_log_in_approve_by_click_and_by_keyboard_then_find_them_published(
    guarded_page: GuardedPage, redis_client: redis.Redis
) -> None:
    page, guard = guarded_page.page, guarded_page.guard
    guard.allow_http_error(401, r"/moderate/login$")
    token = ModeratorStore(redis_client).add("mia")
    first = hold(redis_client, "First!\nA comment on two lines.", name="Ada", age=300)
    second = hold(redis_client, "Second comment, approved with keys.", name="Grace", age=200)
    third = hold(redis_client, "Third comment stays held.", name="Linus", age=100)

    page.goto("/moderate")
    expect(page).to_have_url("/moderate/login?next=/moderate")
    expect(page).to_have_title(re.compile("^Log in"))
    page.get_by_label("API token").fill("cgm_wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("That token is not valid.")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(QUEUE)
    expect(flash(page)).to_have_text("Welcome, mia.")
    expect(page.get_by_role("link", name=re.compile(r"^Held \(3 comments\)"))).to_have_attribute(
        "aria-current", "page"
    )

    # Click: approve Ada's comment (the oldest, listed last).
    ada = card(page, "Ada")
    expect(ada.locator(".cm__body")).to_have_text("First!\nA comment on two lines.")
    ada.get_by_role("button", name="Approve").click()
    expect(flash(page)).to_have_text("Approved: the comment is published.")
    expect(card(page, "Ada")).to_have_count(0)
    assert status_of(redis_client, first) == "published"
    # The comment next to the one just moderated has the focus now.
    expect(page).to_have_url(re.compile(rf"/moderate#c-{re.escape(second)}$"))
    expect(card(page, "Grace")).to_be_focused()
    expect(card(page, "Grace")).to_have_attribute("aria-current", "true")

    # Keyboard: k moves up to Linus, j back down to Grace, and a approves her comment.
    page.keyboard.press("k")
    expect(card(page, "Linus")).to_have_attribute("aria-current", "true")
    expect(card(page, "Linus")).to_be_focused()
    expect(card(page, "Grace")).not_to_have_attribute("aria-current", "true")
    page.keyboard.press("j")
    expect(card(page, "Grace")).to_be_focused()
    page.keyboard.press("a")
    expect(flash(page)).to_have_text("Approved: the comment is published.")
    expect(card(page, "Grace")).to_have_count(0)
    expect(page).to_have_url(re.compile(rf"/moderate#c-{re.escape(third)}$"))
    expect(card(page, "Linus")).to_be_focused()
    assert status_of(redis_client, second) == "published"
    assert status_of(redis_client, third) == "held"

    listing = page.request.get("/api/v1/comments", params={"thread": DEMO_THREAD}).json()
    assert [c["id"] for c in listing["comments"]] == [first, second]
    page.goto("/")
    expect(page.locator(".comment-content")).to_have_text(
        ["First!\nA comment on two lines.", "Second comment, approved with keys."]
    )

    page.goto("/moderate")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(LOGIN)
    expect(flash(page)).to_have_text("You are logged out.")
    page.goto("/moderate")
    expect(page).to_have_url(LOGIN)


HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]


def test_hostile_bodies_and_names_are_shown_literally_and_nothing_runs(
    guarded_page: GuardedPage, redis_client: redis.Redis, live_server: LiveServer
) -> None:
    page, guard = guarded_page.page, guarded_page.guard
    token = ModeratorStore(redis_client).add("mia")
    for payload in HOSTILE:
        hold(
            redis_client,
            payload,
            name=payload,
            author_email=f'"{payload}"@example.org',
            author_url=f"javascript:{payload}",
            thread=f"https://blog.example/{payload}",
        )
    log_in(page, token)

    bodies = page.locator(".cm__body")
    expect(bodies).to_have_count(2)
    assert sorted(bodies.all_text_contents()) == sorted(HOSTILE)
    for payload in HOSTILE:
        article = card(page, payload)
        expect(article).to_have_count(1)
        expect(article.locator(".cm__url")).to_have_text(f"javascript:{payload}")
        expect(article.locator(".cm__thread a")).to_have_text(f"https://blog.example/{payload}")
    expect(page.locator("main script, main img, main [onerror]")).to_have_count(0)
    assert page.locator("script").evaluate_all("els => els.map(e => e.src)") == [
        f"{live_server.url}/static/js/moderate.js"
    ]
    # Walk over the comments with the keyboard and hover them: still nothing runs.
    for _ in HOSTILE:
        page.keyboard.press("j")
        page.locator(".cm.is-current .cm__body").hover()
    page.reload()
    expect(bodies).to_have_count(2)

    assert guard.dialogs == []
    assert guard.errors == []
    assert guard.foreign_requests == []
    assert not [u for u in guard.requests if urlsplit(u).path.rsplit("/", 1)[-1] == "x"]
    assert {urlsplit(u).netloc for u in guard.requests} == {urlsplit(live_server.url).netloc}


def test_select_two_and_mark_them_as_spam(
    guarded_page: GuardedPage, redis_client: redis.Redis
) -> None:
    page = guarded_page.page
    token = ModeratorStore(redis_client).add("mia")
    spam = [
        hold(redis_client, "Cheap watches here", name="Watches", score=0.7, age=30),
        hold(redis_client, "Free followers now", name="Followers", score=0.75, age=20),
    ]
    kept = hold(redis_client, "A real question about caching", name="Ada", age=10)
    log_in(page, token)

    count = page.locator("#selected-count")
    expect(count).to_have_text("None selected")
    spam_selected = page.get_by_role("button", name="Spam selected")
    expect(spam_selected).to_be_disabled()
    page.get_by_label("Select the comment by Watches").check()
    # x selects the current comment from the keyboard.
    card(page, "Followers").locator(".cm__body").click()
    page.keyboard.press("x")
    expect(page.get_by_label("Select the comment by Followers")).to_be_checked()
    expect(count).to_have_text("2 selected")
    expect(page.get_by_label("Select all on this page")).to_have_js_property("indeterminate", True)
    spam_selected.click()

    expect(flash(page)).to_have_text("Marked 2 comments as spam.")
    assert [status_of(redis_client, i) for i in spam] == ["spam", "spam"]
    assert status_of(redis_client, kept) == "held"
    expect(page.locator(".cm")).to_have_count(1)
    page.get_by_role("link", name=re.compile(r"^Spam \(2 comments\)")).click()
    expect(page.locator(".cm__body")).to_have_text(["Free followers now", "Cheap watches here"])


def test_shortcut_help_search_and_typing_safety(
    guarded_page: GuardedPage, redis_client: redis.Redis
) -> None:
    page = guarded_page.page
    token = ModeratorStore(redis_client).add("mia")
    hold(redis_client, "Cheap casino bonus", name="Casino", age=20)
    hold(redis_client, "Lovely post", name="Ada", age=10)
    log_in(page, token)

    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    expect(help_dialog.locator("dt")).to_have_count(8)
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    page.keyboard.press("/")
    search = page.get_by_role("searchbox", name="Search")
    expect(search).to_be_focused()
    page.keyboard.type("jars casino")  # j, a, r and s typed here are text, not shortcuts
    expect(page.locator(".cm.is-current")).to_have_count(0)
    search.fill("casino")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/moderate\?q=casino$"))
    expect(page.locator(".cm")).to_have_count(1)
    expect(card(page, "Casino")).to_be_visible()
    page.get_by_role("link", name="Clear filters").click()
    expect(page.locator(".cm")).to_have_count(2)


def test_everything_works_without_javascript(
    browser: Browser, live_server: LiveServer, redis_client: redis.Redis
) -> None:
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(PLAYWRIGHT_TIMEOUT_MS)
    guard = PageGuard(origin=live_server.origin)
    guard.attach(context)
    try:
        page = context.new_page()
        token = ModeratorStore(redis_client).add("mia")
        one = hold(redis_client, "Approve me without scripts", name="Ada", age=20)
        two = hold(redis_client, "Reject me in bulk", name="Grace", age=10)
        log_in(page, token, scripts=False)
        expect(page.get_by_role("button", name="Keyboard shortcuts")).to_be_hidden()
        card(page, "Ada").get_by_role("button", name="Approve").click()
        expect(flash(page)).to_have_text("Approved: the comment is published.")
        page.get_by_label("Select the comment by Grace").check()
        page.get_by_role("button", name="Reject selected").click()
        expect(flash(page)).to_have_text("Rejected.")
        assert [status_of(redis_client, i) for i in (one, two)] == ["published", "rejected"]
    finally:
        context.close()
    guard.assert_clean()


def test_the_queue_shows_scores_and_reasons_as_in_the_readme(
    guarded_page: GuardedPage, redis_client: redis.Redis
) -> None:
    """Realistic comments of varied scores; saves the README's screenshots if asked."""
    page = guarded_page.page
    token = ModeratorStore(redis_client).add("mia", Role.ADMIN)
    for body, name, score, reasons, age, extra in REALISTIC:
        hold(redis_client, body, name=name, score=score, reasons=reasons, age=age, **extra)
    for status, count in (("spam", 23), ("published", 86), ("rejected", 4)):
        for n in range(count):
            hold(redis_client, f"{status} {n}", status=status, age=100_000 + n)
    target = os.environ.get(SCREENSHOTS_ENV)
    folder = REPO_ROOT / target if target else None  # an absolute target stays as it is

    page.goto("/moderate/login")
    expect(page.get_by_label("API token")).to_be_focused()
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / "moderate-login.png"), animations="disabled")
    log_in(page, token)
    page.reload()  # without the welcome message
    scripts_ready(page)

    expect(page.locator(".cm")).to_have_count(len(REALISTIC))
    meters = page.get_by_role("meter")
    expect(meters).to_have_count(len(REALISTIC))
    expect(meters.first).to_have_attribute("aria-label", "Spam score 0.31 out of 1")
    # Held comments score below the spam threshold (the shipped model card's).
    expect(page.locator(".score--high")).to_have_count(0)
    expect(page.locator(".score--mid")).to_have_count(3)
    expect(page.locator(".score--low")).to_have_count(1)
    expect(page.get_by_role("link", name="Published (86 comments)")).to_be_visible()
    expect(page.locator(".chip--warning")).to_have_text(["Posted too fast", "Many links"])
    expect(page.locator(".cm__url")).to_have_text(
        ["https://quick-cash.example/", "https://herrera.dev"]
    )
    expect(page.locator("main a[href^='http']")).to_have_count(0)
    page.keyboard.press("j")
    if folder:
        page.screenshot(path=str(folder / "moderate-queue.png"), animations="disabled")


#: (body, name, score, reasons, age in seconds, more fields) of the README's queue.
REALISTIC: list[tuple[str, str, float, tuple[str, ...], float, dict[str, str]]] = [
    (
        "first!!! visit my profile for free followers",
        "gr8deals",
        0.31,
        ("model_score", "too_fast"),
        240,
        {"ip": "203.0.113.9", "thread": "https://blog.example/posts/caching-in-practice"},
    ),
    (
        "Welcome back! I missed reading the comments here.\n"
        "The new form is lovely, and it works without JavaScript.",
        "Priya Natarajan",
        0.03,
        ("premoderation",),
        2400,
        {
            "author_email": "priya.n@example.org",
            "ip": "192.0.2.41",
            "thread": "https://blog.example/posts/hello-world",
        },
    ),
    (
        "Nice write-up. One question: does the cache survive a worker restart, or do you "
        "warm it again from Redis on start-up? We saw a thundering herd after deploys.",
        "Tomás Herrera",
        0.21,
        ("model_score",),
        11_000,
        {
            "author_email": "tomas@herrera.dev",
            "author_url": "https://herrera.dev",
            "ip": "198.51.100.23",
            "thread": "https://blog.example/posts/caching-in-practice",
        },
    ),
    (
        "Great article!! I made $4,500 last month working from home, check it out:\n"
        "https://quick-cash.example/start\nhttps://quick-cash.example/bonus\n"
        "https://quick-cash.example/faq",
        "Jessica Miller",
        0.38,
        ("model_score", "links"),
        1_500,
        {
            "author_email": "jessica.m.4412@mailbox.example",
            "author_url": "https://quick-cash.example/",
            "ip": "203.0.113.77",
            "thread": "https://blog.example/posts/hello-world",
        },
    ),
]
