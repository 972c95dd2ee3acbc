"""Who may use the moderation UI: the login page, logging out, and the guard of every route.

Every route but the login page needs a logged-in moderator (checked in
:func:`_guard`, before any view, with :func:`service.web.auth.authorize`, so
roles work as in the API); every POST needs the form's CSRF token.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response

from service.core.exceptions import UnauthorizedError
from service.web.apidoc.replies import REDIRECT, page
from service.web.auth import authorize
from service.web.pages.moderate import session as moderator_session
from service.web.pages.moderate.blueprint import URL_PREFIX, bp, csrf, message_page, render
from service.web.pages.moderate.docs import CsrfForm, LoginForm, LoginQuery, ui_doc
from service.web.pages.moderate.presenters import local_path
from service.web.services import services

logger = logging.getLogger(__name__)

#: Hosts on which browsers treat plain HTTP as secure (they keep Secure cookies).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
#: Endpoints open without a session.
PUBLIC_ENDPOINTS = frozenset({"moderate.login"})


@bp.before_request
def _guard() -> Response | None:
    """Require a logged-in moderator (but on the login page), then a CSRF token on POSTs."""
    if moderator_session.cookie_withheld():
        return _continue_page()
    if request.endpoint not in PUBLIC_ENDPOINTS:
        try:
            authorize(moderator_session.current_moderator())
        except UnauthorizedError:
            return _session_required()
    csrf.protect()  # POST, PUT, PATCH and DELETE only
    return None


def _session_required() -> Response:
    """Send a visitor without a valid session to the login page (or answer 401)."""
    ended = moderator_session.has_login()
    if moderator_session.sent_cookie():
        moderator_session.log_out()  # never on a request without one: see cookie_withheld
    if request.method in ("GET", "HEAD"):
        if ended:
            flash("Your session has ended. Please log in again.", "error")
        next_path = local_path(request.full_path.rstrip("?"), URL_PREFIX)
        return redirect(url_for(".login", next=next_path), code=303)
    return message_page(
        401,
        "Please log in again",
        "Your session has ended, so nothing was changed. Log in and try again.",
        link=(url_for(".login"), "Log in"),
    )


def _continue_page() -> Response:
    """Reload the page the browser was sent to, this time from this site.

    Answers a link from another site, for which the browser left the ``SameSite=Strict``
    cookie out: the page reads no session and sets no cookie (a login form would set
    one, replacing the session the browser holds), and its reload, started by this
    page, carries the cookie.
    """
    here = local_path(request.full_path.rstrip("?"), URL_PREFIX) or url_for(".queue")
    return message_page(
        200,
        "Opening the moderation UI",
        "You followed a link from another site. Continue to the moderation UI.",
        link=(here, "Continue"),
        refresh=here,
    )


@bp.route("/login", methods=["GET", "POST"])
@ui_doc(
    {200: page("The form."), 303: page("Logged in already.", "Location")},
    query=LoginQuery,
    public=True,
    method="GET",
    summary="The login page",
)
@ui_doc(
    {
        303: page("Logged in: to the queue, or to `next`.", "Location"),
        401: page("The token is not valid."),
        429: page("Too many login attempts; retry later.", "Retry-After"),
    },
    form=LoginForm,
    public=True,
    method="POST",
    summary="Log in with an API token",
)
def login() -> Response:
    """The login form; POST checks the pasted API token and starts a session."""
    next_path = local_path(request.values.get("next"), URL_PREFIX)
    if next_path and next_path.startswith(url_for(".login")):
        next_path = None
    if request.method == "GET":
        if moderator_session.current_moderator() is not None:
            return redirect(next_path or url_for(".queue"), code=303)
        return _login_page(next_path)
    moderator = moderator_session.log_in(request.form.get("token", ""))
    if moderator is None:
        logger.info("moderation UI login refused for %s", g.get("client_ip", "?"))
        return _login_page(
            next_path,
            status=401,
            error="That token is not valid. Paste the whole token, starting with cgm_.",
        )
    logger.info("moderator %s logged in to the moderation UI", moderator.name)
    flash(f"Welcome, {moderator.name}.", "success")
    return redirect(next_path or url_for(".queue"), code=303)


def _login_page(next_path: str | None, *, status: int = 200, error: str = "") -> Response:
    svc = services()
    # Browsers keep Secure cookies from http://localhost too; elsewhere they need HTTPS.
    loopback = urlsplit(request.host_url).hostname in LOOPBACK_HOSTS
    insecure = moderator_session.secure_cookies(svc.settings) and not (
        request.is_secure or loopback
    )
    return render(
        "moderate/login.html",
        status_code=status,
        next_path=next_path or "",
        error=error,
        insecure=insecure,
    )


@bp.post("/logout")
@ui_doc({303: REDIRECT}, form=CsrfForm)
def logout() -> Response:
    """Log out."""
    logger.info("moderator %s logged out of the moderation UI", g.moderator.name)
    moderator_session.log_out()
    flash("You are logged out.", "success")
    return redirect(url_for(".login"), code=303)
