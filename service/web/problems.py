"""Every error becomes an ``application/problem+json`` response (RFC 9457)."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Flask, Response, g, has_request_context, json, request
from werkzeug.exceptions import HTTPException

from service.core.exceptions import ProblemError
from service.web.api.request_body import wants_html
from service.web.pages.errors import render_form_problem

logger = logging.getLogger(__name__)

PROBLEM_MIMETYPE = "application/problem+json"
#: Seconds a client should wait before retrying while Redis is unreachable.
RETRY_AFTER_SECONDS = 5


#: The headers of a 503 while Redis is unreachable or full.
RETRY_AFTER = {"Retry-After": str(RETRY_AFTER_SECONDS)}


def unavailable(detail: str) -> dict[str, Any]:
    """The problem body of a 503: storage is unreachable or full, nothing changed."""
    return {
        "type": "about:blank",
        "title": "Service unavailable",
        "status": 503,
        "code": "unavailable",
        "detail": detail,
    }


def out_of_memory(exc: redis.RedisError) -> bool:
    """Whether Redis refused a write for lack of memory (``-OOM``).

    Redis 7 keeps the ``OOM`` code of a write refused inside a Lua script (redis-py
    raises ``OutOfMemoryError``); Redis 6.2 wraps it in a plain script error.
    """
    return isinstance(exc, redis.exceptions.OutOfMemoryError) or "OOM command not allowed" in str(
        exc
    )


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    """A problem body as a response with its status (an HTML page for browser forms)."""
    if has_request_context():
        g.problem_code = body.get("code", "")
        if wants_html():
            return render_form_problem(body, headers)
    response = Response(
        json.dumps(body), status=int(body["status"]), mimetype=PROBLEM_MIMETYPE, headers=headers
    )
    response.headers["Cache-Control"] = "no-store"
    return response


#: Codes for werkzeug's HTTP errors, named like commentgate's own problems.
_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _http_code(exc: HTTPException) -> str:
    if exc.code in _HTTP_CODES:
        return _HTTP_CODES[exc.code]
    name = (exc.name or "error").lower()
    return "".join(ch if ch.isalnum() else "_" for ch in name).strip("_")


def register_error_handlers(app: Flask) -> None:
    """Install handlers that render every error as problem JSON."""

    @app.errorhandler(ProblemError)
    def _problem(exc: ProblemError) -> Response:
        return problem_response(exc.to_problem())

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        body = {
            "type": "about:blank",
            "title": exc.name,
            "status": status,
            "code": _http_code(exc),
            "detail": exc.description,
        }
        headers = dict(exc.get_response().headers)
        headers.pop("Content-Type", None)
        headers.pop("Content-Length", None)
        return problem_response(body, headers)

    @app.errorhandler(redis.ConnectionError)
    @app.errorhandler(redis.TimeoutError)
    def _redis_down(exc: redis.RedisError) -> Response:
        logger.warning("redis unavailable during %s %s: %s", request.method, request.path, exc)
        return problem_response(unavailable("storage is unreachable; retry shortly"), RETRY_AFTER)

    @app.errorhandler(redis.ResponseError)
    def _redis_refused(exc: redis.ResponseError) -> Response:
        if not out_of_memory(exc):
            return _unexpected(exc)
        # Redis refused a write (maxmemory reached): nothing was changed; an operator
        # must free memory or raise the limit (docs/operations.md, "A full Redis").
        logger.error("redis out of memory during %s %s: %s", request.method, request.path, exc)
        return problem_response(unavailable("storage is full; retry shortly"), RETRY_AFTER)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.error("unhandled error during %s %s", request.method, request.path, exc_info=exc)
        body = {
            "type": "about:blank",
            "title": "Internal server error",
            "status": 500,
            "code": "internal_error",
            "detail": "an unexpected error occurred; it has been logged",
        }
        return problem_response(body)
