"""The moderation UI's error pages: a refused form, a problem, an HTTP error, Redis down."""

from __future__ import annotations

import logging

import redis
from flask import request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from service.core.exceptions import ProblemError
from service.web.pages.moderate.blueprint import bp, message_page

logger = logging.getLogger(__name__)


@bp.errorhandler(CSRFError)
def _csrf_failed(exc: CSRFError) -> Response:
    logger.info("moderation UI form refused: %s", exc.description)
    return message_page(
        400,
        "This form could not be accepted",
        "Its security token is missing or no longer valid, so nothing was changed. "
        "Go back, reload the page and try again.",
    )


@bp.errorhandler(ProblemError)
def _problem(exc: ProblemError) -> Response:
    return message_page(exc.status, exc.title, exc.detail)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    headers = {
        name: value
        for name, value in exc.get_response().headers.items()
        if name.lower() in ("retry-after", "allow")
    }
    if exc.code == 429:  # the login limit (service.web.ratelimit adds Retry-After)
        return message_page(
            429,
            "Too many attempts",
            "Too many logins came from your connection in a short time. "
            "Please wait a minute, then try again.",
            link=(url_for(".login"), "Back to the login page"),
            headers=headers,
        )
    return message_page(
        exc.code or 500, exc.name or "Error", exc.description or "", headers=headers
    )


@bp.errorhandler(redis.ConnectionError)
@bp.errorhandler(redis.TimeoutError)
@bp.errorhandler(redis.exceptions.OutOfMemoryError)
def _redis_down(exc: redis.RedisError) -> Response:
    if isinstance(exc, redis.exceptions.OutOfMemoryError):
        logger.error("redis out of memory during %s %s: %s", request.method, request.path, exc)
    else:
        logger.warning("redis unavailable during %s %s: %s", request.method, request.path, exc)
    return message_page(
        503,
        "The queue is briefly unavailable",
        "Storage is unavailable right now, so nothing was changed. Try again shortly.",
        headers={"Retry-After": "5"},
    )
