"""The demo blog post at ``/``: an article, its published comments and a comment form.

The form is plain HTML posting to ``/api/v1/comments``; no JavaScript is involved.
The intake answers browsers with a 303 back to the page with ``?comment=<id>``, and
the page then says what became of that comment, without ever revealing a spam
verdict.

The page also shows how a site keeps a commenter token (:mod:`service.core.commenter_tokens`):
the intake's 303 leaves the comment's receipt in an ``HttpOnly`` cookie; once that
comment is published, the page exchanges the receipt for the commenter's token, keeps
the token in another cookie and sends it with the commenter's next comments as a
hidden ``commenter_token`` field.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import redis
from flask import Blueprint, Response, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from service.core.captcha import Challenge
from service.core.store import Comment, CommentStatus, InvalidCursorError, keys
from service.web.api.schemas import ID_PATTERN
from service.web.pages.common import render_error_page, render_page
from service.web.pages.form_state import FormState, load_form
from service.web.pages.moderate.session import secure_cookies
from service.web.services import services

logger = logging.getLogger(__name__)

bp = Blueprint("pages", __name__)

#: Thread id of the demo post: a constant slug, since the page has no canonical URL.
DEMO_THREAD = "demo/hello-world"
#: Published comments shown per page; further pages are reached through cursor links.
COMMENTS_PER_PAGE = 20
#: Seconds to wait before reloading when Redis is unreachable.
RETRY_AFTER_SECONDS = 5
#: Longest wait for the decision on a comment just posted, before the page says
#: "awaiting moderation" (the workers' p99 is tens of milliseconds).
DECISION_WAIT_SECONDS = 2.0
#: Comments older than this are not waited for (the page was reloaded later).
DECISION_WAIT_MAX_AGE = 15.0
_DECISION_POLL_SECONDS = 0.02
#: How many avatar colour classes the stylesheet defines (``avatar--0`` ...).
AVATAR_COLOURS = 8

#: Cookie holding ``<comment id>.<receipt>`` of the last comment posted from the demo.
RECEIPT_COOKIE = "cg_demo_receipt"
#: Cookie holding the commenter token the demo keeps for its visitor.
TOKEN_COOKIE = "cg_demo_commenter"  # noqa: S105 - a cookie name
#: What a token may look like (the intake's ``commenter_token`` field): anything else in
#: the cookie is left out of the form rather than turned into a refused post.
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_.-]{1,1024}$")


@dataclass(frozen=True, slots=True)
class CommentView:
    """A published comment as the template shows it (all text escaped by Jinja)."""

    id: str
    author_name: str
    author_url: str | None
    body: str
    parent_id: str | None
    published_iso: str
    published_label: str
    initial: str
    avatar_class: str

    @classmethod
    def of(cls, comment: Comment) -> CommentView:
        """Build the view of a stored comment.

        Args:
            comment: A published comment.

        Returns:
            Its view; ``author_url`` is kept only when it is an http(s) URL.
        """
        name = comment.author_name or "Anonymous"
        moment = datetime.fromtimestamp(comment.created_at, UTC)
        digest = hashlib.sha256(name.casefold().encode()).digest()
        return cls(
            id=comment.id,
            author_name=name,
            author_url=safe_url(comment.author_url),
            body=comment.body,
            parent_id=comment.parent_id or None,
            published_iso=moment.isoformat(timespec="seconds"),
            published_label=human_date(moment),
            initial=next((ch.upper() for ch in name if ch.isalnum()), "?"),
            avatar_class=f"avatar--{digest[0] % AVATAR_COLOURS}",
        )


@dataclass(frozen=True, slots=True)
class Notice:
    """The status line shown after a comment was posted."""

    published: bool
    message: str
    comment_id: str


def safe_url(url: str) -> str | None:
    """Return ``url`` when it is an http(s) URL with a host, else ``None``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() in ("http", "https") and parts.hostname:
        return url
    return None


def human_date(moment: datetime) -> str:
    """Format a UTC time like ``"March 14, 2025 at 09:30 UTC"``."""
    return f"{moment:%B} {moment.day}, {moment.year} at {moment:%H:%M} UTC"


def notice_for(comment_id: str) -> Notice | None:
    """The status notice for a comment the visitor just posted, if it is on this post.

    Spam is reported like a held comment: a spammer learns nothing from the page.

    Args:
        comment_id: The id from the intake's redirect.

    Returns:
        The notice, or ``None`` for unknown ids and comments of other threads.
    """
    if not ID_PATTERN.match(comment_id):
        return None
    comment = services().store.get(comment_id)
    if comment is None or comment.thread != DEMO_THREAD:
        return None
    comment = await_decision(comment)
    if comment.public_status is CommentStatus.PUBLISHED:
        return Notice(True, "Thanks, your comment is published.", comment.id)
    return Notice(False, "Your comment is awaiting moderation.", comment.id)


def await_decision(comment: Comment) -> Comment:
    """The comment once decided, waiting at most :data:`DECISION_WAIT_SECONDS`.

    The workers usually decide a comment some milliseconds after the intake's redirect:
    the page polls its stored status until then rather than call it "awaiting
    moderation" 20 ms too early. Only a comment posted in the last
    :data:`DECISION_WAIT_MAX_AGE` seconds is waited for, so a later reload answers at once.

    Args:
        comment: The stored comment.

    Returns:
        The comment as last read: decided, or still pending at the deadline.
    """
    store = services().store
    deadline = time.monotonic() + DECISION_WAIT_SECONDS
    while (
        comment.status is CommentStatus.PENDING
        and time.time() - comment.created_at < DECISION_WAIT_MAX_AGE
        and time.monotonic() < deadline
    ):
        time.sleep(_DECISION_POLL_SECONDS)  # between two reads of the status
        comment = store.get(comment.id) or comment
    return comment


def remember_receipt(response: BaseResponse, comment_id: str, receipt: str) -> None:
    """Keep the receipt of a comment posted from the demo in the poster's browser.

    Args:
        response: The intake's 303 back to the demo page.
        comment_id: The new comment.
        receipt: Its receipt (only this response carries it).
    """
    response.set_cookie(
        RECEIPT_COOKIE,
        f"{comment_id}.{receipt}",
        max_age=86400,
        httponly=True,
        samesite="Lax",
        secure=secure_cookies(services().settings),
    )


def earned_token(comment_id: str) -> str | None:
    """The commenter token a published demo comment earned, for the browser that posted it.

    Only the browser holding the comment's receipt (left by the intake's 303) gets it:
    anyone can put a comment's id in ``?comment=``.

    Args:
        comment_id: The id from the intake's redirect.

    Returns:
        A new token, or ``None`` (no receipt, another comment's, not published, no
        e-mail address).
    """
    held_id, _, receipt = request.cookies.get(RECEIPT_COOKIE, "").partition(".")
    svc = services()
    if held_id != comment_id or not receipt or not svc.tokens.receipt_matches(held_id, receipt):
        return None
    comment = svc.store.get(comment_id)
    if comment is None or comment.status is not CommentStatus.PUBLISHED:
        return None
    if not comment.author_email:
        return None
    return svc.tokens.issue(comment.id, comment.author_email)


def kept_token() -> str:
    """The commenter token the visitor's browser keeps, when it looks like one."""
    token = request.cookies.get(TOKEN_COOKIE, "")
    return token if _TOKEN_SHAPE.match(token) else ""


def render_demo(
    *,
    status_code: int = 200,
    form: FormState | None = None,
    challenge: Challenge | None = None,
    cursor: str | None = None,
    notice: Notice | None = None,
    commenter_token: str | None = None,
) -> Response:
    """Render the demo post.

    Args:
        status_code: HTTP status (422 when the intake's own response shows the form again).
        form: Values and messages for the form; empty by default.
        challenge: The captcha to show; a fresh one by default.
        cursor: Show the page of comments after this cursor.
        notice: The status of the comment just posted.
        commenter_token: The token to post with the form; by default the one the
            browser keeps.

    Returns:
        The page.

    Raises:
        InvalidCursorError: ``cursor`` was not issued by the store.
    """
    svc = services()
    page = svc.store.published(DEMO_THREAD, limit=COMMENTS_PER_PAGE, cursor=cursor)
    total = int(svc.redis.zcard(keys.thread_published(keys.DEFAULT_SITE, DEMO_THREAD)))
    return render_page(
        "demo_post.html",
        status_code=status_code,
        is_home=True,
        thread=DEMO_THREAD,
        comments=[CommentView.of(c) for c in page.items],
        comment_total=total,
        cursor=cursor,
        next_cursor=page.next_cursor,
        notice=notice,
        form=form or FormState(),
        challenge=challenge or svc.captcha.issue(),
        honeypot_field=svc.settings.honeypot_field,
        body_max_chars=svc.settings.body_max_chars,
        name_required=svc.settings.author_name_required,
        commenter_token=kept_token() if commenter_token is None else commenter_token,
    )


@bp.get("/")
def demo_post() -> Response:
    """The demo blog post with its comments and comment form.

    ``?retry=<id>`` shows the form the intake refused again (its input and messages,
    with a fresh captcha): see :mod:`service.web.pages.form_state`.
    """
    posted = request.args.getlist("comment")
    # The intake appends ``comment=`` to the Referer: after a second post the newest is last.
    notice = notice_for(posted[-1]) if posted else None
    cursor = request.args.get("cursor") or None
    retry_id = request.args.get("retry", "")
    try:
        form = load_form(services().redis, retry_id) if retry_id and not posted else None
        token = earned_token(notice.comment_id) if notice and notice.published else None
        response = render_demo(cursor=cursor, notice=notice, form=form, commenter_token=token)
    except InvalidCursorError:
        logger.info("demo page asked for an invalid comments cursor")
        return render_error_page(
            status_code=400,
            heading="That page of comments does not exist",
            summary="The link to more comments is not valid.",
            back_url=url_for("pages.demo_post", _anchor="comments"),
            back_label="Go to the first comments",
        )
    except redis.RedisError as exc:
        logger.warning("demo page unavailable, redis failed: %s", exc)
        return render_error_page(
            status_code=503,
            heading="This page is briefly unavailable",
            summary="The comments could not be loaded.",
            back_url=url_for("pages.demo_post"),
            back_label="Try again",
            retry_after=RETRY_AFTER_SECONDS,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if token:
        response.set_cookie(
            TOKEN_COOKIE,
            token,
            max_age=services().tokens.ttl_seconds,
            httponly=True,
            samesite="Lax",
            secure=secure_cookies(services().settings),
        )
        response.delete_cookie(RECEIPT_COOKIE)
    return response
