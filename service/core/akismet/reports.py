"""``submit-spam`` and ``submit-ham``: a site's own moderators correcting a verdict.

A report is a moderation decision by the site: it goes through
:func:`~service.core.moderation.apply_decision`, the path moderators' clicks take,
labelled by ``site:<name>`` (:func:`labeller`). So it moves the comment to spam or
publishes it, teaches the site's campaign memory at once and adds a label to the
feedback stream that the site's learning reads (issue 12), where every report of a site
counts as one labeller under the per-labeller cap (``workers/feedback.py``): a site
cannot outweigh its own moderators however much it reports.

The comment is found by its ``guid`` or, failing that, by its text, author and address
(:meth:`~service.core.akismet.checking.AkismetChecker.find`); a comment never checked
(or checked more than 30 days ago) is stored first, judged like a check, then labelled.
A test call (``is_test``) changes nothing.
"""

from __future__ import annotations

import logging
from typing import Literal

from service.core.akismet.checking import AkismetChecker, new_comment
from service.core.akismet.fields import Submission
from service.core.moderation import Action, UnknownCommentError, apply_decision
from service.core.sites import Site

__all__ = ["LABELLER_PREFIX", "labeller", "report"]

logger = logging.getLogger(__name__)

#: Labellers of reports: ``site:<name>``, never a moderator's name (those match
#: ``[a-z0-9_.-]``, without a colon) nor an import's (``import:...``).
LABELLER_PREFIX = "site:"
_ACTIONS = {"spam": Action.SPAM, "ham": Action.APPROVE}


def labeller(site: Site) -> str:
    """Who a site's reports are labelled by."""
    return LABELLER_PREFIX + site.name


def report(
    checker: AkismetChecker,
    site: Site,
    submission: Submission,
    label: Literal["spam", "ham"],
    *,
    request_id: str = "",
) -> str:
    """Apply a site's report to the comment it is about.

    Args:
        checker: The process's checker (its clients, and the judge for a new comment).
        site: The reporting site.
        submission: The reported comment, as the client describes it.
        label: ``spam`` or ``ham``.
        request_id: The request's id (carried by the model update it queues).

    Returns:
        The id of the comment labelled (``''`` for a test call).
    """
    if submission.is_test:
        return ""
    comment = checker.find(site, submission)
    comment_id = (
        comment.id if comment is not None else _store(checker, site, submission, request_id)
    )
    try:
        outcome = apply_decision(
            checker.clients, [comment_id], _ACTIONS[label], labeller(site), request_id=request_id
        )[0]
    except UnknownCommentError:  # purged between the look-up and the decision
        comment_id = _store(checker, site, submission, request_id)
        outcome = apply_decision(
            checker.clients, [comment_id], _ACTIONS[label], labeller(site), request_id=request_id
        )[0]
    logger.info(
        "site %s reported comment %s as %s: %s -> %s",
        site.name,
        comment_id,
        label,
        outcome.previous,
        outcome.current,
    )
    return comment_id


def _store(checker: AkismetChecker, site: Site, submission: Submission, request_id: str) -> str:
    """Store a reported comment never checked (or no longer known), judged like a check."""
    decision, _ = checker.judge(site, new_comment(site, submission, request_id=request_id))
    checker.record(site, decision, submission.fingerprint())
    logger.info("site %s reported an unknown comment; stored as %s", site.name, decision.comment.id)
    return decision.comment.id
