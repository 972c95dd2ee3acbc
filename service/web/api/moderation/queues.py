"""The moderation API's queues, decisions (one comment or many), audit log and export."""

from __future__ import annotations

import time

from flask import Response, g, request, stream_with_context

from service.core.exceptions import BadRequestError, ConflictError, NotFoundError
from service.core.moderation import (
    Action,
    Moderation,
    Outcome,
    Sites,
    StatusConflictError,
    UnknownCommentError,
    apply_decision,
    moderator_view,
    visible_sites,
)
from service.core.moderation_audit import audit_page
from service.core.moderation_export import export_decided
from service.core.store import CommentStatus, InvalidCursorError, isoformat
from service.web.api.models import (
    ActionResult,
    AuditEntry,
    AuditPage,
    BulkOutcome,
    BulkResult,
    ModeratorComment,
    QueuePage,
    StatusCounts,
    respond,
)
from service.web.api.moderation.blueprint import bp, moderation_doc
from service.web.api.moderation.schemas import (
    ActionRequest,
    AuditQuery,
    BulkRequest,
    ExportQuery,
    QueueQuery,
)
from service.web.api.request_body import read_body
from service.web.api.schemas import ID_PATTERN, validate
from service.web.apidoc import STRING, Reply
from service.web.apidoc.replies import BAD_CURSOR, COMMENT_ID, CONFLICT, NOT_FOUND
from service.web.services import services


def moderation() -> Moderation:
    """The moderation service of this app."""
    svc = services()
    return Moderation(svc.redis, svc.store)


def _sites(wanted: str | None = None) -> Sites:
    """The sites the request shows: the moderator's, narrowed to ``wanted``."""
    return visible_sites(g.moderator.sites, wanted)


@bp.get("/queue")
@moderation_doc(
    {200: Reply("A page of comments, newest first.", QueuePage), 400: BAD_CURSOR},
    query=QueueQuery,
)
def queue() -> Response:
    """A moderation queue.

    Comments of one status, newest first, with counts per status.
    """
    query = validate(QueueQuery, request.args.to_dict())
    mod = moderation()
    try:
        page = mod.queue(
            CommentStatus(query.status),
            limit=query.limit,
            cursor=query.cursor,
            thread=query.thread,
            query=query.q,
            sites=_sites(query.site),
        )
    except InvalidCursorError:
        raise BadRequestError("cursor is not valid; start again without it") from None
    return respond(
        QueuePage(
            status=query.status,
            counts=StatusCounts.model_validate(mod.counts(_sites(query.site))),
            comments=[ModeratorComment.model_validate(moderator_view(c)) for c in page.items],
            next_cursor=page.next_cursor,
        )
    )


def _apply(ids: list[str], action: Action, expected: CommentStatus | None) -> list[Outcome]:
    try:
        return apply_decision(
            services(),
            ids,
            action,
            g.moderator.name,
            expected,
            request_id=g.request_id,
            sites=g.moderator.sites,
        )
    except UnknownCommentError as exc:
        raise NotFoundError(f"no comment with id {exc.comment_id!r}; nothing changed") from None
    except StatusConflictError as exc:
        raise ConflictError(
            f"comment {exc.comment_id} is {exc.current} now: someone acted first; nothing changed",
            extra={"id": exc.comment_id, "current_status": exc.current},
        ) from None


@bp.post("/comments/<comment_id>")
@moderation_doc(
    {
        200: Reply("The comment after the decision.", ActionResult),
        404: NOT_FOUND,
        409: CONFLICT,
    },
    body=ActionRequest,
    path={"comment_id": COMMENT_ID},
)
def act(comment_id: str) -> Response:
    """Approve, spam or reject a comment.

    From any status; with `expected_status`, only from that one.
    """
    if not ID_PATTERN.match(comment_id):
        raise NotFoundError(f"no comment with id {comment_id[:64]!r}")
    body = validate(ActionRequest, read_body())
    [outcome] = _apply([comment_id], body.action, body.expected_status)
    comment = services().store.get(comment_id)
    if comment is None:  # purged between the decision and this read
        raise NotFoundError(f"comment {comment_id} was {outcome.current}, then deleted")
    return respond(
        ActionResult.model_validate({"previous_status": outcome.previous} | moderator_view(comment))
    )


@bp.post("/bulk")
@moderation_doc(
    {200: Reply("Every comment's change.", BulkResult), 404: NOT_FOUND, 409: CONFLICT},
    body=BulkRequest,
)
def bulk() -> Response:
    """One decision on many comments, all or nothing."""
    body = validate(BulkRequest, read_body())
    outcomes = _apply(body.ids, body.action, body.expected_status)
    return respond(
        BulkResult(
            action=body.action,
            results=[
                BulkOutcome.model_validate(
                    {"id": o.comment_id, "previous_status": o.previous, "status": o.current}
                )
                for o in outcomes
            ],
        )
    )


@bp.get("/audit")
@moderation_doc({200: Reply("A page of decisions, newest first.", AuditPage)}, query=AuditQuery)
def audit() -> Response:
    """The audit log.

    Every decision: who, when, from which status to which, newest first.
    """
    query = validate(AuditQuery, request.args.to_dict())
    entries, next_cursor = audit_page(
        services().redis, limit=query.limit, cursor=query.cursor, sites=_sites(query.site)
    )
    return respond(
        AuditPage(
            entries=[
                AuditEntry.model_validate(
                    {
                        "id": e.id,
                        "at": isoformat(e.at),
                        "moderator": e.moderator,
                        "comment_id": e.comment_id,
                        "action": e.action,
                        "from": e.previous,
                        "to": e.current,
                    }
                )
                for e in entries
            ],
            next_cursor=next_cursor,
        )
    )


@bp.get("/export")
@moderation_doc(
    {
        200: Reply(
            "Every decided comment, as JSON lines or CSV.",
            media={"application/x-ndjson": STRING, "text/csv": STRING},
            headers=("Content-Disposition",),
        )
    },
    query=ExportQuery,
)
def export() -> Response:
    """Export decided comments.

    All decided comments with their decisions, as JSON lines or CSV.
    """
    query = validate(ExportQuery, request.args.to_dict())
    fmt = query.format
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return Response(
        stream_with_context(export_decided(services().store, fmt, _sites(query.site))),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="comments-{stamp}.{fmt}"'},
    )
