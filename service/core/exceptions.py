"""Exceptions raised by the commentgate service and workers.

Hierarchy::

    CommentgateError
    ├── ConfigurationError        invalid COMMENTGATE_* setting; stops start-up
    ├── StoreUnavailableError     Redis cannot be reached (HTTP 503 + Retry-After)
    └── ProblemError              a client error rendered as application/problem+json
        ├── BadRequestError       400 malformed body
        ├── UnauthorizedError     401 missing or bad moderator token
        ├── ForbiddenError        403 the moderator's role does not allow it
        │   └── SiteRevokedError  403 code ``site_revoked``: the post names a revoked site
        ├── NotFoundError         404 unknown resource
        ├── ConflictError         409 the resource changed under the caller
        ├── PayloadTooLargeError  413 body over COMMENTGATE_MAX_REQUEST_BYTES
        ├── UnsupportedMediaError 415 content type not accepted
        ├── ValidationFailedError 422 invalid fields, with per-field messages
        └── CaptchaInvalidError   422 code ``captcha_invalid``, with a fresh challenge

The classifier has its own hierarchy in :mod:`classifier.exceptions`.
"""

from __future__ import annotations

from typing import Any


class CommentgateError(Exception):
    """Base class of every error commentgate raises on purpose."""


class ConfigurationError(CommentgateError):
    """A setting is missing or invalid; the message names the variable."""


class StoreUnavailableError(CommentgateError):
    """Redis did not answer; the caller should retry later."""


class ProblemError(CommentgateError):
    """An error that is the client's to fix, rendered as RFC 9457 problem JSON.

    Args:
        detail: A sentence for people.
        errors: Per-field messages, ``{field: message}``.
        extra: More members for the problem body.
    """

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}
        self.extra = extra or {}

    def to_problem(self) -> dict[str, Any]:
        """Return the problem body for this error."""
        body: dict[str, Any] = {
            "type": f"https://commentgate.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class BadRequestError(ProblemError):
    """The body could not be parsed."""

    status, code, title = 400, "malformed_body", "Malformed request body"


class UnauthorizedError(ProblemError):
    """No valid moderator token (or session) came with the request."""

    status, code, title = 401, "unauthorized", "Authentication required"


class ForbiddenError(ProblemError):
    """The moderator's role does not allow this."""

    status, code, title = 403, "forbidden", "Not allowed"


class SiteRevokedError(ForbiddenError):
    """The post is for a site that was revoked: it takes no new comments."""

    status, code, title = 403, "site_revoked", "Site revoked"


class NotFoundError(ProblemError):
    """No such resource."""

    status, code, title = 404, "not_found", "Not found"


class ConflictError(ProblemError):
    """The resource changed under the caller."""

    status, code, title = 409, "conflict", "Conflict"


class PayloadTooLargeError(ProblemError):
    """The body is larger than allowed."""

    status, code, title = 413, "payload_too_large", "Payload too large"


class UnsupportedMediaError(ProblemError):
    """The content type is not one the endpoint accepts."""

    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class ValidationFailedError(ProblemError):
    """One or more fields are invalid."""

    status, code, title = 422, "validation_failed", "Invalid fields"


class CaptchaInvalidError(ProblemError):
    """The captcha answer is wrong, or its token expired, was forged or reused."""

    status, code, title = 422, "captcha_invalid", "Captcha not solved"
