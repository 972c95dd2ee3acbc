"""Routes of the moderation UI: log in and out, the queues, decisions one by one or in bulk.

Every route but the login page needs a logged-in moderator (checked in
:func:`_guard`, before any view, with :func:`service.web.auth.authorize`, so
roles work as in the API); every POST needs the form's CSRF token. Decisions go
through :func:`service.core.moderation.apply_decision`, the path the JSON API
uses, and answer with a redirect back to the queue and a flash message.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import redis
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask import Response as FlaskResponse
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from service.core.decision import policy_for, read_card
from service.core.exceptions import BadRequestError, ProblemError, UnauthorizedError
from service.core.model_registry import ModelRegistry
from service.core.moderation import (
    QUEUE_STATUSES,
    Action,
    Moderation,
    StatusConflictError,
    UnknownCommentError,
    apply_decision,
    visible_sites,
)
from service.core.store import CommentStatus, InvalidCursorError
from service.web.api.schemas import (
    ID_PATTERN,
    BulkForm,
    CsrfForm,
    DecisionForm,
    LoginForm,
    LoginQuery,
    QueueFilter,
)
from service.web.apidoc.replies import COMMENT_ID, NOT_FOUND, REDIRECT, page
from service.web.auth import authorize
from service.web.pages.moderate import session as moderator_session
from service.web.pages.moderate.docs import ui_doc
from service.web.pages.moderate.presenters import CommentCard, local_path, score_bands
from service.web.services import services

logger = logging.getLogger(__name__)

URL_PREFIX = "/moderate"
bp = Blueprint("moderate", __name__, url_prefix=URL_PREFIX)
csrf = CSRFProtect()

#: Comments per page of a queue.
PAGE_SIZE = 20
#: Most comments one bulk action may take (the API allows as many).
BULK_MAX = 500
#: Hosts on which browsers treat plain HTTP as secure (they keep Secure cookies).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
#: Endpoints open without a session.
PUBLIC_ENDPOINTS = frozenset({"moderate.login"})
#: The queues, in tab order.
TABS: tuple[tuple[str, str], ...] = (
    ("held", "Held"),
    ("spam", "Spam"),
    ("published", "Published"),
    ("rejected", "Rejected"),
)
#: What each action did, for the flash message: (one comment, several comments).
DONE: dict[Action, tuple[str, str]] = {
    Action.APPROVE: ("Approved: the comment is published.", "Approved {n} comments."),
    Action.SPAM: ("Marked as spam.", "Marked {n} comments as spam."),
    Action.REJECT: ("Rejected.", "Rejected {n} comments."),
}


def render(
    template: str, *, status_code: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> Response:
    """Render a moderation template into an uncacheable HTML response.

    Args:
        template: Template name, e.g. ``moderate/queue.html``.
        status_code: HTTP status.
        headers: Extra headers (``Retry-After``).
        **context: Template variables.

    Returns:
        The page; ``apply_security_headers`` adds the CSP and friends afterwards.
    """
    response = FlaskResponse(render_template(template, **context), status=status_code)
    response.mimetype = "text/html"
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


# -- access ------------------------------------------------------------------------------


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
    return _message_page(
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
    return _message_page(
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


# -- the queues --------------------------------------------------------------------------


@bp.get("", defaults={"status": "held"})
@bp.get("/<any(held, spam, published, rejected):status>")
@ui_doc(
    {
        200: page("The queue."),
        303: page("No session (to the login page), or a stale cursor.", "Location"),
        308: page("`/moderate/held` is `/moderate`.", "Location"),
        404: NOT_FOUND,
    },
    query=QueueFilter,
)
def queue(status: str) -> Response:
    """A queue of the moderation UI.

    One queue, newest first, filtered by thread and text, a page at a time.
    """
    thread = request.args.get("thread", "").strip()[:512]
    query = request.args.get("q", "").strip()[:200]
    cursor = request.args.get("cursor", "")[:512] or None
    site = request.args.get("site", "").strip()[:63]
    svc = services()
    site_names = [name for name in svc.sites.names() if g.moderator.sees(name)]
    if site not in site_names:
        site = ""  # an unknown site, or one this moderator may not see: every site of theirs
    sites = visible_sites(g.moderator.sites, site or None)
    moderation = Moderation(svc.redis, svc.store)
    try:
        page = moderation.queue(
            CommentStatus(status),
            limit=PAGE_SIZE,
            cursor=cursor,
            thread=thread or None,
            query=query or None,
            sites=sites,
        )
    except InvalidCursorError:
        flash("That page of the queue does not exist; here is the first page.", "error")
        return redirect(_queue_url(status, thread, query, site=site), code=303)
    base_card = read_card(svc.settings.model_path)
    policy = policy_for(ModelRegistry(svc.redis).current_card(base_card), svc.settings)
    bands = score_bands(policy)
    now = datetime.now(UTC)
    cards = [CommentCard.of(comment, bands, now) for comment in page.items]
    counts = moderation.counts(sites)
    return render(
        "moderate/queue.html",
        moderator=g.moderator,
        status=status,
        status_label=dict(TABS)[status],
        status_count=counts.get(status, 0),
        tabs=[
            (key, label, counts.get(key, 0), _queue_url(key, thread, query, site=site))
            for key, label in TABS
        ],
        pending=counts.get("pending", 0),
        thread=thread,
        query=query,
        site=site,
        site_names=site_names if len(site_names) > 1 else [],
        cards=cards,
        bands=bands,
        cursor=cursor,
        first_url=_queue_url(status, thread, query, site=site),
        next_url=(
            _queue_url(status, thread, query, page.next_cursor, site=site)
            if page.next_cursor
            else None
        ),
        here=request.full_path.rstrip("?"),
        actions=[a for a in Action if _result_of(a) != status],
        shortcuts=SHORTCUTS,
    )


def _queue_url(
    status: str, thread: str, query: str, cursor: str | None = None, *, site: str = ""
) -> str:
    args: dict[str, Any] = {"site": site, "thread": thread, "q": query, "cursor": cursor}
    return url_for(".queue", status=status, **{k: v for k, v in args.items() if v})


def _result_of(action: Action) -> str:
    """The status an action leaves a comment in."""
    return {Action.APPROVE: "published", Action.SPAM: "spam", Action.REJECT: "rejected"}[action]


# -- decisions ---------------------------------------------------------------------------


@bp.post("/comments/<comment_id>")
@ui_doc(
    {303: page("Back to the queue.", "Location")},
    form=DecisionForm,
    path={"comment_id": COMMENT_ID},
)
def act(comment_id: str) -> Response:
    """Decide on one comment.

    Approve, spam or reject it, if it is still in the status shown.
    """
    action, expected, back = _decision_form()
    if not ID_PATTERN.match(comment_id):
        raise BadRequestError("That is not a comment id.")
    if _decide([comment_id], action, expected):
        flash(DONE[action][0], "success")
    return _back(back, request.form.get("focus"))


@bp.post("/bulk")
@ui_doc({303: page("Back to the queue.", "Location")}, form=BulkForm)
def bulk() -> Response:
    """Decide on the selected comments.

    One action on every selected comment: all change, or none does.
    """
    action, expected, back = _decision_form()
    ids = request.form.getlist("ids")
    if not ids:
        flash("Select one or more comments first.", "error")
        return _back(back, None)
    if len(ids) > BULK_MAX or len(set(ids)) != len(ids):
        raise BadRequestError(f"Select at most {BULK_MAX} different comments.")
    if not all(ID_PATTERN.match(comment_id) for comment_id in ids):
        raise BadRequestError("The selection holds something that is not a comment id.")
    if _decide(ids, action, expected):
        one, many = DONE[action]
        flash(one if len(ids) == 1 else many.format(n=len(ids)), "success")
    return _back(back, None)


def _decision_form() -> tuple[Action, CommentStatus | None, str]:
    """The action, the status the moderator saw and where to go back to."""
    form = request.form
    try:
        action = Action(form.get("action", ""))
    except ValueError:
        raise BadRequestError("Choose approve, spam or reject.") from None
    seen = form.get("expected", "")
    if seen and seen not in {s.value for s in QUEUE_STATUSES}:
        raise BadRequestError("The form names an unknown status.")
    expected = CommentStatus(seen) if seen else None
    back = local_path(form.get("next"), URL_PREFIX) or url_for(".queue")
    return action, expected, back


def _decide(ids: list[str], action: Action, expected: CommentStatus | None) -> bool:
    """Apply the decision through the shared path; flash why when nothing changed."""
    try:
        apply_decision(
            services(),
            ids,
            action,
            g.moderator.name,
            expected,
            request_id=g.get("request_id", ""),
            sites=g.moderator.sites,
        )
    except StatusConflictError as exc:
        which = "this comment" if len(ids) == 1 else "one of the selected comments"
        flash(
            f"Someone else moderated {which}: it is now {exc.current}. Nothing was changed.",
            "error",
        )
        return False
    except UnknownCommentError:
        flash("That comment no longer exists (it may have been purged). Nothing changed.", "error")
        return False
    logger.info("moderator %s: %s on %s comment(s)", g.moderator.name, action.value, len(ids))
    return True


def _back(path: str, focus: str | None) -> Response:
    """Redirect to ``path``, to the comment ``focus`` when it names one."""
    anchor = f"#c-{focus}" if focus and ID_PATTERN.match(focus) else ""
    return redirect(path + anchor, code=303)


# -- error pages -------------------------------------------------------------------------


def _message_page(
    status: int,
    heading: str,
    message: str,
    *,
    link: tuple[str, str] | None = None,
    headers: dict[str, str] | None = None,
    refresh: str | None = None,
) -> Response:
    return render(
        "moderate/message.html",
        status_code=status,
        headers=headers,
        moderator=g.get("moderator"),
        heading=heading,
        message=message,
        link=link or (url_for(".queue"), "Back to the queue"),
        refresh=refresh,
    )


@bp.errorhandler(CSRFError)
def _csrf_failed(exc: CSRFError) -> Response:
    logger.info("moderation UI form refused: %s", exc.description)
    return _message_page(
        400,
        "This form could not be accepted",
        "Its security token is missing or no longer valid, so nothing was changed. "
        "Go back, reload the page and try again.",
    )


@bp.errorhandler(ProblemError)
def _problem(exc: ProblemError) -> Response:
    return _message_page(exc.status, exc.title, exc.detail)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    headers = {
        name: value
        for name, value in exc.get_response().headers.items()
        if name.lower() in ("retry-after", "allow")
    }
    if exc.code == 429:  # the login limit (service.web.ratelimit adds Retry-After)
        return _message_page(
            429,
            "Too many attempts",
            "Too many logins came from your connection in a short time. "
            "Please wait a minute, then try again.",
            link=(url_for(".login"), "Back to the login page"),
            headers=headers,
        )
    return _message_page(
        exc.code or 500, exc.name or "Error", exc.description or "", headers=headers
    )


@bp.errorhandler(redis.ConnectionError)
@bp.errorhandler(redis.TimeoutError)
@bp.errorhandler(redis.exceptions.OutOfMemoryError)
def _redis_down(exc: redis.RedisError) -> Response:
    if isinstance(exc, redis.exceptions.OutOfMemoryError):
        logger.error("redis out of memory during %s %s: %s", request.method, request.path, exc)
    else:
        logger.warning("redis unavailable during %s %s: %s", request.method, request.path, exc)
    return _message_page(
        503,
        "The queue is briefly unavailable",
        "Storage is unavailable right now, so nothing was changed. Try again shortly.",
        headers={"Retry-After": "5"},
    )


#: The keyboard shortcuts moderate.js offers, for the help dialog.
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("j", "Next comment"),
    ("k", "Previous comment"),
    ("a", "Approve the current comment"),
    ("s", "Mark the current comment as spam"),
    ("r", "Reject the current comment"),
    ("x", "Select or unselect the current comment"),
    ("/", "Search"),
    ("?", "Show these shortcuts"),
)
