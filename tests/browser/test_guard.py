"""The browser guard itself: it must notice what it promises to notice."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.browser.conftest import GuardedPage

pytestmark = pytest.mark.browser


def test_the_guard_sees_errors_dialogs_csp_violations_and_foreign_requests(
    guarded_page: GuardedPage,
) -> None:
    page, guard = guarded_page.page, guarded_page.guard
    page.goto("/")
    expect(page.locator("#commentform")).to_be_visible()
    assert guard.problems() == []

    page.evaluate("() => { setTimeout(() => { throw new Error('boom') }, 0) }")
    page.evaluate("() => alert('hello')")
    # The CSP stops fetches to other origins; navigations are the guard's to stop.
    page.evaluate("() => fetch('http://example.invalid/beacon').catch(() => null)")
    # Inline styles are refused by the Content-Security-Policy, and Chromium says so.
    page.evaluate(
        "() => document.body.insertAdjacentHTML('beforeend', '<p style=\"color:red\">x</p>')"
    )
    page.goto("/no-such-page")
    expect(page.locator("body")).to_contain_text("not_found")
    with pytest.raises(PlaywrightError, match="ERR_BLOCKED_BY_CLIENT"):
        page.goto("http://example.invalid/away")

    problems = "\n".join(guard.problems())
    assert "boom" in problems
    assert "dialog opened: 'hello'" in problems
    assert "request to another origin: http://example.invalid/away" in problems
    assert "'http://example.invalid/beacon' violates" in problems
    assert "Applying inline style violates" in problems
    assert "HTTP 404" in problems

    guard.allow_http_error(404, r"/no-such-page$")
    assert "HTTP 404" not in "\n".join(guard.problems())
    # Clean up, or the guard would (rightly) fail this test.
    guard.errors.clear()
    guard.dialogs.clear()
    guard.foreign_requests.clear()
