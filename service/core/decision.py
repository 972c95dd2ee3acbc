"""The decision policy: what happens to a comment given its score and the rules.

Pure functions, so every rule is testable without Redis or a model.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.core.store import CommentStatus

# Machine-readable reasons recorded with every decision.
MODEL_SCORE = "model_score"
HONEYPOT = "honeypot"
LINKS = "links"
BLOCKLIST = "blocklist"
TOO_FAST = "too_fast"
PREMODERATION = "premoderation"
PREVIOUSLY_APPROVED = "previously_approved"  # carried a valid commenter token: no mid-score hold
ALLOWLIST = "allowlist"
UNFAMILIAR = "unfamiliar"  # confident, but unlike what the model learnt from: a moderator decides
PHONE_NUMBERS = "phone_numbers"
CAMPAIGN = "campaign"  # a near-copy of a comment a moderator marked as spam


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


def decide(facts: Facts, policy: Policy) -> tuple[CommentStatus, tuple[str, ...]]:
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
    holds: list[str] = []
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
