"""What the moderation API accepts: its bodies and query strings, validated with pydantic.

Built on :mod:`service.web.api.schemas` (the base model and its text checks); the
OpenAPI document is generated from these models too.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from service.core.accounts import NAME_PATTERN, Role
from service.core.moderation import Action
from service.core.sites import NAME_PATTERN as SITE_NAME_PATTERN
from service.core.store import CommentStatus
from service.web.api.schemas import (
    ID_PATTERN,
    DecidedStatus,
    RequestModel,
    check_single_line,
    required_text,
)

#: Largest part of a Redis stream id (an unsigned 64-bit integer).
_STREAM_ID_PART_MAX = 2**64 - 1
#: The ``site`` filter of the queue, the audit log and the export.
_SITE_FILTER = Field(
    None,
    max_length=63,
    pattern=SITE_NAME_PATTERN.pattern,
    description="Only this site's comments (a site the moderator may not see shows none).",
)


class QueueQuery(RequestModel):
    """Query of a moderation queue."""

    status: DecidedStatus = "held"
    site: str | None = _SITE_FILTER
    thread: str | None = Field(None, max_length=512, description="Only this thread.")
    q: str | None = Field(None, max_length=200, description="Text to search for.")
    limit: int = Field(50, ge=1, le=200, description="Comments per page.")
    cursor: str | None = Field(None, max_length=512, description="``next_cursor`` of a page.")


class ActionRequest(RequestModel):
    """A decision on one comment."""

    action: Action
    expected_status: CommentStatus | None = Field(
        None, description="The status the moderator saw; a different one is a 409."
    )


class BulkRequest(ActionRequest):
    """One decision on many comments, all or nothing."""

    ids: list[str] = Field(
        min_length=1,
        max_length=500,
        description="Distinct comment ids.",
        json_schema_extra={
            "uniqueItems": True,
            "items": {"type": "string", "pattern": ID_PATTERN.pattern},
        },
    )

    @field_validator("ids")
    @classmethod
    def _ids(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("ids must not repeat")
        for comment_id in value:
            if not ID_PATTERN.match(comment_id):
                raise ValueError(f"not a comment id: {comment_id[:64]!r}")
        return value


class AuditQuery(RequestModel):
    """Cursor pagination of the audit log."""

    limit: int = Field(50, ge=1, le=500, description="Entries per page.")
    cursor: str | None = Field(
        None, max_length=64, pattern=r"^[0-9]+-[0-9]+$", description="``next_cursor`` of a page."
    )
    site: str | None = _SITE_FILTER

    @field_validator("cursor")
    @classmethod
    def _cursor(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = [int(part) for part in value.split("-")]
        # Redis refuses ids past 64 bits, and nothing comes before 0-0.
        if max(parts) > _STREAM_ID_PART_MAX or not any(parts):
            raise ValueError("not a cursor of the audit log")
        return value


class ListEntry(RequestModel):
    """An entry to add to or remove from a site's list."""

    value: str = Field(
        min_length=1, max_length=320, description="A term, e-mail, domain or IP network."
    )
    site: str = Field(
        "default",
        max_length=63,
        pattern=SITE_NAME_PATTERN.pattern,
        description="The site whose list it is.",
    )

    @field_validator("value")
    @classmethod
    def _value(cls, value: str) -> str:
        return required_text(check_single_line(value))


class NewModerator(RequestModel):
    """An account to create."""

    name: str = Field(
        min_length=1,
        max_length=64,
        description="Letters, digits, '.', '_' or '-', starting with a letter or digit.",
        json_schema_extra={"pattern": NAME_PATTERN.pattern},
    )
    role: Role = Role.MODERATOR
    sites: list[str] | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="The only sites the account sees and acts on; omitted or null: every site.",
        json_schema_extra={"items": {"type": "string", "pattern": SITE_NAME_PATTERN.pattern}},
    )

    @field_validator("sites")
    @classmethod
    def _sites(cls, value: list[str] | None) -> list[str] | None:
        for site in value or ():
            if not SITE_NAME_PATTERN.match(site):
                raise ValueError(f"not a site name: {site[:64]!r}")
        return value


class ExportQuery(RequestModel):
    """Export format."""

    format: Literal["jsonl", "csv"] = "jsonl"
    site: str | None = _SITE_FILTER


class SiteQuery(RequestModel):
    """The site whose lists are meant."""

    site: str = Field(
        "default",
        max_length=63,
        pattern=SITE_NAME_PATTERN.pattern,
        description="The site whose block and allow lists these are.",
    )
