"""Replies many views share, for their :func:`~service.web.apidoc.doc` declarations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.web.api.schemas import ID_PATTERN
from service.web.apidoc.spec import HTML, STRING, Reply

__all__ = [
    "BAD_CURSOR",
    "COMMENT_ID",
    "CONFLICT",
    "FORBIDDEN",
    "INVALID",
    "MALFORMED",
    "NOT_FOUND",
    "PAGE_UNAVAILABLE",
    "RATE_LIMITED",
    "REDIRECT",
    "TOO_LARGE",
    "UNAUTHORIZED",
    "UNAVAILABLE",
    "UNSUPPORTED",
    "form_page_replies",
    "json_body_replies",
    "page",
    "problem",
]


def problem(description: str, *headers: str) -> Reply:
    """An ``application/problem+json`` reply."""
    return Reply(description, problem=True, headers=headers)


def page(description: str, *headers: str) -> Reply:
    """An HTML page."""
    return Reply(description, media={HTML: STRING}, headers=headers)


UNAVAILABLE = problem("Redis is unreachable; retry after Retry-After seconds.", "Retry-After")
RATE_LIMITED = problem("Too many requests from this client; retry later.", "Retry-After")
MALFORMED = problem(
    "The body is not one JSON object (invalid JSON or UTF-8, a duplicate key, nested "
    "too deeply) or a form field is repeated (`malformed_body`)."
)
TOO_LARGE = problem("The body is over COMMENTGATE_MAX_REQUEST_BYTES (`payload_too_large`).")
UNSUPPORTED = problem("The content type is neither JSON nor a form.")
INVALID = problem("Some fields are invalid; `errors` says which and why (`validation_failed`).")
BAD_CURSOR = problem("`cursor` is not one this service issued; start again without it.")
NOT_FOUND = problem("No such resource (`not_found`).")
UNAUTHORIZED = problem("No valid moderator token; `hint` says how to send one.")
FORBIDDEN = problem("The account's role does not allow this: it needs `admin`.")
CONFLICT = problem(
    "Someone acted first: the comment `id` is `current_status` now. Nothing changed."
)
REDIRECT = page("See Location.", "Location")
PAGE_UNAVAILABLE = page("Redis is unreachable; retry after Retry-After seconds.", "Retry-After")


def json_body_replies() -> dict[int, Reply]:
    """The errors of reading and validating a request body (JSON or a form)."""
    return {400: MALFORMED, 413: TOO_LARGE, 415: UNSUPPORTED, 422: INVALID}


def form_page_replies(*, session: bool = True) -> dict[int, Reply]:
    """The errors of a moderation UI form (CSRF token, size, and the session's end)."""
    replies = {
        400: page("The form's CSRF token is missing or stale, or a field is invalid."),
        413: page("The form is too large."),
    }
    if session:
        replies[401] = page("The session ended; nothing was changed.")
    return replies


#: A comment id as a path parameter: (description, schema).
COMMENT_ID: tuple[str, Mapping[str, Any]] = (
    "A comment id.",
    {"type": "string", "pattern": ID_PATTERN.pattern},
)
