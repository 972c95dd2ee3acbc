"""``/api/v1/moderation/``: queues, decisions, audit, lists, moderators and export.

Every route needs a moderator's bearer token; list and account management need an
admin (see :mod:`service.web.auth`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import Blueprint, Response, g, request, stream_with_context
from pydantic import BaseModel

from service.core.accounts import AccountError, ModeratorStore, Role, describe
from service.core.exceptions import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ValidationFailedError,
)
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
from service.core.store import CommentStatus, InvalidCursorError, isoformat
from service.core.store.lists import LIST_KINDS, LIST_NAMES, ListKind, ListName, ListStore
from service.web.api.models import (
    ActionResult,
    AuditEntry,
    AuditPage,
    BulkOutcome,
    BulkResult,
    ListEntryAdded,
    Lists,
    ModeratorAccount,
    ModeratorComment,
    ModeratorCreated,
    ModeratorList,
    QueuePage,
    Removed,
    Revoked,
    StatusCounts,
    respond,
)
from service.web.api.request_body import read_body
from service.web.api.schemas import (
    ID_PATTERN,
    ActionRequest,
    AuditQuery,
    BulkRequest,
    ExportQuery,
    ListEntry,
    NewModerator,
    QueueQuery,
    SiteQuery,
    validate,
)
from service.web.apidoc import BEARER, STRING, Reply, doc
from service.web.apidoc.replies import (
    BAD_CURSOR,
    COMMENT_ID,
    CONFLICT,
    FORBIDDEN,
    INVALID,
    NOT_FOUND,
    UNAUTHORIZED,
    UNAVAILABLE,
    json_body_replies,
)
from service.web.auth import authorize, bearer_moderator, requires
from service.web.services import services

bp = Blueprint("moderation", __name__, url_prefix="/api/v1/moderation")
F = TypeVar("F", bound=Callable[..., Any])
#: A list and a kind of entries, as path parameters.
_LIST_PATH: dict[str, tuple[str, Mapping[str, Any] | None]] = {
    "name": ("The list.", {"type": "string", "enum": list(LIST_NAMES)}),
    "kind": ("The kind of entries.", {"type": "string", "enum": list(LIST_KINDS)}),
}


def _doc(
    responses: Mapping[int, Reply],
    *,
    admin: bool = False,
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    path: Mapping[str, tuple[str, Mapping[str, Any] | None]] | None = None,
) -> Callable[[F], F]:
    """:func:`~service.web.apidoc.doc` for this API: a bearer token, admins' where stated."""
    replies: dict[int, Reply] = {401: UNAUTHORIZED, 503: UNAVAILABLE}
    if admin:
        replies[403] = FORBIDDEN
    if query is not None:
        replies[422] = INVALID
    if body is not None:
        replies |= json_body_replies()
    tag = "moderation (admins)" if admin else "moderation"
    replies |= responses
    return doc(tag, responses=replies, query=query, body=body, path=path, security=BEARER)


@bp.before_request
def _authenticate() -> None:
    authorize(bearer_moderator())


def moderation() -> Moderation:
    """The moderation service of this app."""
    svc = services()
    return Moderation(svc.redis, svc.store)


def _sites(wanted: str | None = None) -> Sites:
    """The sites the request shows: the moderator's, narrowed to ``wanted``."""
    return visible_sites(g.moderator.sites, wanted)


def _lists(site: str) -> ListStore:
    """A site's lists, when the moderator may see that site (else 404, as if absent)."""
    if not g.moderator.sees(site):
        raise NotFoundError(f"no site named {site!r}")
    return ListStore(services().redis, site)


@bp.get("/me")
@_doc({200: Reply("The account.", ModeratorAccount)})
def me() -> Response:
    """The authenticated moderator."""
    return respond(ModeratorAccount.model_validate(describe(g.moderator)))


@bp.get("/queue")
@_doc(
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
@_doc(
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
@_doc(
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
@_doc({200: Reply("A page of decisions, newest first.", AuditPage)}, query=AuditQuery)
def audit() -> Response:
    """The audit log.

    Every decision: who, when, from which status to which, newest first.
    """
    query = validate(AuditQuery, request.args.to_dict())
    entries, next_cursor = moderation().audit(
        limit=query.limit, cursor=query.cursor, sites=_sites(query.site)
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
@_doc(
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
        stream_with_context(moderation().export(fmt, _sites(query.site))),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="comments-{stamp}.{fmt}"'},
    )


def _list_target(name: str, kind: str) -> tuple[ListName, ListKind]:
    if name not in LIST_NAMES or kind not in LIST_KINDS:
        raise NotFoundError(f"lists are {', '.join(LIST_NAMES)}; kinds are {', '.join(LIST_KINDS)}")
    return name, kind


@bp.get("/lists")
@_doc({200: Reply("Every entry.", Lists)}, query=SiteQuery)
def lists() -> Response:
    """A site's block and allow lists."""
    store = _lists(validate(SiteQuery, request.args.to_dict()).site)
    return respond(Lists.model_validate({name: store.entries(name) for name in LIST_NAMES}))


@bp.post("/lists/<name>/<kind>")
@_doc(
    {201: Reply("The entry as stored.", ListEntryAdded), 404: NOT_FOUND},
    admin=True,
    body=ListEntry,
    path=_LIST_PATH,
)
@requires(Role.ADMIN)
def add_entry(name: str, kind: str) -> Response:
    """Add a list entry (the allow list takes e-mails, domains and IPs, not terms)."""
    list_name, list_kind = _list_target(name, kind)
    entry = validate(ListEntry, read_body())
    try:
        value = _lists(entry.site).add(list_name, list_kind, entry.value)
    except ValueError as exc:
        raise ValidationFailedError("invalid entry", errors={"value": str(exc)}) from None
    added = ListEntryAdded.model_validate({"list": list_name, "kind": list_kind, "value": value})
    return respond(added, 201)


@bp.delete("/lists/<name>/<kind>")
@_doc(
    {200: Reply("Removed.", Removed), 404: NOT_FOUND},
    admin=True,
    query=ListEntry,
    path=_LIST_PATH,
)
@requires(Role.ADMIN)
def remove_entry(name: str, kind: str) -> Response:
    """Remove a list entry (given as `?value=`)."""
    list_name, list_kind = _list_target(name, kind)
    entry = validate(ListEntry, request.args.to_dict())
    try:
        removed = _lists(entry.site).remove(list_name, list_kind, entry.value)
    except ValueError as exc:
        raise ValidationFailedError("invalid entry", errors={"value": str(exc)}) from None
    if not removed:
        raise NotFoundError(f"{entry.value!r} is not on the {list_name} list of {list_kind}")
    return respond(Removed(removed=True))


@bp.get("/moderators")
@_doc({200: Reply("Every account.", ModeratorList)}, admin=True)
@requires(Role.ADMIN)
def moderators() -> Response:
    """Moderator accounts."""
    accounts = ModeratorStore(services().redis).list()
    return respond(
        ModeratorList(moderators=[ModeratorAccount.model_validate(describe(m)) for m in accounts])
    )


@bp.post("/moderators")
@_doc(
    {201: Reply("The account and its token (shown once).", ModeratorCreated)},
    admin=True,
    body=NewModerator,
)
@requires(Role.ADMIN)
def add_moderator() -> Response:
    """Create a moderator account.

    Its token is in this response only.
    """
    body = validate(NewModerator, read_body())
    mine = g.moderator.sites
    if mine is not None and (body.sites is None or not set(body.sites) <= set(mine)):
        raise ForbiddenError("an admin limited to some sites creates accounts for those only")
    try:
        token = ModeratorStore(services().redis).add(body.name, body.role, body.sites)
    except AccountError as exc:
        raise ValidationFailedError(str(exc), errors={"name": str(exc)}) from None
    created = ModeratorCreated(
        name=body.name,
        role=body.role,
        token=token,
        sites=sorted(set(body.sites)) if body.sites is not None else None,
    )
    return respond(created, 201)


@bp.delete("/moderators/<name>")
@_doc(
    {200: Reply("Revoked.", Revoked), 404: NOT_FOUND},
    admin=True,
    path={"name": ("The account's name.", {"type": "string", "minLength": 1})},
)
@requires(Role.ADMIN)
def revoke_moderator(name: str) -> Response:
    """Revoke a moderator account.

    Its token stops working at once.
    """
    try:
        ModeratorStore(services().redis).revoke(name)
    except AccountError as exc:
        raise NotFoundError(str(exc)) from None
    return respond(Revoked(revoked=name))
