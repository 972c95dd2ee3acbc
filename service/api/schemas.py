"""Request schemas: what clients may send, validated with pydantic."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, TypeVar
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from service.exceptions import ValidationFailedError

#: Bidirectional embedding, override and isolate controls: used to disguise text.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
M = TypeVar("M", bound=BaseModel)
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def _check_single_line(value: str) -> str:
    value = value.strip()
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        raise ValueError("must not contain control or invisible formatting characters")
    return value


def _check_multiline(value: str) -> str:
    value = value.strip()
    for ch in value:
        if ch in "\n\r\t":
            continue
        if unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS:
            raise ValueError("must not contain control or bidirectional override characters")
    return value


class CommentSubmission(BaseModel):
    """A comment as posted by a website (JSON or an HTML form)."""

    model_config = ConfigDict(extra="ignore")

    thread: str = Field(max_length=512, description="Page URL or slug the comment belongs to.")
    body: str = Field(description="The comment, plain text.")
    author_name: str = Field("", max_length=100)
    author_email: str = Field("", max_length=254)
    author_url: str = Field("", max_length=2048, description="http or https URL.")
    parent_id: str = Field("", max_length=64, description="A published comment replied to.")
    captcha_token: str = Field("", max_length=4096)
    captcha_answer: str | int = Field("", description="Digits or English number words.")

    @field_validator("thread")
    @classmethod
    def _thread(cls, value: str) -> str:
        value = _check_single_line(value)
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("body")
    @classmethod
    def _body(cls, value: str, info: ValidationInfo) -> str:
        value = _check_multiline(value)
        limit = (info.context or {}).get("body_max_chars", 5000)
        if not value:
            raise ValueError("must not be empty")
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters")
        return value

    @field_validator("author_name")
    @classmethod
    def _author_name(cls, value: str, info: ValidationInfo) -> str:
        value = _check_single_line(value)
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
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(f"not a valid e-mail address: {exc}") from None

    @field_validator("author_url")
    @classmethod
    def _author_url(cls, value: str) -> str:
        value = _check_single_line(value)
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


class ThreadListing(BaseModel):
    """Query parameters of the public thread listing."""

    model_config = ConfigDict(extra="ignore")

    thread: str = Field(max_length=512)
    limit: int = Field(50, ge=1, le=100)
    cursor: str | None = Field(None, max_length=512)

    @field_validator("thread")
    @classmethod
    def _thread(cls, value: str) -> str:
        value = _check_single_line(value)
        if not value:
            raise ValueError("must not be empty")
        return value


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
