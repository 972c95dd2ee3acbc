"""The Akismet protocol's core: reading fields, and when spam is blatant."""

from __future__ import annotations

import time

import pytest

from service.core.akismet import MissingFieldError, blatant, read_submission
from service.core.akismet.checking import discard_above
from service.core.decision import Policy, Reason
from service.core.store import Comment, CommentStatus, Decision

POLICY = Policy(publish_below=0.05, spam_above=0.6, max_links=3)
COMMENT = Comment(
    id="c1",
    thread="t",
    body="b",
    author_name="a",
    created_at=time.time(),
    status=CommentStatus.PENDING,
)


def decision(status: str, score: float, *reasons: Reason) -> Decision:
    return Decision(COMMENT, CommentStatus(status), score, "cg-test", tuple(reasons))


def test_discard_starts_a_quarter_of_the_way_from_spam_above_to_certainty() -> None:
    assert discard_above(POLICY) == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        (decision("spam", 0.95, Reason.MODEL_SCORE), True),
        (decision("spam", 0.7, Reason.MODEL_SCORE), False),
        (decision("spam", 0.1, Reason.BLOCKLIST), True),
        (decision("spam", 0.1, Reason.CAMPAIGN), True),
        (decision("spam", 0.99, Reason.HONEYPOT), False),
        (decision("held", 0.99, Reason.MODEL_SCORE, Reason.UNFAMILIAR), False),
        (decision("published", 0.01, Reason.MODEL_SCORE), False),
    ],
)
def test_blatant(made: Decision, expected: bool) -> None:
    assert blatant(made, POLICY) is expected


def test_read_submission_ignores_unknown_fields_and_requires_blog_and_ip() -> None:
    form = {
        "blog": "https://b.example/",
        "user_ip": " 203.0.113.1 ",
        "comment_author": "Kim",
        "comment_content": "hello",
        "is_test": "false",
        "HTTP_ACCEPT": "*/*",
        "POST_whatever": "x",
    }
    submission = read_submission(form)
    assert (submission.user_ip, submission.author, submission.is_test) == (
        "203.0.113.1",
        "Kim",
        False,
    )
    assert submission.thread == "https://b.example/"
    assert (
        read_submission({**form, "permalink": "https://b.example/p"}).thread
        == "https://b.example/p"
    )
    assert read_submission({**form, "is_test": "1"}).is_test
    for field in ("blog", "user_ip"):
        with pytest.raises(MissingFieldError, match=field):
            read_submission({**form, field: " "})


def test_the_fingerprint_folds_white_space_only() -> None:
    base = {"blog": "b", "user_ip": "192.0.2.1", "comment_author": "Kim"}
    one = read_submission({**base, "comment_content": "two  words\r\nhere"})
    two = read_submission({**base, "comment_content": "two words here"})
    other = read_submission({**base, "comment_content": "two words there"})
    assert one.fingerprint() == two.fingerprint() != other.fingerprint()
