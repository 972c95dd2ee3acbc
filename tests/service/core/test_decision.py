from pathlib import Path

import pytest

from service.core.decision import (
    FALLBACK_THRESHOLDS,
    Facts,
    Policy,
    Reason,
    decide,
    policy_for,
    read_card,
)
from service.core.settings import Settings
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


def test_the_policy_takes_the_cards_thresholds_unless_the_settings_override() -> None:
    card = {"thresholds": {"publish_below": 0.3, "spam_above": 0.7}}
    policy = policy_for(card, Settings(env="development", max_links=4))
    assert (policy.publish_below, policy.spam_above, policy.max_links) == (0.3, 0.7, 4)
    overridden = policy_for(card, Settings(env="development", spam_above=0.9))
    assert (overridden.publish_below, overridden.spam_above) == (0.3, 0.9)
    fallback = policy_for({}, Settings(env="development"))
    assert (fallback.publish_below, fallback.spam_above) == (
        FALLBACK_THRESHOLDS["publish_below"],
        FALLBACK_THRESHOLDS["spam_above"],
    )


def test_the_shipped_card_is_read_without_loading_the_model(tmp_path: Path) -> None:
    shipped = read_card(None)
    assert 0 < shipped["thresholds"]["publish_below"] < shipped["thresholds"]["spam_above"] < 1
    assert read_card(tmp_path / "nowhere.skops") == {}


def test_every_reason_has_a_label_people_read() -> None:
    assert len({reason.label for reason in Reason}) == len(Reason)
    assert Reason("links").label == "Many links"
