"""Browser test infrastructure: Debian's Chromium driven by Playwright, a live server.

Fixtures (reusable by any browser test under ``tests/browser``):

``browser``
    A session-wide headless Chromium, launched from ``/usr/bin/chromium`` (Playwright's
    own browser download is not available here). Playwright gives every launch a fresh
    temporary profile (user data dir), and every test gets a fresh context. Tests are
    skipped, with the reason, when the executable is missing.
``live_server_factory``
    Starts ``commentgate web --bind 127.0.0.1:<free port> --workers 1`` as a subprocess
    on the flushed test database, with extra ``COMMENTGATE_*`` variables if given;
    waits for ``/healthz`` and reaps every process it started.
``live_server``
    One such server with the default settings of :func:`tests.conftest.settings_env`.
``guarded_page``
    A fresh context and page on ``live_server`` (relative URLs work: ``page.goto("/")``)
    with guard rails: any page JavaScript error, console error or dialog fails the
    test, and so do HTTP error responses (status >= 400) unless the test allows them
    with :meth:`PageGuard.allow_http_error`. Requests to any origin other than the live
    server are recorded, aborted and fail the test. The :class:`PageGuard` is in
    ``guarded_page.guard``.
``page``
    The page of ``guarded_page``.
``workers``
    :class:`tests.workers.conftest.Workers`, to run real ``commentgate worker``s.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    Playwright,
    Response,
    Route,
    WebError,
    sync_playwright,
)

from tests.conftest import settings_env
from tests.workers.conftest import COMMENTGATE, Workers, wait_for

__all__ = ["COMMENTGATE", "LiveServer", "PageGuard", "Workers", "wait_for"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Seconds a live server may take to answer ``/healthz``.
SERVER_START_TIMEOUT = 30.0
#: How Chromium's console reports an HTTP error response.
_HTTP_ERROR_CONSOLE = "Failed to load resource: the server responded with a status of"
#: Seconds Playwright waits for elements and assertions by default.
PLAYWRIGHT_TIMEOUT_MS = 10_000


# -- the live server ------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    """A running ``commentgate web`` process.

    Attributes:
        url: Base URL, e.g. ``http://127.0.0.1:45678`` (no trailing slash).
        proc: The process (leader of its own process group).
        log_path: Where its stdout and stderr go.
    """

    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def origin(self) -> str:
        """Scheme, host and port, as browsers write origins."""
        return self.url

    def log(self) -> str:
        """What the server wrote so far."""
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float) -> bool:
        """Poll ``/healthz`` until it answers 200; False when the process died."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    return False
                try:
                    if client.get(f"{self.url}/healthz").status_code == 200:
                        return True
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        pytest.fail(f"live server not ready after {timeout} s:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        """Terminate the process group (gunicorn arbiter and worker) and reap it."""
        self._signal_group(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.proc.wait()

    def _signal_group(self, signum: int) -> None:
        # The group outlives a dead arbiter while its worker runs; gone is fine.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signum)


def start_live_server(redis_url: str, log_dir: Path, **env: str) -> LiveServer:
    """Start ``commentgate web`` on a free port and wait until it serves.

    Args:
        redis_url: The test database.
        log_dir: Directory for the server's log file.
        **env: Extra environment variables, e.g. ``COMMENTGATE_PREMODERATION="true"``.

    Returns:
        The ready server; the caller must :meth:`LiveServer.stop` it.
    """
    last_log = ""
    for _attempt in range(3):
        port = free_port()
        log_path = log_dir / f"web-{port}.log"
        with log_path.open("wb") as log_file:
            proc = subprocess.Popen(
                [COMMENTGATE, "web", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                env=settings_env(redis_url, **env),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = LiveServer(url=f"http://127.0.0.1:{port}", proc=proc, log_path=log_path)
        try:
            ready = server.wait_ready(SERVER_START_TIMEOUT)
        except BaseException:
            server.stop()  # never leave a process behind, even when the wait fails
            raise
        if ready:
            return server
        server.stop()
        last_log = server.log()
        if "Address already in use" not in last_log:
            break  # a real failure, not a lost race for the port
    pytest.fail(f"commentgate web did not start:\n{last_log[-3000:]}")


@pytest.fixture
def live_server_factory(redis_url: str, tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start live servers on the flushed test database; all are stopped afterwards."""
    servers: list[LiveServer] = []

    def start(**env: str) -> LiveServer:
        server = start_live_server(redis_url, tmp_path, **env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def live_server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    """A live server with the default test settings."""
    return live_server_factory()


# -- the browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver (sync API) for the session."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM}")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Chromium from ``/usr/bin/chromium`` with a fresh temporary profile."""
    chromium = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    yield chromium
    chromium.close()


@dataclass
class PageGuard:
    """What a browser context did that a test must not let pass.

    Attributes:
        origin: The only origin requests may go to.
        errors: Uncaught page errors and console errors.
        dialogs: Messages of ``alert``/``confirm``/``prompt`` dialogs (dismissed).
        foreign_requests: URLs requested on other origins (aborted).
        requests: Every URL requested, in order.
        http_errors: ``(status, url)`` of every response with status >= 400.
        allowed_http_errors: ``(status, url pattern)`` pairs a test expects.
    """

    origin: str
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    http_errors: list[tuple[int, str]] = field(default_factory=list)
    allowed_http_errors: list[tuple[int, re.Pattern[str]]] = field(default_factory=list)

    def allow_http_error(self, status: int, url_pattern: str) -> None:
        """Expect responses with ``status`` for URLs matching ``url_pattern`` (a regex).

        Chromium also logs such responses as console errors; those are judged here,
        by the response, instead.
        """
        self.allowed_http_errors.append((status, re.compile(url_pattern)))

    def attach(self, context: BrowserContext) -> None:
        """Listen to everything ``context`` and its pages do."""
        context.on("console", self._on_console)
        context.on("weberror", self._on_web_error)
        context.on("dialog", self._on_dialog)
        context.on("response", self._on_response)
        context.route("**/*", self._route)

    def problems(self) -> list[str]:
        """Everything that should fail the test, as lines."""
        lines = [f"page error: {e}" for e in self.errors]
        lines += [f"dialog opened: {d!r}" for d in self.dialogs]
        lines += [f"request to another origin: {u}" for u in self.foreign_requests]
        lines += [
            f"HTTP {status} for {url}"
            for status, url in self.http_errors
            if not any(
                status == allowed and pattern.search(url)
                for allowed, pattern in self.allowed_http_errors
            )
        ]
        return lines

    def assert_clean(self) -> None:
        """Fail when the page had an error, a dialog or a foreign request."""
        problems = self.problems()
        if problems:
            pytest.fail("browser guard:\n  " + "\n  ".join(problems), pytrace=False)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.text.startswith(_HTTP_ERROR_CONSOLE):
            return  # judged by its response in _on_response
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    def _on_web_error(self, error: WebError) -> None:
        self.errors.append(f"uncaught: {error.error}")

    def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.http_errors.append((response.status, response.url))

    def _route(self, route: Route) -> None:
        url = route.request.url
        self.requests.append(url)
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" == self.origin:
            route.continue_()
        else:
            self.foreign_requests.append(url)
            route.abort("blockedbyclient")


@dataclass
class GuardedPage:
    """A page and the guard watching its context."""

    page: Page
    context: BrowserContext
    guard: PageGuard


_GUARD = pytest.StashKey[PageGuard]()


@pytest.fixture
def guarded_page(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[GuardedPage]:
    """A fresh context and page on the live server, watched by a :class:`PageGuard`."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-GB"
    )
    context.set_default_timeout(PLAYWRIGHT_TIMEOUT_MS)
    guard = PageGuard(origin=live_server.origin)
    guard.attach(context)
    request.node.stash[_GUARD] = guard
    page = context.new_page()
    yield GuardedPage(page=page, context=context, guard=guard)
    context.close()


@pytest.fixture
def page(guarded_page: GuardedPage) -> Page:
    """The guarded page (see :func:`guarded_page`)."""
    return guarded_page.page


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a test that passed but whose browser had errors, dialogs or foreign requests."""
    result = yield
    guard = item.stash.get(_GUARD, None)
    if guard is not None:
        guard.assert_clean()
    return result


# -- workers -----------------------------------------------------------------------


@pytest.fixture
def workers(redis_url: str) -> Iterator[Workers]:
    """Run real ``commentgate worker`` processes on the test database; all are reaped."""
    manager = Workers(redis_url)
    yield manager
    manager.stop_all()
