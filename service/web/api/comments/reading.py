"""Reading comments: a comment's status, a thread's page, a commenter's token."""

from __future__ import annotations

from flask import Response, request

from service.core.exceptions import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    ValidationFailedError,
)
from service.core.store import (
    CommentStatus,
    InvalidCursorError,
    isoformat,
)
from service.web.api.comments.blueprint import bp
from service.web.api.models import (
    CommenterToken,
    CommentView,
    PublicComment,
    ThreadPage,
    respond,
)
from service.web.api.request_body import read_body
from service.web.api.schemas import (
    ID_PATTERN,
    CommenterTokenRequest,
    ThreadListing,
    validate,
)
from service.web.apidoc import FORM, JSON, Reply, doc
from service.web.apidoc.replies import (
    BAD_CURSOR,
    COMMENT_ID,
    INVALID,
    MALFORMED,
    NOT_FOUND,
    RATE_LIMITED,
    UNAVAILABLE,
    UNSUPPORTED,
    problem,
)
from service.web.services import services

_POSTED_ID = ("The id the submission was answered with.", COMMENT_ID[1])


@bp.get("/comments/<comment_id>")
@doc(
    "comments",
    path={"comment_id": _POSTED_ID},
    responses={200: Reply("The comment.", CommentView), 404: NOT_FOUND, 503: UNAVAILABLE},
)
def get_one(comment_id: str) -> Response:
    """A comment's status.

    Its status and public fields, for whoever holds its id (spam shows as held).
    """
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
@doc(
    "comments",
    body=CommenterTokenRequest,
    media=(JSON, FORM),
    path={"comment_id": _POSTED_ID},
    responses={
        200: Reply("The token, once the comment is published.", CommenterToken),
        400: MALFORMED,
        404: problem("No comment with this id and receipt (`not_found`)."),
        409: problem("The comment is not published (not yet, or not at all)."),
        415: UNSUPPORTED,
        422: problem("Invalid fields, or the comment has no e-mail address (`validation_failed`)."),
        429: RATE_LIMITED,
        503: UNAVAILABLE,
    },
)
def commenter_token(comment_id: str) -> Response:
    """Obtain the author's commenter token.

    For the poster of a published comment only: send the `receipt` of its 202. The site
    keeps the token for this commenter and sends it as `commenter_token` with their later
    comments; it counts while this comment stays published.
    """
    # Comment ids are public (thread listings show them), so the poster proves itself with
    # the comment's receipt, which only the 202 carried. A wrong receipt is answered like
    # an unknown id. A comment that is not published is a conflict whatever its status,
    # so a spammer learns nothing it could not learn from the status endpoint.
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
@doc(
    "comments",
    query=ThreadListing,
    responses={
        200: Reply("A page of comments, oldest first.", ThreadPage),
        400: BAD_CURSOR,
        422: INVALID,
        503: UNAVAILABLE,
    },
)
def list_thread() -> Response:
    """List a thread's published comments.

    Oldest first, with cursor pagination.
    """
    query = validate(ThreadListing, request.args.to_dict())
    try:
        page = services().store.published(
            query.thread, limit=query.limit, cursor=query.cursor, site=query.site
        )
    except InvalidCursorError:
        raise BadRequestError("cursor is not valid; start again without it") from None
    return respond(
        ThreadPage(
            thread=query.thread,
            comments=[PublicComment.model_validate(c.public_view()) for c in page.items],
            next_cursor=page.next_cursor,
        )
    )
