"""Response models: the JSON every API view answers with, validated with pydantic.

Views build their bodies through these models (:func:`respond`), and the OpenAPI
document (:mod:`service.web.apidoc`) is generated from the same models, so what is
documented is what is sent. Every model forbids undocumented members: a view that
adds a field without declaring it fails its tests instead of drifting from the docs.

Problem bodies (RFC 9457) are built by :mod:`service.core.exceptions` and
:mod:`service.web.problems`; :class:`Problem` describes them, and the OpenAPI tests check
real problem bodies against it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from flask import Response
from pydantic import BaseModel, ConfigDict, Field

from service.core.accounts import Role
from service.core.moderation import Action
from service.core.store import CommentStatus
from service.web.api.schemas import DecidedStatus

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

CaptchaReason = Literal[
    "missing", "forged", "expired", "wrong_answer", "too_many_attempts", "reused"
]
Timestamp = Annotated[
    str,
    Field(
        description="ISO 8601 date and time in UTC, with milliseconds.",
        json_schema_extra={"format": "date-time"},
        examples=["2024-05-01T12:34:56.789+00:00"],
    ),
]
Cursor = Annotated[
    str | None,
    Field(description="Pass as ``cursor`` to get the next page; null on the last page."),
]


class ResponseModel(BaseModel):
    """Base of the response models: no undocumented members, aliases on output.

    Fields with an alias (``from``, ``list``) are filled with ``model_validate``.
    """

    model_config = ConfigDict(extra="forbid")

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready dict of this body (aliases applied, enums as values)."""
        return self.model_dump(mode="json", by_alias=True)


class JsonResponse(Response):
    """A JSON response, with a ``Location`` that is sent exactly as the view built it.

    werkzeug passes any ``Location`` header through ``iri_to_uri`` (URL splitting,
    quoting, IDNA) when the response is sent: a measurable share of an intake request
    (docs/performance.md, "Intake"), for nothing, since the views build :attr:`location_uri` with
    ``url_for``, whose result is a URI already (werkzeug vets the host). So it is
    added, as it is, to the headers sent; it is not in :attr:`headers`, and
    ``after_request`` hooks do not see it.
    """

    location_uri: str | None = None

    def get_wsgi_response(
        self, environ: WSGIEnvironment
    ) -> tuple[Iterable[bytes], str, list[tuple[str, str]]]:
        """The body, status and headers to send, with ``Location`` when there is one."""
        app_iter, status, headers = super().get_wsgi_response(environ)
        if self.location_uri is not None:
            headers.append(("Location", self.location_uri))
        return app_iter, status, headers


def respond(model: ResponseModel, status: int = 200, *, location: str | None = None) -> Response:
    """A JSON response holding ``model``.

    Args:
        model: The body.
        status: The HTTP status code.
        location: A URI built with ``url_for``, for the ``Location`` header.

    Returns:
        The ``application/json`` response.
    """
    response = JsonResponse(
        model.model_dump_json(by_alias=True), status=status, mimetype="application/json"
    )
    response.location_uri = location
    return response


# -- public API --------------------------------------------------------------------------


class CaptchaChallenge(ResponseModel):
    """An arithmetic captcha: show ``question`` (or read ``prompt``), post the answer."""

    token: str = Field(description="Signed token to send back as ``captcha_token``.")
    question: str = Field(description="The equation with one blank, e.g. ``? \u2212 3 = 4``.")
    prompt: str = Field(description="The question in words, for screen readers.")
    expires_in: int = Field(ge=0, description="Seconds the token stays valid.")


class CommentAccepted(ResponseModel):
    """A comment stored and queued for scoring."""

    id: str
    status: CommentStatus = Field(description="Always ``pending`` at first.")
    status_url: str = Field(description="Where to poll the comment's status.")
    receipt: str = Field(
        description="Proof of having posted this comment, for its poster only: keep it "
        "(never show it to others) to obtain a commenter token once the comment is "
        "published (POST /api/v1/comments/{comment_id}/commenter-token)."
    )


class PublicComment(ResponseModel):
    """Fields of a comment anyone may see: no e-mail, IP or user agent."""

    id: str
    parent_id: str | None
    author_name: str
    author_url: str | None
    body: str
    created_at: Timestamp


class CommentView(PublicComment):
    """A comment's status and public fields, for whoever holds its id."""

    thread: str
    status: Literal["pending", "published", "held", "rejected"] = Field(
        description="A comment filed as spam is shown as ``held``, like one awaiting a "
        "moderator, so a spammer learns nothing about the classifier."
    )
    decided_at: Timestamp | None


class CommenterToken(ResponseModel):
    """The author's commenter token, earned by a published comment."""

    commenter_token: str = Field(
        description="Keep it for this commenter (cookie, local storage, user record) and "
        "send it as `commenter_token` with their later comments."
    )
    expires_in: int = Field(ge=0, description="Seconds the token stays valid.")


class ThreadPage(ResponseModel):
    """A page of a thread's published comments, oldest first."""

    thread: str
    comments: list[PublicComment]
    next_cursor: Cursor


class ApiIndex(ResponseModel):
    """Where to start: the API's document and entry points."""

    name: Literal["commentgate"]
    openapi: str = Field(description="The OpenAPI 3.1 document of the whole API.")
    documentation: str = Field(description="Where the project documents the API.")
    links: dict[str, str] = Field(description="Entry points by name (absolute URLs).")


class Health(ResponseModel):
    """The process answers."""

    status: Literal["ok"]


class Ready(ResponseModel):
    """Redis answers and every queue is known."""

    status: Literal["ready"]
    queues: dict[str, int] = Field(description="Jobs waiting, by RQ queue.")


class NotReady(ResponseModel):
    """Why the service cannot do its work right now."""

    status: Literal["unavailable"]
    problems: list[str]


# -- moderation API ----------------------------------------------------------------------


class ModeratorComment(ResponseModel):
    """Everything a moderator sees about a comment."""

    id: str
    site: str = Field(description="The site the comment was posted to.")
    thread: str
    status: CommentStatus
    parent_id: str | None
    author_name: str
    author_email: str | None
    author_url: str | None
    ip: str | None
    user_agent: str | None
    body: str
    created_at: Timestamp
    decided_at: Timestamp | None
    score: float | None = Field(description="Spam probability from the model, 0 to 1.")
    reasons: list[str] = Field(description="Codes of what the decision was based on.")
    model_version: str | None
    moderated_by: str | None


class StatusCounts(ResponseModel):
    """How many comments each status holds."""

    pending: int
    published: int
    held: int
    spam: int
    rejected: int


class QueuePage(ResponseModel):
    """A page of one moderation queue, newest first, with counts per status."""

    status: DecidedStatus
    counts: StatusCounts
    comments: list[ModeratorComment]
    next_cursor: Cursor


class _PreviousStatus(ResponseModel):
    previous_status: CommentStatus = Field(description="The status before this decision.")


class ActionResult(ModeratorComment, _PreviousStatus):
    """The comment after a decision, and the status it had before."""


class BulkOutcome(ResponseModel):
    """One comment of a bulk decision."""

    id: str
    previous_status: CommentStatus
    status: CommentStatus


class BulkResult(ResponseModel):
    """A decision applied to every comment given."""

    action: Action
    results: list[BulkOutcome]


class AuditEntry(ResponseModel):
    """One decision: who, when, from which status to which."""

    id: str = Field(description="Entry id; pass the last one as ``cursor`` for more.")
    at: Timestamp
    moderator: str
    comment_id: str
    action: Action
    from_: CommentStatus = Field(alias="from")
    to: CommentStatus


class AuditPage(ResponseModel):
    """A page of the audit log, newest first."""

    entries: list[AuditEntry]
    next_cursor: Cursor


class ListEntries(ResponseModel):
    """One list's entries, by kind, sorted."""

    terms: list[str]
    emails: list[str]
    domains: list[str]
    ips: list[str]


class Lists(ResponseModel):
    """The block and allow lists."""

    block: ListEntries
    allow: ListEntries


class ListEntryAdded(ResponseModel):
    """An entry as stored (normalised)."""

    list_: Literal["block", "allow"] = Field(alias="list")
    kind: Literal["terms", "emails", "domains", "ips"]
    value: str


class Removed(ResponseModel):
    """An entry was removed."""

    removed: Literal[True]


class ModeratorAccount(ResponseModel):
    """A moderator account (never its token)."""

    name: str
    role: Role
    created_at: float = Field(description="Creation time, seconds since the epoch.")
    sites: list[str] | None = Field(
        None, description="The only sites it sees and acts on; null: every site."
    )


class ModeratorList(ResponseModel):
    """Every moderator account, by name."""

    moderators: list[ModeratorAccount]


class ModeratorCreated(ResponseModel):
    """A new account and its token: shown in this response only."""

    name: str
    role: Role
    token: str
    sites: list[str] | None = Field(None, description="Its sites; null: every site.")


class Revoked(ResponseModel):
    """An account was deleted; its token no longer works."""

    revoked: str


# -- errors ------------------------------------------------------------------------------


def _absent_not_null(schema: dict[str, Any]) -> None:
    """Document optional members as left out when absent, never ``null``."""
    for member in schema.get("properties", {}).values():
        branches = member.get("anyOf", [])
        if {"type": "null"} in branches and "default" in member and member["default"] is None:
            rest = [branch for branch in branches if branch != {"type": "null"}]
            del member["anyOf"], member["default"]
            if len(rest) == 1:
                member.update(rest[0])
            else:
                member["anyOf"] = rest


class Problem(ResponseModel):
    """An error, as RFC 9457 problem details (``application/problem+json``).

    The optional members appear only on the problems that carry them.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_absent_not_null)

    type: str = Field(description="A URI naming the kind of problem, or ``about:blank``.")
    title: str
    status: int = Field(ge=400, le=599)
    code: str = Field(description="Machine-readable problem code, e.g. ``validation_failed``.")
    detail: str
    errors: dict[str, str] | None = Field(
        None, description="Per-field messages (``validation_failed``, ``captcha_invalid``)."
    )
    captcha: CaptchaChallenge | None = Field(
        None, description="A fresh challenge to answer instead (``captcha_invalid``)."
    )
    reason: CaptchaReason | None = Field(
        None, description="Why the captcha failed (``captcha_invalid``)."
    )
    id: str | None = Field(None, description="The comment that changed (``conflict``).")
    current_status: CommentStatus | None = Field(None, description="Its status now (``conflict``).")
    hint: str | None = Field(None, description="How to authenticate (``unauthorized``).")
