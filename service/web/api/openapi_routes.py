"""The OpenAPI route registry: every ``(endpoint, method)`` of the app, documented.

Request and response bodies are the models the views use (:mod:`service.web.api.schemas`,
:mod:`service.web.api.models`); the HTML pages' query strings and forms are described by
documentation-only models in :mod:`service.web.api.schemas`. :mod:`service.web.api.openapi`
turns this table into the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from service.core.store.lists import LIST_KINDS, LIST_NAMES
from service.web.api import models as m
from service.web.api import schemas as s

JSON = "application/json"
PROBLEM = "application/problem+json"
HTML = "text/html"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
_STRING: Mapping[str, Any] = {"type": "string"}

Security = Literal["bearer", "metrics", "session"]


@dataclass(frozen=True)
class Reply:
    """One documented response.

    Attributes:
        description: What it means.
        model: Its ``application/json`` body.
        problem: Whether it has an ``application/problem+json`` body.
        media: Other media types, each with its body's schema.
        headers: Names of the ``components/headers`` it carries.
    """

    description: str
    model: type[BaseModel] | None = None
    problem: bool = False
    media: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Operation:
    """One documented operation.

    Attributes:
        summary: One line.
        tag: The group it is listed under.
        responses: By status code.
        description: More words, when needed.
        query: Model of the query string (each field is a parameter).
        body: Model of the request body.
        body_media: Media types the body may be sent as.
        path: Path parameters: name -> (description, schema replacing the converter's).
        security: ``bearer`` (moderators' tokens), ``session`` (moderation UI cookie)
            or ``metrics`` (optional token).
    """

    summary: str
    tag: str
    responses: Mapping[int, Reply]
    description: str = ""
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_media: tuple[str, ...] = (JSON,)
    path: Mapping[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    security: Security | None = None


def _problem(description: str, *headers: str, html: bool = False) -> Reply:
    media = {HTML: _STRING} if html else {}
    return Reply(description, problem=True, media=media, headers=headers)


def _page(description: str, *headers: str) -> Reply:
    return Reply(description, media={HTML: _STRING}, headers=headers)


def _html(reply: Reply) -> Reply:
    """The same reply, also as an HTML page (for browsers posting a plain form)."""
    return Reply(
        reply.description, reply.model, reply.problem, {**reply.media, HTML: _STRING}, reply.headers
    )


UNAVAILABLE = _problem("Redis is unreachable; retry after Retry-After seconds.", "Retry-After")
RATE_LIMITED = _problem("Too many requests from this client; retry later.", "Retry-After")
MALFORMED = _problem(
    "The body is not one JSON object (invalid JSON or UTF-8, a duplicate key, nested "
    "too deeply) or a form field is repeated (`malformed_body`)."
)
TOO_LARGE = _problem("The body is over COMMENTGATE_MAX_REQUEST_BYTES (`payload_too_large`).")
UNSUPPORTED = _problem("The content type is neither JSON nor a form.")
INVALID = _problem("Some fields are invalid; `errors` says which and why (`validation_failed`).")
BAD_CURSOR = _problem("`cursor` is not one this service issued; start again without it.")
NOT_FOUND = _problem("No such resource (`not_found`).")
UNAUTHORIZED = _problem("No valid moderator token; `hint` says how to send one.")
FORBIDDEN = _problem("The account's role does not allow this: it needs `admin`.")
CONFLICT = _problem(
    "Someone acted first: the comment `id` is `current_status` now. Nothing changed."
)
REDIRECT = _page("See Location.", "Location")
PAGE_UNAVAILABLE = _page("Redis is unreachable; retry after Retry-After seconds.", "Retry-After")
COMMENT_ID = ("A comment id.", {"type": "string", "pattern": s.ID_PATTERN.pattern})
LIST_PATH = {
    "name": ("The list.", {"type": "string", "enum": list(LIST_NAMES)}),
    "kind": ("The kind of entries.", {"type": "string", "enum": list(LIST_KINDS)}),
}


def _moderation(
    summary: str,
    responses: Mapping[int, Reply],
    *,
    admin: bool = False,
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    path: Mapping[str, tuple[str, dict[str, Any]]] | None = None,
) -> Operation:
    """An operation of the moderation API: a bearer token, and admins' where stated."""
    replies: dict[int, Reply] = {401: UNAUTHORIZED, 503: UNAVAILABLE}
    if admin:
        replies[403] = FORBIDDEN
    if query is not None:
        replies[422] = INVALID
    if body is not None:
        replies |= {400: MALFORMED, 413: TOO_LARGE, 415: UNSUPPORTED, 422: INVALID}
    tag = "moderation (admins)" if admin else "moderation"
    return Operation(
        summary,
        tag,
        replies | dict(responses),
        query=query,
        body=body,
        path=path or {},
        security="bearer",
    )


def _ui(
    summary: str,
    responses: Mapping[int, Reply],
    *,
    form: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    public: bool = False,
    path: Mapping[str, tuple[str, dict[str, Any]]] | None = None,
) -> Operation:
    """A page of the moderation UI (HTML, a session cookie, CSRF tokens on forms)."""
    replies: dict[int, Reply] = {503: PAGE_UNAVAILABLE}
    if form is not None:
        replies |= {
            400: _page("The form's CSRF token is missing or stale, or a field is invalid."),
            413: _page("The form is too large."),
        }
        if not public:
            replies[401] = _page("The session ended; nothing was changed.")
    return Operation(
        summary,
        "moderation UI",
        replies | dict(responses),
        query=query,
        body=form,
        body_media=(FORM,),
        path=path or {},
        security=None if public else "session",
    )


ROUTES: dict[tuple[str, str], Operation] = {
    ("captcha.issue", "GET"): Operation(
        "Issue a captcha challenge",
        "comments",
        {200: Reply("A fresh challenge.", m.CaptchaChallenge), 429: RATE_LIMITED},
    ),
    ("comments.create", "POST"): Operation(
        "Submit a comment",
        "comments",
        {
            202: Reply("Stored and queued for scoring.", m.CommentAccepted, headers=("Location",)),
            303: _page(
                "A browser's form post: back to its page, with `?comment=<id>`; a refused "
                "demo-page form: back to the demo page, with `?retry=<id>`.",
                "Location",
            ),
            400: _html(MALFORMED),
            413: _html(TOO_LARGE),
            415: UNSUPPORTED,
            422: _html(
                _problem(
                    "Invalid fields (`validation_failed`, with `errors`), or the captcha was "
                    "not solved (`captcha_invalid`, with `reason` and a fresh `captcha`)."
                )
            ),
            429: _html(RATE_LIMITED),
            503: _html(UNAVAILABLE),
        },
        description=(
            "Send JSON, or a form. A browser posting a plain form (Accept preferring "
            "text/html) is answered with a 303 redirect or with an HTML error page "
            "(post/redirect/get for the demo page's form)."
        ),
        body=s.CommentSubmission,
        body_media=(JSON, FORM, MULTIPART),
    ),
    ("comments.list_thread", "GET"): Operation(
        "List a thread's published comments",
        "comments",
        {
            200: Reply("A page of comments, oldest first.", m.ThreadPage),
            400: BAD_CURSOR,
            422: INVALID,
            503: UNAVAILABLE,
        },
        query=s.ThreadListing,
    ),
    ("comments.get_one", "GET"): Operation(
        "A comment's status",
        "comments",
        {200: Reply("The comment.", m.CommentView), 404: NOT_FOUND, 503: UNAVAILABLE},
        path={"comment_id": ("The id the submission was answered with.", COMMENT_ID[1])},
    ),
    ("comments.commenter_token", "POST"): Operation(
        "Obtain the author's commenter token",
        "comments",
        {
            200: Reply("The token, once the comment is published.", m.CommenterToken),
            400: MALFORMED,
            404: _problem("No comment with this id and receipt (`not_found`)."),
            409: _problem("The comment is not published (not yet, or not at all)."),
            415: UNSUPPORTED,
            422: _problem(
                "Invalid fields, or the comment has no e-mail address (`validation_failed`)."
            ),
            429: RATE_LIMITED,
            503: UNAVAILABLE,
        },
        description=(
            "For the poster of a published comment only: send the `receipt` of its 202. "
            "The site keeps the token for this commenter and sends it as `commenter_token` "
            "with their later comments; it counts while this comment stays published."
        ),
        body=s.CommenterTokenRequest,
        body_media=(JSON, FORM),
        path={"comment_id": ("The id the submission was answered with.", COMMENT_ID[1])},
    ),
    ("health.healthz", "GET"): Operation(
        "Liveness", "operations", {200: Reply("The process answers.", m.Health)}
    ),
    ("health.readyz", "GET"): Operation(
        "Readiness",
        "operations",
        {
            200: Reply("Ready, with queue depths.", m.Ready),
            503: Reply("Not ready, and why.", m.NotReady, headers=("Retry-After",)),
        },
    ),
    ("metrics.metrics", "GET"): Operation(
        "Prometheus metrics",
        "operations",
        {
            200: Reply("Metrics in the Prometheus text format.", media={"text/plain": _STRING}),
            401: Reply(
                "The metrics token is set and was not sent.",
                media={"text/plain": _STRING},
                headers=("WWW-Authenticate",),
            ),
            503: UNAVAILABLE,
        },
        security="metrics",
    ),
    ("openapi.index", "GET"): Operation(
        "The API's entry points", "operations", {200: Reply("Links to start from.", m.ApiIndex)}
    ),
    ("openapi.openapi_json", "GET"): Operation(
        "This OpenAPI document",
        "operations",
        {200: Reply("The document.", media={JSON: {"type": "object"}})},
    ),
    ("moderation.me", "GET"): _moderation(
        "The authenticated moderator", {200: Reply("The account.", m.ModeratorAccount)}
    ),
    ("moderation.queue", "GET"): _moderation(
        "A moderation queue",
        {200: Reply("A page of comments, newest first.", m.QueuePage), 400: BAD_CURSOR},
        query=s.QueueQuery,
    ),
    ("moderation.act", "POST"): _moderation(
        "Approve, spam or reject a comment",
        {
            200: Reply("The comment after the decision.", m.ActionResult),
            404: NOT_FOUND,
            409: CONFLICT,
        },
        body=s.ActionRequest,
        path={"comment_id": COMMENT_ID},
    ),
    ("moderation.bulk", "POST"): _moderation(
        "One decision on many comments, all or nothing",
        {
            200: Reply("Every comment's change.", m.BulkResult),
            404: NOT_FOUND,
            409: CONFLICT,
        },
        body=s.BulkRequest,
    ),
    ("moderation.audit", "GET"): _moderation(
        "The audit log",
        {200: Reply("A page of decisions, newest first.", m.AuditPage)},
        query=s.AuditQuery,
    ),
    ("moderation.export", "GET"): _moderation(
        "Export decided comments",
        {
            200: Reply(
                "Every decided comment, as JSON lines or CSV.",
                media={"application/x-ndjson": _STRING, "text/csv": _STRING},
                headers=("Content-Disposition",),
            )
        },
        query=s.ExportQuery,
    ),
    ("moderation.lists", "GET"): _moderation(
        "The block and allow lists", {200: Reply("Every entry.", m.Lists)}
    ),
    ("moderation.add_entry", "POST"): _moderation(
        "Add a list entry (the allow list takes e-mails, domains and IPs, not terms)",
        {201: Reply("The entry as stored.", m.ListEntryAdded), 404: NOT_FOUND},
        admin=True,
        body=s.ListEntry,
        path=LIST_PATH,
    ),
    ("moderation.remove_entry", "DELETE"): _moderation(
        "Remove a list entry (given as `?value=`)",
        {200: Reply("Removed.", m.Removed), 404: NOT_FOUND},
        admin=True,
        query=s.ListEntry,
        path=LIST_PATH,
    ),
    ("moderation.moderators", "GET"): _moderation(
        "Moderator accounts", {200: Reply("Every account.", m.ModeratorList)}, admin=True
    ),
    ("moderation.add_moderator", "POST"): _moderation(
        "Create a moderator account",
        {201: Reply("The account and its token (shown once).", m.ModeratorCreated)},
        admin=True,
        body=s.NewModerator,
    ),
    ("moderation.revoke_moderator", "DELETE"): _moderation(
        "Revoke a moderator account",
        {200: Reply("Revoked.", m.Revoked), 404: NOT_FOUND},
        admin=True,
        path={"name": ("The account's name.", {"type": "string", "minLength": 1})},
    ),
    ("pages.demo_post", "GET"): Operation(
        "The demo blog post, its comments and comment form",
        "pages",
        {
            200: _page("The page."),
            400: _page("The comments cursor is not valid."),
            503: PAGE_UNAVAILABLE,
        },
        query=s.DemoPageQuery,
    ),
    ("moderate.queue", "GET"): _ui(
        "A queue of the moderation UI",
        {
            200: _page("The queue."),
            303: _page("No session (to the login page), or a stale cursor.", "Location"),
            308: _page("`/moderate/held` is `/moderate`.", "Location"),
            404: NOT_FOUND,
        },
        query=s.QueueFilter,
    ),
    ("moderate.login", "GET"): _ui(
        "The login page",
        {200: _page("The form."), 303: _page("Logged in already.", "Location")},
        query=s.LoginQuery,
        public=True,
    ),
    ("moderate.login", "POST"): _ui(
        "Log in with an API token",
        {
            303: _page("Logged in: to the queue, or to `next`.", "Location"),
            401: _page("The token is not valid."),
            429: _page("Too many login attempts; retry later.", "Retry-After"),
        },
        form=s.LoginForm,
        public=True,
    ),
    ("moderate.logout", "POST"): _ui("Log out", {303: REDIRECT}, form=s.CsrfForm),
    ("moderate.act", "POST"): _ui(
        "Decide on one comment",
        {303: _page("Back to the queue.", "Location")},
        form=s.DecisionForm,
        path={"comment_id": COMMENT_ID},
    ),
    ("moderate.bulk", "POST"): _ui(
        "Decide on the selected comments",
        {303: _page("Back to the queue.", "Location")},
        form=s.BulkForm,
    ),
}
