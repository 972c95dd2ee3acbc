import pytest

from service.core.decision import Facts, Policy, decide
from service.core.store import CommentStatus

POLICY = Policy(publish_below=0.2, spam_above=0.9, max_links=2)


@pytest.mark.parametrize(
    ("facts", "policy", "status", "reasons"),
    [
        (Facts(score=0.05), POLICY, "published", ("model_score",)),
        (Facts(score=0.5), POLICY, "held", ("model_score",)),
        (Facts(score=0.95), POLICY, "spam", ("model_score",)),
        (Facts(score=0.9), POLICY, "spam", ("model_score",)),
        (Facts(score=0.95, views_agree=False), POLICY, "held", ("model_score", "unfamiliar")),
        (
            Facts(score=0.95, views_agree=False, allowlisted=True),
            POLICY,
            "held",
            ("model_score", "unfamiliar"),
        ),
        (Facts(score=0.05, campaign=True), POLICY, "spam", ("campaign",)),
        (Facts(score=0.05, campaign=True, allowlisted=True), POLICY, "spam", ("campaign",)),
        (Facts(score=0.05, honeypot=True), POLICY, "spam", ("honeypot",)),
        (Facts(score=0.05, blocklisted=True), POLICY, "spam", ("blocklist",)),
        (Facts(score=0.05, links=3), POLICY, "held", ("links",)),
        (Facts(score=0.05, links=2), POLICY, "published", ("model_score",)),
        (Facts(score=0.05, phone_numbers=1), POLICY, "held", ("phone_numbers",)),
        (
            Facts(score=0.05, phone_numbers=1),
            Policy(publish_below=0.2, spam_above=0.9, max_links=2, max_phone_numbers=1),
            "published",
            ("model_score",),
        ),
        (
            Facts(score=0.5, links=5, too_fast=True),
            POLICY,
            "held",
            ("model_score", "links", "too_fast"),
        ),
        (Facts(score=0.05, too_fast=True), POLICY, "held", ("too_fast",)),
        (Facts(score=0.5, previously_approved=True), POLICY, "published", ("previously_approved",)),
        (Facts(score=0.95, previously_approved=True), POLICY, "spam", ("model_score",)),
        (Facts(score=0.05, previously_approved=True), POLICY, "published", ("model_score",)),
        # A known author keeps the link, phone-number and too-fast holds (issue 13).
        (Facts(score=0.5, previously_approved=True, links=3), POLICY, "held", ("links",)),
        (Facts(score=0.05, previously_approved=True, links=3), POLICY, "held", ("links",)),
        (
            Facts(score=0.5, previously_approved=True, phone_numbers=1),
            POLICY,
            "held",
            ("phone_numbers",),
        ),
        (Facts(score=0.5, previously_approved=True, too_fast=True), POLICY, "held", ("too_fast",)),
        (
            Facts(score=0.95, previously_approved=True, views_agree=False),
            POLICY,
            "held",
            ("model_score", "unfamiliar"),
        ),
        (
            Facts(score=0.05, previously_approved=True, blocklisted=True),
            POLICY,
            "spam",
            ("blocklist",),
        ),
        (Facts(score=0.5, allowlisted=True), POLICY, "published", ("allowlist",)),
        (
            Facts(score=0.05),
            Policy(publish_below=0.2, spam_above=0.9, max_links=2, premoderation=True),
            "held",
            ("premoderation",),
        ),
        (
            Facts(score=0.05, previously_approved=True),
            Policy(publish_below=0.2, spam_above=0.9, max_links=2, premoderation=True),
            "held",
            ("premoderation",),
        ),
    ],
)
def test_decide(facts: Facts, policy: Policy, status: str, reasons: tuple[str, ...]) -> None:
    assert decide(facts, policy) == (CommentStatus(status), reasons)
