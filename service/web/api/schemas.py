"""Request schemas: what clients may send, validated with pydantic.

Bodies and query strings of the API's views are validated with these models, and the
OpenAPI document (:mod:`service.web.apidoc`) is generated from them: here the base
every request model shares (:class:`RequestModel`, its text checks, :func:`validate`)
and the public API's; the moderation API's are in
:mod:`service.web.api.moderation.schemas`. Responses are in :mod:`service.web.api.models`.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from service.core.exceptions import ValidationFailedError
from service.core.sites import NAME_PATTERN as SITE_NAME_PATTERN
from service.web.api.email_address import EmailNotValidError, normalised_email

#: Bidirectional embedding, override and isolate controls: used to disguise text.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Categories that draw nothing on their own: controls, formats, separators, marks.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp", "Mn", "Me"})
#: Letters and symbols that render as blank space (Hangul fillers, the braille blank).
_BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
#: Line breaks and tabs, which multi-line text may hold (deleted before the fast check).
_LINE_BREAKS = str.maketrans("", "", "\n\r\t")
#: A lone UTF-16 surrogate, and the error of a field holding one.
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ERROR = PydanticCustomError(
    "lone_surrogate", "must be valid Unicode text (no lone surrogates)"
)
M = TypeVar("M", bound=BaseModel)
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
#: The API's spelling of :data:`service.core.store.DECIDED_STATUSES` (a literal, so the
#: OpenAPI document lists them; a test holds the two equal).
DecidedStatus = Literal["published", "held", "spam", "rejected"]


def _has_surrogate(value: Any) -> bool:
    """Whether ``value`` (a string or a list of them) holds a lone surrogate."""
    texts = value if isinstance(value, list) else (value,)
    return any(
        isinstance(text, str) and not text.isascii() and _SURROGATE.search(text) is not None
        for text in texts
    )


def _visible(value: str) -> bool:
    """Whether ``value`` has at least one character that draws something."""
    return any(
        unicodedata.category(ch) not in _INVISIBLE_CATEGORIES and ch not in _BLANK_CHARACTERS
        for ch in value
    )


def check_single_line(value: str) -> str:
    """Strip ``value``; refuse control or invisible formatting characters in it."""
    value = value.strip()
    if value.isprintable():  # fast path, in C: no control or format character at all
        return value
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        raise ValueError("must not contain control or invisible formatting characters")
    return value


def _check_multiline(value: str) -> str:
    value = value.strip()
    if value.translate(_LINE_BREAKS).isprintable():  # fast path, in C
        return value
    for ch in value:
        if ch in "\n\r\t":
            continue
        if unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS:
            raise ValueError("must not contain control or bidirectional override characters")
    return value


def required_text(value: str) -> str:
    """Refuse text that is empty once blank and invisible characters are ignored."""
    if not _visible(value):
        raise ValueError("must not be empty")
    return value


class RequestModel(BaseModel):
    r"""Base of request schemas: unknown members are ignored, lone surrogates refused.

    JSON can escape a lone UTF-16 surrogate (``"\\ud800"``); it is no character, cannot
    be stored or encoded, and is refused in every field before any other rule runs.
    """

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _no_surrogates(cls, data: Any) -> Any:
        # One pass over the input, not a validator per field: each call from pydantic
        # into Python costs more than the check itself.
        if not isinstance(data, dict):
            return data
        errors = []
        for name, value in data.items():
            if isinstance(value, str) and value.isascii():
                continue  # most values, at once
            if name in cls.model_fields and _has_surrogate(value):
                errors.append(InitErrorDetails(type=_SURROGATE_ERROR, loc=(name,), input=value))
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return data


# -- public API --------------------------------------------------------------------------


class CommentSubmission(RequestModel):
    """A comment as posted by a website (JSON or an HTML form)."""

    thread: str = Field(
        max_length=512,
        description="Page URL or slug the comment belongs to.",
        json_schema_extra={"minLength": 1},
    )
    body: str = Field(
        description="The comment, plain text (at most COMMENTGATE_BODY_MAX_CHARS characters).",
        json_schema_extra={"minLength": 1},
    )
    author_name: str = Field(
        "", max_length=100, description="Required unless COMMENTGATE_AUTHOR_NAME_REQUIRED=false."
    )
    author_email: str = Field("", max_length=254, description="Never shown publicly.")
    author_url: str = Field("", max_length=2048, description="http or https URL.")
    parent_id: str = Field(
        "",
        max_length=64,
        description="A published comment of the same thread replied to.",
        json_schema_extra={"pattern": r"^([A-Za-z0-9_-]{8,64})?$"},
    )
    captcha_token: str = Field("", max_length=4096, description="From GET /api/v1/captcha.")
    captcha_answer: str | int = Field("", description="Digits or English number words.")
    commenter_token: str = Field(
        "",
        max_length=1024,
        pattern=r"^[A-Za-z0-9_.-]*$",
        description="The commenter token the site keeps for this commenter (from POST "
        "/api/v1/comments/{comment_id}/commenter-token). While the comment that earned it "
        "is still published and the token names this `author_email`, the comment skips "
        "the hold of a middling score (never the link, phone-number or too-fast holds). "
        "A token that is forged, expired or names someone else is ignored: the comment "
        "is decided like a stranger's.",
    )
    site: str = Field(
        "",
        max_length=63,
        description="The site the comment is posted to (its name; default: the default "
        "site, or the site whose key authenticates the request). A browser's post naming a "
        "site must come from one of that site's origins.",
        json_schema_extra={"pattern": r"^([a-z0-9][a-z0-9-]{0,62})?$"},
    )
    user_ip: str = Field(
        "",
        max_length=64,
        description="The commenter's IP address, as the site's server saw it. Only with "
        "`Authorization: Bearer cgs_...` (a site key); refused otherwise.",
    )
    user_agent: str = Field(
        "",
        max_length=512,
        description="The commenter's user agent. Only with a site key; refused otherwise.",
    )
    referrer: str = Field(
        "",
        max_length=2048,
        description="The page the commenter came from (http or https URL). Only with a "
        "site key; refused otherwise.",
    )

    @field_validator("thread")
    @classmethod
    def _thread(cls, value: str) -> str:
        return required_text(check_single_line(value))

    @field_validator("site")
    @classmethod
    def _site(cls, value: str) -> str:
        value = value.strip()
        if value and not SITE_NAME_PATTERN.match(value):
            raise ValueError("not a site name")
        return value

    @field_validator("user_ip")
    @classmethod
    def _user_ip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError("not an IP address") from None

    @field_validator("user_agent")
    @classmethod
    def _user_agent(cls, value: str) -> str:
        return check_single_line(value)

    @field_validator("referrer")
    @classmethod
    def _referrer(cls, value: str) -> str:
        value = check_single_line(value)
        if value and urlsplit(value).scheme.lower() not in ("http", "https"):
            raise ValueError("must be an http or https URL")
        return value

    @field_validator("body")
    @classmethod
    def _body(cls, value: str, info: ValidationInfo) -> str:
        value = required_text(_check_multiline(value))
        limit = (info.context or {}).get("body_max_chars", 5000)
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters")
        return value

    @field_validator("author_name")
    @classmethod
    def _author_name(cls, value: str, info: ValidationInfo) -> str:
        value = check_single_line(value)
        if value and not _visible(value):
            raise ValueError("must not be blank")
        if not value and (info.context or {}).get("author_name_required", True):
            raise ValueError("is required")
        return value

    @field_validator("author_email")
    @classmethod
    def _author_email(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        try:
            return normalised_email(value)
        except EmailNotValidError as exc:
            raise ValueError(f"not a valid e-mail address: {exc}") from None

    @field_validator("author_url")
    @classmethod
    def _author_url(cls, value: str) -> str:
        value = check_single_line(value)
        if not value:
            return ""
        if any(ch.isspace() for ch in value):
            raise ValueError("must not contain spaces")
        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError:
            raise ValueError("not a valid URL") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise ValueError("must be an http or https URL")
        if not host:
            raise ValueError("must include a host name")
        return value

    @field_validator("parent_id")
    @classmethod
    def _parent_id(cls, value: str) -> str:
        value = value.strip()
        if value and not ID_PATTERN.match(value):
            raise ValueError("not a comment id")
        return value

    @field_validator("captcha_answer")
    @classmethod
    def _answer(cls, value: str | int) -> str:
        return str(value).strip()[:64]


class CommenterTokenRequest(RequestModel):
    """Proof of having posted a comment, to obtain its author's commenter token."""

    receipt: str = Field(
        max_length=64,
        description="The `receipt` of the comment's 202 response.",
        json_schema_extra={"minLength": 1},
    )


class ThreadListing(RequestModel):
    """Query parameters of the public thread listing."""

    thread: str = Field(
        max_length=512, description="The thread's URL or slug.", json_schema_extra={"minLength": 1}
    )
    limit: int = Field(50, ge=1, le=100, description="Comments per page.")
    cursor: str | None = Field(None, max_length=512, description="``next_cursor`` of a page.")
    site: str = Field(
        "default",
        max_length=63,
        pattern=SITE_NAME_PATTERN.pattern,
        description="The site the thread belongs to (a thread id is unique within its site).",
    )

    @field_validator("thread")
    @classmethod
    def _thread(cls, value: str) -> str:
        return required_text(check_single_line(value))


def validate(model: type[M], data: Any, context: dict[str, Any] | None = None) -> M:
    """Validate ``data`` into ``model`` or raise a 422 with per-field messages."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors(include_url=False):
            field = ".".join(str(part) for part in error["loc"]) or "body"
            message = error["msg"].removeprefix("Value error, ")
            errors.setdefault(field, message)
        raise ValidationFailedError("some fields are invalid", errors=errors) from None
