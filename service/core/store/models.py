"""The comment record and its statuses."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from service.core.store.keys import DEFAULT_SITE


class CommentStatus(StrEnum):
    """Where a comment is in its life."""

    PENDING = "pending"
    PUBLISHED = "published"
    HELD = "held"
    SPAM = "spam"
    REJECTED = "rejected"


#: The statuses a worker's decision (or a moderator) gives; every status but pending.
DECIDED_STATUSES: tuple[CommentStatus, ...] = tuple(
    status for status in CommentStatus if status is not CommentStatus.PENDING
)
FINAL_STATUSES = frozenset(DECIDED_STATUSES)


def new_comment_id() -> str:
    """A new comment's id: 22 URL-safe characters (128 random bits), never a leading ``-``.

    An id starting with ``-`` reads as an option on a command line, and a spreadsheet
    reads it as a formula, so the moderators' CSV export would show it prefixed with
    ``'`` and its id column would not match the API's. One draw in 64 starts with
    ``-``; it is drawn again.
    """
    while True:
        comment_id = secrets.token_urlsafe(16)
        if not comment_id.startswith("-"):
            return comment_id


@dataclass(frozen=True, slots=True)
class Comment:
    """A stored comment with everything intake and the workers recorded about it."""

    id: str
    thread: str
    body: str
    author_name: str
    created_at: float
    status: CommentStatus
    author_email: str = ""
    author_url: str = ""
    parent_id: str = ""
    ip: str = ""
    user_agent: str = ""
    request_id: str = ""
    honeypot: bool = False
    too_fast: bool = False
    score: float | None = None
    model_version: str = ""
    reasons: list[str] = field(default_factory=list)
    decided_at: float | None = None
    moderated_by: str = ""
    #: The earning comment of the valid commenter token this comment came with ('' for
    #: none): the worker trusts the author while that comment is still published.
    vouched_by: str = ""
    #: The site the comment was posted to (:mod:`service.core.sites`).
    site: str = DEFAULT_SITE
    #: The page the commenter came from, as the site's server reported it ('' for none).
    referrer: str = ""

    def to_redis(self) -> dict[str, str]:
        """Flatten into the string fields of a new Redis hash.

        Optional fields still at their default are left out (:meth:`from_redis` puts
        the defaults back): a new comment is stored with fewer fields, in a smaller
        command.
        """
        out: dict[str, str] = {}
        for key, default in _STORED_FIELDS:
            value = getattr(self, key)
            if value is None or value == default:
                continue
            if isinstance(value, bool):
                out[key] = "1" if value else "0"
            elif isinstance(value, list):
                out[key] = json.dumps(value)
            else:
                out[key] = str(value)
        return out

    @classmethod
    def from_redis(cls, raw: Mapping[Any, Any]) -> Comment:
        """Rebuild a comment from the fields of its Redis hash."""
        data: dict[str, str] = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in raw.items()
        }
        score = data.get("score")
        decided = data.get("decided_at")
        return cls(
            id=data["id"],
            thread=data["thread"],
            body=data.get("body", ""),
            author_name=data.get("author_name", ""),
            created_at=float(data["created_at"]),
            status=CommentStatus(data["status"]),
            author_email=data.get("author_email", ""),
            author_url=data.get("author_url", ""),
            parent_id=data.get("parent_id", ""),
            ip=data.get("ip", ""),
            user_agent=data.get("user_agent", ""),
            request_id=data.get("request_id", ""),
            honeypot=data.get("honeypot") == "1",
            too_fast=data.get("too_fast") == "1",
            score=float(score) if score not in (None, "") else None,
            model_version=data.get("model_version", ""),
            reasons=json.loads(data["reasons"]) if data.get("reasons") else [],
            decided_at=float(decided) if decided not in (None, "") else None,
            moderated_by=data.get("moderated_by", ""),
            vouched_by=data.get("vouched_by", ""),
            site=data.get("site", DEFAULT_SITE),
            referrer=data.get("referrer", ""),
        )

    @property
    def public_status(self) -> CommentStatus:
        """The status anyone holding the comment's id may see.

        Spam is shown as held, awaiting a moderator: a spammer polling the status URL
        or reading the demo page cannot tell whether the classifier caught the text,
        so cannot tune it against the classifier.
        """
        return CommentStatus.HELD if self.status is CommentStatus.SPAM else self.status

    def public_view(self) -> dict[str, Any]:
        """Fields anyone may see: no e-mail, IP or user agent."""
        return {
            "id": self.id,
            "parent_id": self.parent_id or None,
            "author_name": self.author_name,
            "author_url": self.author_url or None,
            "body": self.body,
            "created_at": isoformat(self.created_at),
        }


#: Stands for "no default": a required field is always stored.
_REQUIRED = object()


def _default(spec: Field[Any]) -> object:
    if spec.default is not MISSING:
        return spec.default
    if spec.default_factory is not MISSING:
        return spec.default_factory()
    return _REQUIRED


#: Each field of a comment and its default (or :data:`_REQUIRED`).
_STORED_FIELDS = tuple((spec.name, _default(spec)) for spec in fields(Comment))


def isoformat(timestamp: float) -> str:
    """Render an epoch timestamp as ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")
