"""The decision policy: what happens to a comment given its score and the rules.

This module is the one place that names the reasons a decision records (with the
labels people read for them) and resolves the thresholds in force (the settings'
overrides, else the model card's). The decision itself is a pure function, so every
rule is testable without Redis or a model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from classifier import DEFAULT_MODEL_PATH, card_path
from service.core.store import CommentStatus

if TYPE_CHECKING:
    from service.core.settings import Settings

logger = logging.getLogger(__name__)

Tone = Literal["danger", "warning", "neutral", "good"]


class Reason(StrEnum):
    """Machine-readable reasons recorded with every decision (stored and in the API)."""

    MODEL_SCORE = "model_score"
    HONEYPOT = "honeypot"
    LINKS = "links"
    BLOCKLIST = "blocklist"
    TOO_FAST = "too_fast"
    PREMODERATION = "premoderation"
    #: Carried a valid commenter token: no mid-score hold.
    PREVIOUSLY_APPROVED = "previously_approved"
    ALLOWLIST = "allowlist"
    #: Confident, but unlike what the model learnt from: a moderator decides.
    UNFAMILIAR = "unfamiliar"
    PHONE_NUMBERS = "phone_numbers"
    #: A near-copy of a comment a moderator marked as spam.
    CAMPAIGN = "campaign"

    @property
    def label(self) -> str:
        """What moderators read for this reason."""
        return _LABELS[self][0]

    @property
    def tone(self) -> Tone:
        """How the moderation UI colours this reason."""
        return _LABELS[self][1]


_LABELS: dict[Reason, tuple[str, Tone]] = {
    Reason.MODEL_SCORE: ("Model score", "neutral"),
    Reason.HONEYPOT: ("Honeypot filled", "danger"),
    Reason.LINKS: ("Many links", "warning"),
    Reason.PHONE_NUMBERS: ("Phone number", "warning"),
    Reason.BLOCKLIST: ("On block list", "danger"),
    Reason.TOO_FAST: ("Posted too fast", "warning"),
    Reason.PREMODERATION: ("Premoderation", "neutral"),
    Reason.PREVIOUSLY_APPROVED: ("Known author", "good"),
    Reason.ALLOWLIST: ("On allow list", "good"),
    Reason.UNFAMILIAR: ("Unlike the training data", "warning"),
    Reason.CAMPAIGN: ("Copy of marked spam", "danger"),
}

MODEL_SCORE = Reason.MODEL_SCORE
HONEYPOT = Reason.HONEYPOT
LINKS = Reason.LINKS
BLOCKLIST = Reason.BLOCKLIST
TOO_FAST = Reason.TOO_FAST
PREMODERATION = Reason.PREMODERATION
PREVIOUSLY_APPROVED = Reason.PREVIOUSLY_APPROVED
ALLOWLIST = Reason.ALLOWLIST
UNFAMILIAR = Reason.UNFAMILIAR
PHONE_NUMBERS = Reason.PHONE_NUMBERS
CAMPAIGN = Reason.CAMPAIGN


@dataclass(frozen=True, slots=True)
class Policy:
    """Thresholds and switches of the decision."""

    publish_below: float
    spam_above: float
    max_links: int
    premoderation: bool = False
    max_phone_numbers: int = 0


@dataclass(frozen=True, slots=True)
class Facts:
    """What the worker knows about one comment when deciding it."""

    score: float
    views_agree: bool = True
    campaign: bool = False
    links: int = 0
    phone_numbers: int = 0
    honeypot: bool = False
    too_fast: bool = False
    blocklisted: bool = False
    allowlisted: bool = False
    #: The comment carried a commenter token whose earning comment is still published
    #: (:mod:`service.core.commenter_tokens`); a bare e-mail address never sets it.
    previously_approved: bool = False


def decide(facts: Facts, policy: Policy) -> tuple[CommentStatus, tuple[Reason, ...]]:
    """Decide a comment.

    Order of precedence: the honeypot, the blocklist and the campaign memory (a near-copy
    of a comment moderators marked as spam) file as spam outright; a score at or above
    ``spam_above`` files as spam when the model's views agree, and holds it for a
    moderator when they do not (the comment is unlike what the model learnt from: never
    lose a real comment on a guess); pre-moderation holds; an allow-listed author is
    published; otherwise the score publishes or holds, and too many links or phone
    numbers or a too-fast captcha hold what the score would publish. A previously
    approved author (one proving an earlier published comment with a commenter token)
    skips only the score's hold: the link, phone-number and too-fast holds still apply,
    so a stolen or shared token cannot carry a link drop.

    Args:
        facts: The score and signals of the comment.
        policy: The thresholds and switches in force.

    Returns:
        The status and the reasons that led to it.
    """
    if facts.honeypot:
        return CommentStatus.SPAM, (HONEYPOT,)
    if facts.blocklisted:
        return CommentStatus.SPAM, (BLOCKLIST,)
    if facts.campaign:
        return CommentStatus.SPAM, (CAMPAIGN,)
    if facts.score >= policy.spam_above:
        if facts.views_agree:
            return CommentStatus.SPAM, (MODEL_SCORE,)
        return CommentStatus.HELD, (MODEL_SCORE, UNFAMILIAR)
    if policy.premoderation:
        return CommentStatus.HELD, (PREMODERATION,)
    if facts.allowlisted:
        return CommentStatus.PUBLISHED, (ALLOWLIST,)
    holds: list[Reason] = []
    mid_score = facts.score >= policy.publish_below
    if mid_score and not facts.previously_approved:
        holds.append(MODEL_SCORE)
    if facts.links > policy.max_links:
        holds.append(LINKS)
    if facts.phone_numbers > policy.max_phone_numbers:
        holds.append(PHONE_NUMBERS)
    if facts.too_fast:
        holds.append(TOO_FAST)
    if holds:
        return CommentStatus.HELD, tuple(holds)
    if mid_score:  # published on the author's standing, not on the score
        return CommentStatus.PUBLISHED, (PREVIOUSLY_APPROVED,)
    return CommentStatus.PUBLISHED, (MODEL_SCORE,)


#: Thresholds when neither the settings nor a model card give them (a card without
#: thresholds is refused when a model loads, so only the moderation UI's meter uses it).
FALLBACK_THRESHOLDS = {"publish_below": 0.5, "spam_above": 0.8}


def policy_for(card: Mapping[str, Any], settings: Settings) -> Policy:
    """The decision policy in force: the model card's thresholds unless the settings override.

    The workers call it with the card of the model they decide with (the base model's
    or a site model's); the moderation UI with the current model's card from the
    registry, so both agree on the thresholds.

    Args:
        card: The model card (its ``thresholds``: ``publish_below``, ``spam_above``).
        settings: The settings (threshold overrides and the rules' switches).

    Returns:
        The policy.
    """
    thresholds = {**FALLBACK_THRESHOLDS, **card.get("thresholds", {})}
    publish_below = settings.publish_below
    spam_above = settings.spam_above
    return Policy(
        publish_below=(
            float(thresholds["publish_below"]) if publish_below is None else publish_below
        ),
        spam_above=float(thresholds["spam_above"]) if spam_above is None else spam_above,
        max_links=settings.max_links,
        max_phone_numbers=settings.max_phone_numbers,
        premoderation=settings.premoderation,
    )


def read_card(model_path: Path | None) -> dict[str, Any]:
    """The card of a model file (``None``: the shipped model's), or ``{}`` if unreadable.

    Read as JSON, so a caller that only needs the thresholds does not load the model.
    """
    card = card_path(model_path or DEFAULT_MODEL_PATH)
    try:
        found = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        logger.info("no model card at %s; fallback thresholds apply", card)
        return {}
    return found if isinstance(found, dict) else {}
