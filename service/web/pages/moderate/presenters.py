"""What the moderation templates show: comments as cards, reasons as chips, safe links.

Everything here turns stored data into plain strings and numbers; the templates
escape all of it (comment fields are hostile input) and never mark anything safe.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from service.core.decision import Policy, Reason, Tone
from service.core.privacy import is_pseudonym
from service.core.store import Comment

logger = logging.getLogger(__name__)

#: How many avatar colour classes moderate.css defines (``avatar--0`` ...).
AVATAR_COLOURS = 8


@dataclass(frozen=True, slots=True)
class Chip:
    """One reason a comment was filed where it is."""

    code: str
    label: str
    tone: Tone


@dataclass(frozen=True, slots=True)
class ScoreBands:
    """Where the score meter turns from fine to doubtful to spam.

    Attributes:
        low: Scores below this are shown as fine (the publish threshold).
        high: Scores at or above this are shown as spam (the spam threshold).
    """

    low: float
    high: float

    def band(self, score: float) -> Literal["low", "mid", "high"]:
        """Which band ``score`` falls in."""
        if score < self.low:
            return "low"
        return "high" if score >= self.high else "mid"


def score_bands(policy: Policy) -> ScoreBands:
    """The meter's bands: the thresholds of the policy the workers decide with."""
    return ScoreBands(low=policy.publish_below, high=policy.spam_above)


@dataclass(frozen=True, slots=True)
class CommentCard:
    """A comment as the queue page shows it."""

    id: str
    status: str
    thread: str
    parent_id: str
    author_name: str
    author_email: str
    author_url: str
    ip: str
    initial: str
    avatar_class: str
    created_iso: str
    created_label: str
    created_ago: str
    body: str
    score: float | None
    score_label: str
    score_band: str
    reasons: list[Chip]
    model_version: str
    moderated_by: str
    ip_hashed: bool = False
    site: str = "default"

    @classmethod
    def of(cls, comment: Comment, bands: ScoreBands, now: datetime) -> CommentCard:
        """Build the card of a stored comment.

        Args:
            comment: Any comment of a moderation queue.
            bands: The score thresholds, for the meter's colour.
            now: The time the page is rendered (for "5 min ago").

        Returns:
            The card; its strings are raw (the template escapes them).
        """
        name = comment.author_name.strip() or "Anonymous"
        created = datetime.fromtimestamp(comment.created_at, UTC)
        digest = hashlib.sha256(name.casefold().encode()).digest()
        score = comment.score
        return cls(
            id=comment.id,
            status=comment.status.value,
            thread=comment.thread,
            parent_id=comment.parent_id,
            author_name=name,
            author_email=comment.author_email,
            author_url=comment.author_url,
            ip=comment.ip,
            initial=next((ch.upper() for ch in name if ch.isalnum()), "?"),
            avatar_class=f"avatar--{int.from_bytes(digest[:4], 'big') % AVATAR_COLOURS}",
            created_iso=created.isoformat(timespec="seconds"),
            created_label=f"{created:%d %b %Y, %H:%M} UTC",
            created_ago=time_ago(created, now),
            body=comment.body,
            score=score,
            score_label=f"{score:.2f}" if score is not None else "not scored",
            score_band=bands.band(score) if score is not None else "none",
            reasons=[chip(code) for code in comment.reasons],
            model_version=comment.model_version,
            moderated_by=comment.moderated_by,
            ip_hashed=is_pseudonym(comment.ip),
            site=comment.site,
        )


def chip(code: str) -> Chip:
    """The chip for a machine reason such as ``"links"``."""
    try:
        reason = Reason(code)
    except ValueError:  # a reason of a newer or older version: shown as it is
        return Chip(code=code, label=code.replace("_", " ").capitalize(), tone="neutral")
    return Chip(code=code, label=reason.label, tone=reason.tone)


def time_ago(moment: datetime, now: datetime) -> str:
    """Say how long ago ``moment`` was, e.g. ``"just now"``, ``"5 min ago"``, ``"3 days ago"``."""
    seconds = int((now - moment).total_seconds())
    if seconds < 60:
        return "just now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h ago"
    days = hours // 24
    return "yesterday" if days == 1 else f"{days} days ago"


def local_path(value: str | None, prefix: str) -> str | None:
    """``value`` when it is a path on this site under ``prefix``, else ``None``.

    Used for the "go back to" fields of forms, so a crafted form can never redirect a
    moderator to another site (no scheme, no host, no ``//`` or backslash tricks).

    Args:
        value: A path with an optional query, e.g. ``/moderate/spam?q=casino``.
        prefix: The path it must lie under, e.g. ``/moderate``.

    Returns:
        The path and query (without a fragment), or ``None``.
    """
    if not value or len(value) > 2048 or any(ch in value for ch in "\\\r\n\t\0"):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme or parts.netloc or value.startswith("//"):
        return None
    if parts.path != prefix and not parts.path.startswith(prefix.rstrip("/") + "/"):
        return None
    return urlunsplit(("", "", parts.path, parts.query, ""))
