"""Judging comments: the facts about each (score, lists, campaigns, tokens) and its decision.

The one path from stored comments to decisions, shared by the workers (batches taken
from the pending queue) and the web process answering the Akismet protocol's
synchronous ``comment-check``. The caller chooses the model, policy and campaign
memory of the comments' site and refreshes them; nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from classifier import CommentInput, SpamModel, count_links, count_phones
from service.core.campaigns import CampaignMemory
from service.core.decision import Facts, Policy, decide
from service.core.store import Comment, CommentStore, Decision
from service.core.store.lists import ListMatcher

__all__ = ["SiteJudge", "comment_input"]


def comment_input(comment: Comment) -> CommentInput:
    """What the model sees of a stored comment."""
    return CommentInput(
        text=comment.body,
        author_name=comment.author_name or None,
        author_url=comment.author_url or None,
        author_email=comment.author_email or None,
    )


@dataclass(frozen=True, slots=True)
class SiteJudge:
    """What one site's comments are judged with.

    A snapshot: the caller refreshes the model, campaign memory and lists, and may
    judge with one judge for as long as it chooses (a worker's batch; a second of the
    web process's Akismet checks).

    Attributes:
        model: The model in use for the site (its base, or its promoted site model).
        policy: The decision policy in force for the site.
        campaigns: The site's campaign memory (refreshed by the caller).
        blocked: The site's block list, compiled.
        allowed: The site's allow list, compiled.
        store: The comment store (for the commenter tokens' earning comments).
    """

    model: SpamModel
    policy: Policy
    campaigns: CampaignMemory
    blocked: ListMatcher
    allowed: ListMatcher
    store: CommentStore

    def judge(self, comments: Sequence[Comment]) -> list[Decision]:
        """Score the comments together and decide each (nothing is written).

        Args:
            comments: Comments of this judge's site.

        Returns:
            One decision per comment, in order.
        """
        if not comments:
            return []
        assessment = self.model.assess([comment_input(c) for c in comments])
        campaigns = self.campaigns.match_many([c.body for c in comments])
        blocked, allowed = self.blocked, self.allowed
        approved = self.store.previously_approved(comments)  # commenter tokens still vouching
        decisions = []
        for comment, score, agree, campaign, earlier in zip(
            comments,
            assessment.probability,
            assessment.views_agree,
            campaigns,
            approved,
            strict=True,
        ):
            facts = Facts(
                score=float(score),
                views_agree=bool(agree),
                campaign=campaign is not None and not campaign.conflict,
                links=count_links(comment.body),
                phone_numbers=count_phones(comment.body),
                honeypot=comment.honeypot,
                too_fast=comment.too_fast,
                blocklisted=blocked.matches(comment),
                allowlisted=allowed.matches(comment),
                previously_approved=earlier,
            )
            status, reasons = decide(facts, self.policy)
            decisions.append(
                Decision(
                    comment=comment,
                    status=status,
                    score=facts.score,
                    model_version=self.model.version,
                    reasons=reasons,
                )
            )
        return decisions
