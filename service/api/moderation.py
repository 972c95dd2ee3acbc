"""``/api/v1/moderation/``: queues, decisions, audit, lists, moderators and export.

Every route needs a moderator's bearer token; list and account management need an
admin (see :mod:`service.moderation.auth`).
"""

from __future__ import annotations

import time
from typing import Any, Literal

from flask import Blueprint, Response, g, jsonify, request, stream_with_context
from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.api.request_body import read_body
from service.api.schemas import ID_PATTERN, validate
from service.exceptions import BadRequestError, ConflictError, NotFoundError, ValidationFailedError
from service.moderation.accounts import AccountError, ModeratorStore, Role, describe
from service.moderation.auth import authorize, bearer_moderator, requires
from service.moderation.decisions import (
    Action,
    Moderation,
    Outcome,
    StatusConflictError,
    UnknownCommentError,
    apply_decision,
    moderator_view,
)
from service.services import services
from service.store import CommentStatus, InvalidCursorError, isoformat
from service.store.lists import LIST_KINDS, LIST_NAMES, ListKind, ListName

bp = Blueprint("moderation", __name__, url_prefix="/api/v1/moderation")

DecidedStatus = Literal["published", "held", "spam", "rejected"]


@bp.before_request
def _authenticate() -> None:
    authorize(bearer_moderator())


def moderation() -> Moderation:
    """The moderation service of this app."""
    svc = services()
    return Moderation(svc.redis, svc.store)


class QueueQuery(BaseModel):
    """Query of a moderation queue."""

    model_config = ConfigDict(extra="ignore")

    status: DecidedStatus = "held"
    thread: str | None = Field(None, max_length=512)
    q: str | None = Field(None, max_length=200)
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=512)


class ActionRequest(BaseModel):
    """A decision on one comment."""

    model_config = ConfigDict(extra="ignore")

    action: Action
    expected_status: CommentStatus | None = Field(
        None, description="The status the moderator saw; a different one is a 409."
    )


class BulkRequest(ActionRequest):
    """One decision on many comments, all or nothing."""

    ids: list[str] = Field(min_length=1, max_length=500)

    @field_validator("ids")
    @classmethod
    def _ids(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("ids must not repeat")
        for comment_id in value:
            if not ID_PATTERN.match(comment_id):
                raise ValueError(f"not a comment id: {comment_id[:64]!r}")
        return value


class Page(BaseModel):
    """Cursor pagination query."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=64, pattern=r"^\d+-\d+$")


class ListEntry(BaseModel):
    """An entry to add to or remove from a list."""

    model_config = ConfigDict(extra="ignore")

    value: str = Field(min_length=1, max_length=320)


class NewModerator(BaseModel):
    """An account to create."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=64)
    role: Role = Role.MODERATOR


class ExportQuery(BaseModel):
    """Export format."""

    model_config = ConfigDict(extra="ignore")

    format: Literal["jsonl", "csv"] = "jsonl"


@bp.get("/me")
def me() -> Response:
    """The authenticated moderator."""
    return jsonify(describe(g.moderator))


@bp.get("/queue")
def queue() -> Response:
    """Comments of one status, newest first, with counts per status."""
    query = validate(QueueQuery, request.args.to_dict())
    mod = moderation()
    try:
        page = mod.queue(
            CommentStatus(query.status),
            limit=query.limit,
            cursor=query.cursor,
            thread=query.thread,
            query=query.q,
        )
    except InvalidCursorError:
        raise BadRequestError("cursor is not valid; start again without it") from None
    return jsonify(
        {
            "status": query.status,
            "counts": mod.counts(),
            "comments": [moderator_view(c) for c in page.items],
            "next_cursor": page.next_cursor,
        }
    )


def _apply(ids: list[str], action: Action, expected: CommentStatus | None) -> list[Outcome]:
    try:
        return apply_decision(
            services(), ids, action, g.moderator.name, expected, request_id=g.request_id
        )
    except UnknownCommentError as exc:
        raise NotFoundError(f"no comment with id {exc.comment_id!r}; nothing changed") from None
    except StatusConflictError as exc:
        raise ConflictError(
            f"comment {exc.comment_id} is {exc.current} now: someone acted first; nothing changed",
            extra={"id": exc.comment_id, "current_status": exc.current},
        ) from None


@bp.post("/comments/<comment_id>")
def act(comment_id: str) -> Response:
    """Approve, spam or reject one comment (from any status)."""
    if not ID_PATTERN.match(comment_id):
        raise NotFoundError(f"no comment with id {comment_id[:64]!r}")
    body = validate(ActionRequest, read_body())
    [outcome] = _apply([comment_id], body.action, body.expected_status)
    comment = services().store.get(comment_id)
    return jsonify(
        {"previous_status": outcome.previous} | (moderator_view(comment) if comment else {})
    )


@bp.post("/bulk")
def bulk() -> Response:
    """One action on many comments: all change, or none does."""
    body = validate(BulkRequest, read_body())
    outcomes = _apply(body.ids, body.action, body.expected_status)
    return jsonify(
        {
            "action": body.action.value,
            "results": [
                {"id": o.comment_id, "previous_status": o.previous, "status": o.current}
                for o in outcomes
            ],
        }
    )


@bp.get("/audit")
def audit() -> Response:
    """Every decision: who, when, from which status to which, newest first."""
    query = validate(Page, request.args.to_dict())
    entries, next_cursor = moderation().audit(limit=query.limit, cursor=query.cursor)
    return jsonify(
        {
            "entries": [
                {
                    "id": e.id,
                    "at": isoformat(e.at),
                    "moderator": e.moderator,
                    "comment_id": e.comment_id,
                    "action": e.action,
                    "from": e.previous,
                    "to": e.current,
                }
                for e in entries
            ],
            "next_cursor": next_cursor,
        }
    )


@bp.get("/export")
def export() -> Response:
    """All decided comments with their decisions, as JSON lines or CSV."""
    fmt = validate(ExportQuery, request.args.to_dict()).format
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return Response(
        stream_with_context(moderation().export(fmt)),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="comments-{stamp}.{fmt}"'},
    )


def _list_target(name: str, kind: str) -> tuple[ListName, ListKind]:
    if name not in LIST_NAMES or kind not in LIST_KINDS:
        raise NotFoundError(f"lists are {', '.join(LIST_NAMES)}; kinds are {', '.join(LIST_KINDS)}")
    return name, kind


@bp.get("/lists")
def lists() -> Response:
    """The block and allow lists."""
    store = services().lists
    return jsonify({name: store.entries(name) for name in LIST_NAMES})


@bp.post("/lists/<name>/<kind>")
@requires(Role.ADMIN)
def add_entry(name: str, kind: str) -> tuple[Response, int]:
    """Add an entry (admins)."""
    list_name, list_kind = _list_target(name, kind)
    entry = validate(ListEntry, read_body())
    try:
        value = services().lists.add(list_name, list_kind, entry.value)
    except ValueError as exc:
        raise ValidationFailedError("invalid entry", errors={"value": str(exc)}) from None
    return jsonify({"list": list_name, "kind": list_kind, "value": value}), 201


@bp.delete("/lists/<name>/<kind>")
@requires(Role.ADMIN)
def remove_entry(name: str, kind: str) -> Response:
    """Remove an entry given as ``?value=`` (admins)."""
    list_name, list_kind = _list_target(name, kind)
    entry = validate(ListEntry, request.args.to_dict())
    try:
        removed = services().lists.remove(list_name, list_kind, entry.value)
    except ValueError as exc:
        raise ValidationFailedError("invalid entry", errors={"value": str(exc)}) from None
    if not removed:
        raise NotFoundError(f"{entry.value!r} is not on the {list_name} list of {list_kind}")
    return jsonify({"removed": True})


@bp.get("/moderators")
@requires(Role.ADMIN)
def moderators() -> Response:
    """Every moderator account (admins)."""
    return jsonify({"moderators": [describe(m) for m in ModeratorStore(services().redis).list()]})


@bp.post("/moderators")
@requires(Role.ADMIN)
def add_moderator() -> tuple[Response, int]:
    """Create an account; its token is in this response only (admins)."""
    body = validate(NewModerator, read_body())
    try:
        token = ModeratorStore(services().redis).add(body.name, body.role)
    except AccountError as exc:
        raise ValidationFailedError(str(exc), errors={"name": str(exc)}) from None
    result: dict[str, Any] = {"name": body.name, "role": body.role.value, "token": token}
    return jsonify(result), 201


@bp.delete("/moderators/<name>")
@requires(Role.ADMIN)
def revoke_moderator(name: str) -> Response:
    """Delete an account; its token stops working (admins)."""
    try:
        ModeratorStore(services().redis).revoke(name)
    except AccountError as exc:
        raise NotFoundError(str(exc)) from None
    return jsonify({"revoked": name})
