"""The moderation UI's queues and its decisions, on one comment or on the selected ones.

Decisions go through :func:`service.core.moderation.apply_decision`, the path the JSON
API uses, and answer with a redirect back to the queue and a flash message.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response

from service.core.decision import policy_for, read_card
from service.core.exceptions import BadRequestError
from service.core.model_registry import ModelRegistry
from service.core.moderation import (
    QUEUE_STATUSES,
    Action,
    Moderation,
    StatusConflictError,
    UnknownCommentError,
    apply_decision,
    visible_sites,
)
from service.core.store import CommentStatus, InvalidCursorError
from service.web.api.schemas import ID_PATTERN
from service.web.apidoc.replies import COMMENT_ID, NOT_FOUND, page
from service.web.pages.moderate.blueprint import URL_PREFIX, bp, render
from service.web.pages.moderate.docs import BulkForm, DecisionForm, QueueFilter, ui_doc
from service.web.pages.moderate.presenters import CommentCard, local_path, score_bands
from service.web.services import services

logger = logging.getLogger(__name__)

#: Comments per page of a queue.
PAGE_SIZE = 20
#: Most comments one bulk action may take (the API allows as many).
BULK_MAX = 500
#: The queues, in tab order.
TABS: tuple[tuple[str, str], ...] = (
    ("held", "Held"),
    ("spam", "Spam"),
    ("published", "Published"),
    ("rejected", "Rejected"),
)
#: What each action did, for the flash message: (one comment, several comments).
DONE: dict[Action, tuple[str, str]] = {
    Action.APPROVE: ("Approved: the comment is published.", "Approved {n} comments."),
    Action.SPAM: ("Marked as spam.", "Marked {n} comments as spam."),
    Action.REJECT: ("Rejected.", "Rejected {n} comments."),
}
#: The keyboard shortcuts moderate.js offers, for the help dialog.
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("j", "Next comment"),
    ("k", "Previous comment"),
    ("a", "Approve the current comment"),
    ("s", "Mark the current comment as spam"),
    ("r", "Reject the current comment"),
    ("x", "Select or unselect the current comment"),
    ("/", "Search"),
    ("?", "Show these shortcuts"),
)


@bp.get("", defaults={"status": "held"})
@bp.get("/<any(held, spam, published, rejected):status>")
@ui_doc(
    {
        200: page("The queue."),
        303: page("No session (to the login page), or a stale cursor.", "Location"),
        308: page("`/moderate/held` is `/moderate`.", "Location"),
        404: NOT_FOUND,
    },
    query=QueueFilter,
)
def queue(status: str) -> Response:
    """A queue of the moderation UI.

    One queue, newest first, filtered by thread and text, a page at a time.
    """
    thread = request.args.get("thread", "").strip()[:512]
    query = request.args.get("q", "").strip()[:200]
    cursor = request.args.get("cursor", "")[:512] or None
    site = request.args.get("site", "").strip()[:63]
    svc = services()
    site_names = [name for name in svc.sites.names() if g.moderator.sees(name)]
    if site not in site_names:
        site = ""  # an unknown site, or one this moderator may not see: every site of theirs
    sites = visible_sites(g.moderator.sites, site or None)
    moderation = Moderation(svc.redis, svc.store)
    try:
        page = moderation.queue(
            CommentStatus(status),
            limit=PAGE_SIZE,
            cursor=cursor,
            thread=thread or None,
            query=query or None,
            sites=sites,
        )
    except InvalidCursorError:
        flash("That page of the queue does not exist; here is the first page.", "error")
        return redirect(_queue_url(status, thread, query, site=site), code=303)
    base_card = read_card(svc.settings.model_path)
    policy = policy_for(ModelRegistry(svc.redis).current_card(base_card), svc.settings)
    bands = score_bands(policy)
    now = datetime.now(UTC)
    cards = [CommentCard.of(comment, bands, now) for comment in page.items]
    counts = moderation.counts(sites)
    return render(
        "moderate/queue.html",
        moderator=g.moderator,
        status=status,
        status_label=dict(TABS)[status],
        status_count=counts.get(status, 0),
        tabs=[
            (key, label, counts.get(key, 0), _queue_url(key, thread, query, site=site))
            for key, label in TABS
        ],
        pending=counts.get("pending", 0),
        thread=thread,
        query=query,
        site=site,
        site_names=site_names if len(site_names) > 1 else [],
        cards=cards,
        bands=bands,
        cursor=cursor,
        first_url=_queue_url(status, thread, query, site=site),
        next_url=(
            _queue_url(status, thread, query, page.next_cursor, site=site)
            if page.next_cursor
            else None
        ),
        here=request.full_path.rstrip("?"),
        actions=[a for a in Action if _result_of(a) != status],
        shortcuts=SHORTCUTS,
    )


def _queue_url(
    status: str, thread: str, query: str, cursor: str | None = None, *, site: str = ""
) -> str:
    args: dict[str, Any] = {"site": site, "thread": thread, "q": query, "cursor": cursor}
    return url_for(".queue", status=status, **{k: v for k, v in args.items() if v})


def _result_of(action: Action) -> str:
    """The status an action leaves a comment in."""
    return {Action.APPROVE: "published", Action.SPAM: "spam", Action.REJECT: "rejected"}[action]


# -- decisions ---------------------------------------------------------------------------


@bp.post("/comments/<comment_id>")
@ui_doc(
    {303: page("Back to the queue.", "Location")},
    form=DecisionForm,
    path={"comment_id": COMMENT_ID},
)
def act(comment_id: str) -> Response:
    """Decide on one comment.

    Approve, spam or reject it, if it is still in the status shown.
    """
    action, expected, back = _decision_form()
    if not ID_PATTERN.match(comment_id):
        raise BadRequestError("That is not a comment id.")
    if _decide([comment_id], action, expected):
        flash(DONE[action][0], "success")
    return _back(back, request.form.get("focus"))


@bp.post("/bulk")
@ui_doc({303: page("Back to the queue.", "Location")}, form=BulkForm)
def bulk() -> Response:
    """Decide on the selected comments.

    One action on every selected comment: all change, or none does.
    """
    action, expected, back = _decision_form()
    ids = request.form.getlist("ids")
    if not ids:
        flash("Select one or more comments first.", "error")
        return _back(back, None)
    if len(ids) > BULK_MAX or len(set(ids)) != len(ids):
        raise BadRequestError(f"Select at most {BULK_MAX} different comments.")
    if not all(ID_PATTERN.match(comment_id) for comment_id in ids):
        raise BadRequestError("The selection holds something that is not a comment id.")
    if _decide(ids, action, expected):
        one, many = DONE[action]
        flash(one if len(ids) == 1 else many.format(n=len(ids)), "success")
    return _back(back, None)


def _decision_form() -> tuple[Action, CommentStatus | None, str]:
    """The action, the status the moderator saw and where to go back to."""
    form = request.form
    try:
        action = Action(form.get("action", ""))
    except ValueError:
        raise BadRequestError("Choose approve, spam or reject.") from None
    seen = form.get("expected", "")
    if seen and seen not in {s.value for s in QUEUE_STATUSES}:
        raise BadRequestError("The form names an unknown status.")
    expected = CommentStatus(seen) if seen else None
    back = local_path(form.get("next"), URL_PREFIX) or url_for(".queue")
    return action, expected, back


def _decide(ids: list[str], action: Action, expected: CommentStatus | None) -> bool:
    """Apply the decision through the shared path; flash why when nothing changed."""
    try:
        apply_decision(
            services(),
            ids,
            action,
            g.moderator.name,
            expected,
            request_id=g.get("request_id", ""),
            sites=g.moderator.sites,
        )
    except StatusConflictError as exc:
        which = "this comment" if len(ids) == 1 else "one of the selected comments"
        flash(
            f"Someone else moderated {which}: it is now {exc.current}. Nothing was changed.",
            "error",
        )
        return False
    except UnknownCommentError:
        flash("That comment no longer exists (it may have been purged). Nothing changed.", "error")
        return False
    logger.info("moderator %s: %s on %s comment(s)", g.moderator.name, action.value, len(ids))
    return True


def _back(path: str, focus: str | None) -> Response:
    """Redirect to ``path``, to the comment ``focus`` when it names one."""
    anchor = f"#c-{focus}" if focus and ID_PATTERN.match(focus) else ""
    return redirect(path + anchor, code=303)
