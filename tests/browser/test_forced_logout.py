"""A link from another site into ``/moderate`` does not log the moderator out.

The session cookie is ``SameSite=Strict``, so Chromium leaves it out of a navigation
that starts on another site; a page answering such a request must not clear, replace
or overwrite the session the browser still holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import redis
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from service.core.accounts import ModeratorStore
from service.web.pages.moderate.session import COOKIE_NAME
from tests.browser.conftest import PLAYWRIGHT_TIMEOUT_MS, LiveServer

pytestmark = pytest.mark.browser

ATTACKER = "http://attacker.example"
LOGIN = re.compile(r"/moderate/login(\?.*)?$")
#: Where each link of the other site ends, logged in.
QUEUE = {
    "queue": re.compile(r"/moderate$"),
    "spam": re.compile(r"/moderate/spam\?q=x$"),
    "login": re.compile(r"/moderate$"),
}


@pytest.fixture
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    """A context on the live server in which ``attacker.example`` serves a page of links."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(PLAYWRIGHT_TIMEOUT_MS)

    def attacker_page(route: Route) -> None:
        links = "".join(
            f'<a id="{name}" href="{live_server.url}{path}">{name}</a> '
            for name, path in (
                ("queue", "/moderate"),
                ("spam", "/moderate/spam?q=x"),
                ("login", "/moderate/login"),
            )
        )
        route.fulfill(status=200, content_type="text/html", body=f"<!doctype html>{links}")

    context.route(f"{ATTACKER}/**", attacker_page)
    yield context
    context.close()


def session_cookie(context: BrowserContext) -> str:
    """The session the browser holds: the signed cookie's payload, without its timestamp.

    Each request a session is used for signs it anew (its expiry slides), so the same
    session comes back with a new timestamp and signature.
    """
    values = [c.get("value", "") for c in context.cookies() if c.get("name") == COOKIE_NAME]
    assert len(values) == 1, values
    return values[0].rsplit(".", 2)[0]


def log_in(page: Page, token: str) -> None:
    page.goto("/moderate/login")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


@pytest.mark.parametrize("link", ["queue", "spam", "login"])
def test_a_cross_site_link_does_not_log_the_moderator_out(
    context: BrowserContext, redis_client: redis.Redis, link: str
) -> None:
    token = ModeratorStore(redis_client).add("mia")
    page = context.new_page()
    log_in(page, token)
    cookie = session_cookie(context)

    page.goto(f"{ATTACKER}/")
    page.click(f"#{link}")
    # The page the link answers reloads itself from this site, with the cookie.
    expect(page).to_have_url(QUEUE[link])
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert session_cookie(context) == cookie  # neither cleared nor replaced

    page.goto("/moderate/rejected")  # typed in the address bar
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert not LOGIN.search(page.url)
