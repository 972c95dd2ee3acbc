"""HTML pages for failed form posts from browsers.

:func:`service.web.problems.problem_response` calls :func:`render_form_problem` instead
of answering with problem JSON when the client is a browser posting a plain form
(:func:`service.web.api.request_body.wants_html`). A failed comment from the demo page
is sent back to it (a 303 to ``/?retry=<id>#respond``, post/redirect/get), where the
form shows again with the input kept, messages next to the fields and a fresh captcha
(:mod:`service.web.pages.form_state`). Should Redis fail to keep the form, the demo page
is the intake's own answer, as a 422; anything else gets a short page listing the
problems with a link back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import redis
from flask import Response, request, url_for

from service.core.captcha import Challenge
from service.web.pages.common import render_error_page
from service.web.pages.demo import DEMO_THREAD, render_demo
from service.web.pages.form_state import FieldProblem, FormState, save_form, sentence_case
from service.web.services import services

logger = logging.getLogger(__name__)

#: Problems the demo form is shown again for (the others get the generic page).
REDISPLAY_CODES = frozenset({"captcha_invalid", "validation_failed"})

#: What to tell people, by problem code; others fall back to the problem's detail.
MESSAGES: dict[str, str] = {
    "validation_failed": "Some fields need your attention.",
    "captcha_invalid": "The spam-check question was not answered correctly.",
    "payload_too_large": "The form is too large to send. Please shorten your comment.",
    "rate_limited": "Too many submissions came from your connection in a short time.",
    "malformed_body": "The form could not be read. Please go back and send it again.",
    "unsupported_media_type": "The form could not be read. Please go back and send it again.",
    "unavailable": "The service is briefly unavailable.",
    "internal_error": "Something went wrong on our side. Please try again later.",
}


def render_form_problem(
    body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> Response:
    """Render a problem as an HTML page for a browser that posted a form.

    Args:
        body: The RFC 9457 problem body (``status``, ``code``, ``detail``, ``errors``).
        headers: Headers the problem response would carry (``Retry-After``, ``Allow``).

    Returns:
        A 303 back to the demo page for a refused demo form, else an HTML response with
        the problem's status code.
    """
    code = str(body.get("code", ""))
    if code in REDISPLAY_CODES and _posted_from_demo_page():
        try:
            return _back_to_demo(body)
        except redis.RedisError as exc:
            logger.warning("could not keep the refused demo form (%s); showing it at once", exc)
        try:
            return _redisplay_demo(body, headers)
        except redis.RedisError as exc:
            logger.warning("could not show the demo form again (%s); generic page instead", exc)
    return _generic_page(body, headers)


def _posted_from_demo_page() -> bool:
    """Whether the failed post came from the demo form.

    A post without a Referer counts when it names the demo thread: the demo form shown
    again with errors sends none (see :func:`_redisplay_demo`).
    """
    if request.form.get("thread") != DEMO_THREAD:
        return False
    referrer = request.referrer
    if not referrer:
        return True
    try:
        parts = urlsplit(referrer)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and parts.netloc == request.host
        and parts.path == url_for("pages.demo_post")
    )


def _back_to_demo(body: Mapping[str, Any]) -> Response:
    """Keep the refused form and send the browser back to the demo page to show it.

    The target is always the demo page itself, built here (never taken from the
    Referer), so the redirect cannot lead off the site.
    """
    retry_id = save_form(services().redis, FormState.from_problem(body, request.form))
    logger.info("demo form refused (%s); kept as %s", body.get("code"), retry_id)
    target = url_for("pages.demo_post", retry=retry_id, _anchor="respond")
    return Response(status=303, headers={"Location": target, "Cache-Control": "no-store"})


def _redisplay_demo(body: Mapping[str, Any], headers: Mapping[str, str] | None) -> Response:
    form = FormState.from_problem(body, request.form)
    response = render_demo(
        status_code=int(body.get("status", 422)), form=form, challenge=_challenge_in(body)
    )
    for name, value in (headers or {}).items():
        response.headers.setdefault(name, value)
    # This page lives at the intake's URL. Without a Referer, the next post is sent
    # back to the thread's page ("/" for the demo slug) rather than to the intake.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _challenge_in(body: Mapping[str, Any]) -> Challenge | None:
    """The fresh captcha a ``captcha_invalid`` problem carries, if well formed."""
    raw = body.get("captcha")
    if not isinstance(raw, dict):
        return None
    try:
        return Challenge(
            token=str(raw["token"]),
            question=str(raw["question"]),
            prompt=str(raw["prompt"]),
            expires_in=int(raw["expires_in"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _generic_page(body: Mapping[str, Any], headers: Mapping[str, str] | None) -> Response:
    status = int(body.get("status", 500))
    code = str(body.get("code", ""))
    detail = str(body.get("detail") or body.get("title") or "The form could not be accepted.")
    summary = MESSAGES.get(code) or sentence_case(detail)
    problems: list[FieldProblem] = []
    if code in REDISPLAY_CODES:
        problems = FormState.from_problem(body, {}).problems
    retry_after = _retry_after(headers)
    heading = (
        "Your comment could not be posted"
        if request.endpoint == "comments.create"
        else "The form could not be sent"
    )
    return render_error_page(
        status_code=status,
        headers=headers,
        heading=heading,
        summary=summary,
        problems=problems,
        back_url=_back_url(),
        retry_after=retry_after,
        wait_hint=code in ("rate_limited", "unavailable"),
    )


def _retry_after(headers: Mapping[str, str] | None) -> int | None:
    value = {k.lower(): v for k, v in (headers or {}).items()}.get("retry-after", "")
    return int(value) if value.isdigit() else None


def _back_url() -> str | None:
    """The Referer when it is an http(s) URL (never a ``javascript:`` one)."""
    referrer = request.referrer
    if not referrer:
        return None
    try:
        parts = urlsplit(referrer)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    if parts.netloc == request.host and parts.path == url_for("pages.demo_post"):
        return parts._replace(fragment="respond").geturl()
    return referrer
