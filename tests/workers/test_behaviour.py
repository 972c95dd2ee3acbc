"""Behaviour of the shipped model and the decision on comments of kinds it never saw.

Blogs and news sites are not the 2014 music videos and text messages the model learnt
from. A reader's on-topic comment must not become spam because it carries a link, a code
block, an error message, an IP address or an e-mail address; and the spam families of
such sites must not be published. All examples are written for these tests.
"""

from __future__ import annotations

import pytest

from classifier import CommentInput, count_links, count_phones, load_model
from service.core.decision import Facts, decide, policy_for
from service.core.settings import Settings
from service.core.store import CommentStatus

MODEL = load_model()
POLICY = policy_for(MODEL.card, Settings(env="development"))

GENUINE = [
    "I disagree with the conclusion: the survey only asked people in two cities.",
    "Thanks for the walkthrough. Step four did not work for me on the first try.",
    "Our team moved to this approach last spring and the build got much faster.",
    "Could you say more about how the cache is invalidated after a deploy?",
    "The council meeting was on Tuesday, not Monday, but otherwise a fair summary.",
    "My grandmother made this soup every winter; she added a bay leaf at the end.",
    "Great explanation of the borrow checker, the diagrams really helped me.",
    "I tried the recipe with less sugar and it was still lovely.",
]

ADDITIONS = {
    "url": "The numbers are here: https://data.example.org/reports/2024/summary.pdf",
    "code": "My config:\n```\nworkers = 4\ntimeout = 30\n```",
    "error": "It fails with: ImportError: cannot import name 'build' from 'setup' (line 12)",
    "ip": "The server at 10.20.30.40:8080 refuses the connection.",
    "email": "Write to me at reader.name@example.net if you want the full log.",
}

SPAM_FAMILIES = {
    "support phone": [
        "Facing printer problems? Call our certified support line 1-800-555-0142 now, "
        "technicians available day and night",
        "Best antivirus customer care, dial +1 (888) 555-0177 for instant refund help",
    ],
    "great post, visit my site": [
        "Great post, very informative! Visit my site for more tips http://tips-hub.example.biz",
        "Nice article, keep it up. Check out my blog too: www.my-best-deals.example.info",
    ],
    "investment testimonial": [
        "I invested $500 with Mr. Daniel and got $12,000 in two weeks. Contact him on "
        "WhatsApp +44 7700 900123",
        "My life changed when I started trading with Mrs. Clark, I now earn $8,000 every "
        "week. Text her on +1 202 555 0147",
    ],
    "casino": [
        "Play at the best online casino, 200% welcome bonus and free spins every day at "
        "http://luckyspin-casino.example",
        "Win real money tonight! Top slots and jackpot bonus at royal-bet.example.com",
    ],
    "pharmacy": [
        "Buy cheap viagra and cialis online without prescription, fast discreet shipping "
        "at pharma-shop.example.net",
        "Cheap pills online, no prescription needed, order now at meds-now.example",
    ],
    "SEO backlinks": [
        "We sell high quality SEO backlinks, guaranteed first page ranking, cheap "
        "packages at seo-links.example",
        "Boost your website traffic with our link building service, visit rank-fast.example.com",
    ],
}


def decision(text: str) -> tuple[CommentStatus, tuple[str, ...]]:
    assessment = MODEL.assess([CommentInput(text, author_name="Reader")])
    facts = Facts(
        score=float(assessment.probability[0]),
        views_agree=bool(assessment.views_agree[0]),
        links=count_links(text),
        phone_numbers=count_phones(text),
    )
    return decide(facts, POLICY)


@pytest.mark.parametrize("text", GENUINE)
def test_genuine_comments_are_never_filed_as_spam(text: str) -> None:
    assert decision(text)[0] is not CommentStatus.SPAM


@pytest.mark.parametrize("kind", sorted(ADDITIONS))
@pytest.mark.parametrize("text", GENUINE)
def test_an_artefact_does_not_turn_a_genuine_comment_into_spam(kind: str, text: str) -> None:
    for joined in (f"{text} {ADDITIONS[kind]}", f"{ADDITIONS[kind]}\n{text}"):
        status, reasons = decision(joined)
        assert status is not CommentStatus.SPAM, (kind, reasons)


@pytest.mark.parametrize(
    ("family", "text"), [(f, t) for f, texts in SPAM_FAMILIES.items() for t in texts]
)
def test_spam_families_of_blogs_are_not_published(family: str, text: str) -> None:
    status, reasons = decision(text)
    assert status is not CommentStatus.PUBLISHED, (family, reasons)


def test_the_old_failure_is_fixed() -> None:
    """The issue's example: filed as spam (0.86) by the YouTube-only model."""
    text = "I disagree with the conclusion, the data at https://example.org/data says otherwise"
    assert decision(text)[0] is not CommentStatus.SPAM
