"""``/api/v1/comments``: intake and public reading."""

from __future__ import annotations

import logging
import secrets
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import redis
from flask import Blueprint, Response, g, redirect, request
from flask.typing import ResponseReturnValue

from service.core import metrics
from service.core.captcha import CaptchaError
from service.core.exceptions import (
    BadRequestError,
    CaptchaInvalidError,
    ConflictError,
    NotFoundError,
    ValidationFailedError,
)
from service.core.store import (
    Comment,
    CommentStatus,
    InvalidCursorError,
    NonceSpentError,
    isoformat,
)
from service.web.api.captcha import fresh_challenge
from service.web.api.models import (
    CommentAccepted,
    CommenterToken,
    CommentView,
    PublicComment,
    ThreadPage,
    respond,
)
from service.web.api.request_body import read_body, wants_html
from service.web.api.schemas import (
    ID_PATTERN,
    CommenterTokenRequest,
    CommentSubmission,
    ThreadListing,
    validate,
)
from service.web.pages.demo import DEMO_THREAD, remember_receipt
from service.web.request_context import (
    current_flask_app,
    current_request,
    current_url_adapter,
    request_globals,
)
from service.web.services import services

logger = logging.getLogger(__name__)

bp = Blueprint("comments", __name__, url_prefix="/api/v1")

#: Outcome of a submission, by the problem code it failed with.
_OUTCOMES = {
    "captcha_invalid": "captcha_invalid",
    "validation_failed": "invalid",
    "malformed_body": "malformed",
    "payload_too_large": "malformed",
    "unsupported_media_type": "malformed",
    "rate_limited": "rate_limited",
    "unavailable": "unavailable",
}
#: Stands for a comment id in a cached status URL: "~" is never in an id, and like an
#: id's own characters it is left as it is in a URL path.
_ID_SLOT = "~id~"
#: Status URLs as ``url_for`` built them, split at :data:`_ID_SLOT`, by what they depend
#: on; emptied when full (clients choose the ``Host`` header).
_STATUS_URLS: dict[tuple[object, ...], tuple[str, str]] = {}
_STATUS_URLS_MAX = 64
#: The counter the store adds an accepted comment to, in the same round trip.
_ACCEPTED_COUNTER = metrics.Metrics.counter_field(metrics.COMMENTS_RECEIVED, outcome="accepted")


@bp.after_request
def _count_rejected_submission(response: Response) -> Response:
    # Accepted submissions are counted by the store, in the same round trip.
    if response.status_code >= 400 and request.endpoint == "comments.create":
        outcome = _OUTCOMES.get(g.get("problem_code") or "", "error")
        services().metrics.count(metrics.COMMENTS_RECEIVED, outcome=outcome)
    return response


def _captcha_failed(reason: str) -> CaptchaInvalidError:
    services().metrics.count(metrics.CAPTCHA_FAILURES, reason=reason)
    return CaptchaInvalidError(
        "the captcha was not solved; answer the new one",
        errors={"captcha_answer": reason.replace("_", " ")},
        extra={"reason": reason, "captcha": fresh_challenge().to_json()},
    )


@bp.post("/comments")
def create() -> ResponseReturnValue:
    """Accept a comment: check the captcha, store it, queue it for scoring."""
    svc = services()
    settings = svc.settings
    request_g = request_globals()  # not the proxies: see service.web.request_context
    data = read_body()
    honeypot = bool(str(data.get(settings.honeypot_field) or "").strip())
    submission = validate(
        CommentSubmission,
        data,
        context={
            "body_max_chars": settings.body_max_chars,
            "author_name_required": settings.author_name_required,
        },
    )
    try:
        solved = svc.captcha.verify(submission.captcha_token, str(submission.captcha_answer))
    except CaptchaError as exc:
        reason = exc.reason
        if exc.nonce is not None and svc.store.record_wrong_answer(
            exc.nonce, ttl=settings.captcha_ttl_seconds, max_attempts=settings.captcha_max_attempts
        ):
            reason = "too_many_attempts"
        raise _captcha_failed(reason) from None
    if submission.parent_id:
        parent = svc.store.get(submission.parent_id)
        if (
            parent is None
            or parent.status is not CommentStatus.PUBLISHED
            or parent.thread != submission.thread
        ):
            raise ValidationFailedError(
                "some fields are invalid",
                errors={"parent_id": "must be a published comment of the same thread"},
            )
    comment_id = secrets.token_urlsafe(16)
    vouched_by = ""
    if submission.commenter_token:
        vouching = svc.tokens.vouching(submission.commenter_token, submission.author_email)
        if vouching.comment_id is None:
            # Not an error: a cookie outlives its token, a key is rotated. The comment
            # is decided like a stranger's, and a prober learns nothing.
            logger.info(
                "comment %s: commenter token not trusted (%s)", comment_id, vouching.refusal
            )
        else:
            vouched_by = vouching.comment_id
    comment = Comment(
        id=comment_id,
        thread=submission.thread,
        body=submission.body,
        author_name=submission.author_name,
        author_email=submission.author_email,
        author_url=submission.author_url,
        parent_id=submission.parent_id,
        created_at=time.time(),
        status=CommentStatus.PENDING,
        ip=request_g.client_ip,
        user_agent=current_request().environ.get("HTTP_USER_AGENT", "")[:512],
        request_id=request_g.request_id,
        honeypot=honeypot,
        too_fast=solved.solve_seconds < settings.captcha_min_solve_seconds,
        vouched_by=vouched_by,
    )
    try:
        must_enqueue = svc.store.accept(
            comment,
            nonce=solved.nonce,
            nonce_ttl=settings.captcha_ttl_seconds,
            counter=_ACCEPTED_COUNTER,
        )
    except NonceSpentError:
        raise _captcha_failed("reused") from None
    if must_enqueue:
        try:
            svc.queues.enqueue_scoring(request_id=comment.request_id)
        except redis.RedisError:
            # Stored but not queued: the reconciler re-queues it, so accept it.
            logger.warning("comment %s stored but not queued; the reconciler will", comment.id)
    request_g.comment_id = comment.id  # in the request's access-log line
    status_url = _status_url(comment.id)
    if wants_html():
        response = redirect(_back_to(comment), code=303)
        if comment.thread == DEMO_THREAD:  # the demo page shows the commenter-token flow
            remember_receipt(response, comment.id, svc.tokens.receipt(comment.id))
        return response
    return respond(
        CommentAccepted(
            id=comment.id,
            status=comment.status,
            status_url=status_url,
            receipt=svc.tokens.receipt(comment.id),
        ),
        202,
        location=status_url,
    )


def _status_url(comment_id: str) -> str:
    """The absolute URL of a comment's status, as ``url_for`` builds it.

    Building it costs about 2% of an intake request, and it depends only on the app's
    URL map and the request's scheme, host, subdomain and script root: ``url_for`` runs
    once per such combination, with :data:`_ID_SLOT` for the id, and each id then takes
    the slot's place (werkzeug would not quote an id's characters either).
    """
    adapter = current_url_adapter()
    key = (
        adapter.map,
        adapter.url_scheme,
        adapter.server_name,
        adapter.subdomain,
        adapter.script_name,
    )
    parts = _STATUS_URLS.get(key)
    if parts is None:
        # Flask.url_for is what flask.url_for calls, less a read through a proxy.
        url = current_flask_app().url_for("comments.get_one", comment_id=_ID_SLOT, _external=True)
        head, _, tail = url.partition(_ID_SLOT)
        if len(_STATUS_URLS) >= _STATUS_URLS_MAX:
            _STATUS_URLS.clear()
        parts = _STATUS_URLS[key] = (head, tail)
    return parts[0] + comment_id + parts[1]


def _back_to(comment: Comment) -> str:
    """Where a browser goes after posting a form: the page it came from.

    On the demo page, a ``retry=`` (a refused form shown again) is left behind.
    """
    target = request.referrer or comment.thread
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") and not target.startswith("/"):
        target = "/"
        parts = urlsplit(target)
    kept = parts.query
    if comment.thread == DEMO_THREAD and "retry=" in kept:
        kept = urlencode([(k, v) for k, v in parse_qsl(kept) if k != "retry"])
    query = "&".join(filter(None, [kept, urlencode({"comment": comment.id})]))
    return parts._replace(query=query, fragment="comment-status").geturl()


@bp.get("/comments/<comment_id>")
def get_one(comment_id: str) -> Response:
    """A comment's status and public fields, for whoever holds its id (spam shows as held)."""
    comment = services().store.get(comment_id) if ID_PATTERN.match(comment_id) else None
    if comment is None:
        raise NotFoundError(f"no comment with id {comment_id[:64]!r}")
    body = comment.public_view() | {
        "thread": comment.thread,
        "status": comment.public_status.value,
        "decided_at": isoformat(comment.decided_at) if comment.decided_at else None,
    }
    return respond(CommentView.model_validate(body))


@bp.post("/comments/<comment_id>/commenter-token")
def commenter_token(comment_id: str) -> Response:
    """The author's commenter token, for the poster of a published comment.

    Comment ids are public (thread listings show them), so the poster proves itself with
    the comment's receipt, which only the 202 carried. A wrong receipt is answered like
    an unknown id. A comment that is not published is a conflict whatever its status,
    so a spammer learns nothing it could not learn from the status endpoint.
    """
    svc = services()
    request_body = validate(CommenterTokenRequest, read_body())
    comment = svc.store.get(comment_id) if ID_PATTERN.match(comment_id) else None
    if comment is None or not svc.tokens.receipt_matches(comment.id, request_body.receipt):
        raise NotFoundError(f"no comment with id {comment_id[:64]!r} and this receipt")
    if comment.status is not CommentStatus.PUBLISHED:
        raise ConflictError("the comment is not published; ask again once it is")
    if not comment.author_email:
        raise ValidationFailedError(
            "the comment has no e-mail address, which a commenter token names",
            errors={"comment_id": "the comment has no e-mail address"},
        )
    token = svc.tokens.issue(comment.id, comment.author_email)
    return respond(CommenterToken(commenter_token=token, expires_in=svc.tokens.ttl_seconds))


@bp.get("/comments")
def list_thread() -> Response:
    """Published comments of a thread, oldest first, with cursor pagination."""
    query = validate(ThreadListing, request.args.to_dict())
    try:
        page = services().store.published(query.thread, limit=query.limit, cursor=query.cursor)
    except InvalidCursorError:
        raise BadRequestError("cursor is not valid; start again without it") from None
    return respond(
        ThreadPage(
            thread=query.thread,
            comments=[PublicComment.model_validate(c.public_view()) for c in page.items],
            next_cursor=page.next_cursor,
        )
    )
