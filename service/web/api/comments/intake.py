"""``POST /api/v1/comments``: intake, from a browser or a site's own server."""

from __future__ import annotations

import functools
import logging
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import redis
from flask import Response, g, redirect, request
from flask.typing import ResponseReturnValue

from service.core import metrics
from service.core.captcha import CaptchaError
from service.core.exceptions import (
    CaptchaInvalidError,
    ForbiddenError,
    SiteRevokedError,
    ValidationFailedError,
)
from service.core.sites import Site
from service.core.store import (
    Comment,
    CommentStatus,
    NonceSpentError,
    new_comment_id,
)
from service.core.store.keys import DEFAULT_SITE
from service.web.api.captcha import fresh_challenge
from service.web.api.comments.blueprint import bp
from service.web.api.models import (
    CommentAccepted,
    respond,
)
from service.web.api.request_body import read_body, wants_html
from service.web.api.schemas import (
    CommentSubmission,
    validate,
)
from service.web.apidoc import FORM, JSON, MULTIPART, Reply, doc
from service.web.apidoc.replies import (
    MALFORMED,
    RATE_LIMITED,
    TOO_LARGE,
    UNAVAILABLE,
    UNSUPPORTED,
    page,
    problem,
)
from service.web.apidoc.spec import SITE
from service.web.pages.demo import DEMO_THREAD, remember_receipt
from service.web.request_context import (
    current_request,
    current_url_adapter,
    request_globals,
)
from service.web.services import services

logger = logging.getLogger(__name__)

#: Outcome of a submission, by the problem code it failed with.
_OUTCOMES = {
    "captcha_invalid": "captcha_invalid",
    "validation_failed": "invalid",
    "malformed_body": "malformed",
    "payload_too_large": "malformed",
    "unsupported_media_type": "malformed",
    "rate_limited": "rate_limited",
    "site_revoked": "site_revoked",
    "unavailable": "unavailable",
}
#: Fields only a site's server may send, with its key: what it knows of the commenter.
_FORWARDED = ("user_ip", "user_agent", "referrer")


@functools.lru_cache(maxsize=1024)
def _accepted_counter(site: str) -> tuple[str, str]:
    """The counter the store adds a site's accepted comment to, in the same round trip."""
    return metrics.Metrics.counter_field(metrics.COMMENTS_RECEIVED, site=site, outcome="accepted")


@bp.after_request
def _count_rejected_submission(response: Response) -> Response:
    # Accepted submissions are counted by the store, in the same round trip. A refused
    # one is counted under its site once that is known (an existing site, never a name
    # the client sent and nothing checked): its key's, or the one intake resolved.
    if response.status_code >= 400 and request.endpoint == "comments.create":
        outcome = _OUTCOMES.get(g.get("problem_code") or "", "error")
        keyed: Site | None = g.get("site")
        site = g.get("received_site") or (keyed.name if keyed is not None else "")
        services().metrics.count(metrics.COMMENTS_RECEIVED, site=site, outcome=outcome)
    return response


def _captcha_failed(reason: str) -> CaptchaInvalidError:
    services().metrics.count(metrics.CAPTCHA_FAILURES, reason=reason)
    return CaptchaInvalidError(
        "the captcha was not solved; answer the new one",
        errors={"captcha_answer": reason.replace("_", " ")},
        extra={"reason": reason, "captcha": fresh_challenge().to_json()},
    )


#: The poster's comment id, as a path parameter.


@bp.post("/comments")
@doc(
    "comments",
    body=CommentSubmission,
    media=(JSON, FORM, MULTIPART),
    responses={
        202: Reply("Stored and queued for scoring.", CommentAccepted, headers=("Location",)),
        303: page(
            "A browser's form post: back to its page, with `?comment=<id>`; a refused "
            "demo-page form: back to the demo page, with `?retry=<id>`.",
            "Location",
        ),
        400: MALFORMED.also_html(),
        401: problem("The site key is not valid (unknown, or its site revoked)."),
        403: problem(
            "The post names a site that does not allow its origin (`forbidden`), or a "
            "site that was revoked and takes no new comments (`site_revoked`)."
        ).also_html(),
        413: TOO_LARGE.also_html(),
        415: UNSUPPORTED,
        422: problem(
            "Invalid fields (`validation_failed`, with `errors`; `user_ip`, `user_agent` "
            "and `referrer` without a site key), or the captcha was not solved "
            "(`captcha_invalid`, with `reason` and a fresh `captcha`)."
        ).also_html(),
        429: RATE_LIMITED.also_html(),
        503: UNAVAILABLE.also_html(),
    },
    security=SITE,
)
def create() -> ResponseReturnValue:
    """Submit a comment.

    Send JSON, or a form. A browser posting a plain form (Accept preferring text/html)
    is answered with a 303 redirect or with an HTML error page (post/redirect/get for
    the demo page's form). A site's own server
    posts with its site key and may say whose comment it is (`user_ip`, `user_agent`,
    `referrer`); it relays the captcha its page got, unless the site verifies its own
    challenge.
    """
    # Checks the captcha, stores the comment and queues it for scoring.
    svc = services()
    settings = svc.settings
    request_g = request_globals()  # not the proxies: see service.web.request_context
    data = read_body()
    honeypot = bool(str(data.get(settings.honeypot_field) or "").strip())
    submission = validate(
        CommentSubmission,
        data,
        context={
            "body_max_chars": settings.body_max_chars,
            "author_name_required": settings.author_name_required,
        },
    )
    site: Site | None = request_g.get("site")  # set by a valid site key (service.web.sites)
    site_name = request_g.received_site = _site_of(submission, site)
    nonce: str | None = None
    too_fast = False
    if site is None or not site.verifies_own_challenge:
        try:
            solved = svc.captcha.verify(submission.captcha_token, str(submission.captcha_answer))
        except CaptchaError as exc:
            reason = exc.reason
            if exc.nonce is not None and svc.store.record_wrong_answer(
                exc.nonce,
                ttl=settings.captcha_ttl_seconds,
                max_attempts=settings.captcha_max_attempts,
            ):
                reason = "too_many_attempts"
            raise _captcha_failed(reason) from None
        nonce = solved.nonce
        too_fast = solved.solve_seconds < settings.captcha_min_solve_seconds
    if submission.parent_id:
        parent = svc.store.get(submission.parent_id)
        if (
            parent is None
            or parent.status is not CommentStatus.PUBLISHED
            or parent.thread != submission.thread
            or parent.site != site_name
        ):
            raise ValidationFailedError(
                "some fields are invalid",
                errors={"parent_id": "must be a published comment of the same thread"},
            )
    comment_id = new_comment_id()
    vouched_by = ""
    if submission.commenter_token:
        vouching = svc.tokens.vouching(submission.commenter_token, submission.author_email)
        if vouching.comment_id is None:
            # Not an error: a cookie outlives its token, a key is rotated. The comment
            # is decided like a stranger's, and a prober learns nothing.
            logger.info(
                "comment %s: commenter token not trusted (%s)", comment_id, vouching.refusal
            )
        else:
            vouched_by = vouching.comment_id
    comment = Comment(
        id=comment_id,
        thread=submission.thread,
        body=submission.body,
        author_name=submission.author_name,
        author_email=submission.author_email,
        author_url=submission.author_url,
        parent_id=submission.parent_id,
        created_at=time.time(),
        status=CommentStatus.PENDING,
        ip=submission.user_ip or request_g.client_ip,
        user_agent=submission.user_agent
        or current_request().environ.get("HTTP_USER_AGENT", "")[:512],
        request_id=request_g.request_id,
        honeypot=honeypot,
        too_fast=too_fast,
        vouched_by=vouched_by,
        site=site_name,
        referrer=submission.referrer,
    )
    try:
        must_enqueue = svc.store.accept(
            comment,
            nonce=nonce,
            nonce_ttl=settings.captcha_ttl_seconds,
            counter=_accepted_counter(site_name),
        )
    except NonceSpentError:
        raise _captcha_failed("reused") from None
    if must_enqueue:
        try:
            svc.queues.enqueue_scoring(request_id=comment.request_id)
        except redis.RedisError:
            # Stored but not queued: the reconciler re-queues it, so accept it.
            logger.warning("comment %s stored but not queued; the reconciler will", comment.id)
    request_g.comment_id = comment.id  # in the request's access-log line
    status_url = _status_url(comment.id)
    if wants_html():
        response = redirect(_back_to(comment), code=303)
        if comment.thread == DEMO_THREAD:  # the demo page shows the commenter-token flow
            remember_receipt(response, comment.id, svc.tokens.receipt(comment.id))
        return response
    return respond(
        CommentAccepted(
            id=comment.id,
            status=comment.status,
            status_url=status_url,
            receipt=svc.tokens.receipt(comment.id),
        ),
        202,
        location=status_url,
    )


def _site_of(submission: CommentSubmission, site: Site | None) -> str:
    """The site a post is for, once it may post there.

    With a site key (``site``), the post is that site's and may say whose it is
    (``user_ip``, ``user_agent``, ``referrer``). Without, those fields are refused, never
    trusted; a browser's post naming a site must come from one of its origins, and the
    site must not be revoked (one ``HGET``: revocation counts at once, as a key's does);
    one naming none is the default site's (no Redis round trip).

    Raises:
        ValidationFailedError: Forwarded fields without a site key, an unknown site, or
            a site other than the key's.
        ForbiddenError: A browser's post to a site from an origin the site does not allow.
        SiteRevokedError: A browser's post to a revoked site.
    """
    if site is not None:
        if submission.site and submission.site != site.name:
            raise ValidationFailedError(
                "the site key is another site's",
                errors={"site": f"the key is site {site.name!r}'s; leave site out"},
            )
        return site.name
    forwarded = [name for name in _FORWARDED if getattr(submission, name)]
    if forwarded:
        raise ValidationFailedError(
            f"{', '.join(forwarded)} are taken only from a site's server, with its key",
            errors=dict.fromkeys(forwarded, "needs Authorization: Bearer <site key>"),
        )
    if not submission.site:
        return DEFAULT_SITE
    directory = services().sites
    named = directory.get(submission.site)
    if named is None:
        raise ValidationFailedError(
            "no such site", errors={"site": f"no site named {submission.site!r}"}
        )
    origin = current_request().environ.get("HTTP_ORIGIN", "")
    if origin.lower() not in {o.lower() for o in named.origins(services().settings)}:
        raise ForbiddenError(
            f"site {named.name!r} does not take comments from this page's origin",
            extra={"origin": origin[:200] or None},
        )
    if named.closed or (not named.is_default and directory.registry.is_revoked(named.name)):
        raise SiteRevokedError(
            f"site {named.name!r} was revoked: it takes no new comments",
            extra={"site": named.name},
        )
    return named.name


def _status_url(comment_id: str) -> str:
    """The absolute URL of a comment's status (what ``url_for`` builds, less its lookups)."""
    return current_url_adapter().build(
        "comments.get_one", {"comment_id": comment_id}, force_external=True
    )


def _back_to(comment: Comment) -> str:
    """Where a browser goes after posting a form: the page it came from.

    On the demo page, a ``retry=`` (a refused form shown again) is left behind.
    """
    target = request.referrer or comment.thread
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") and not target.startswith("/"):
        target = "/"
        parts = urlsplit(target)
    kept = parts.query
    if comment.thread == DEMO_THREAD and "retry=" in kept:
        kept = urlencode([(k, v) for k, v in parse_qsl(kept) if k != "retry"])
    query = "&".join(filter(None, [kept, urlencode({"comment": comment.id})]))
    return parts._replace(query=query, fragment="comment-status").geturl()
