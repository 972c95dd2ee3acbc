"""Per-client rate limits on captcha issue, comment intake and moderator login.

Flask-Limiter keeps the counters in the same Redis as everything else, so the limits
hold across gunicorn workers and replicas. Clients are keyed by their address as
:mod:`service.client_ip` works it out (``X-Forwarded-For`` only from trusted proxies).
Over a limit: 429 problem JSON with ``Retry-After``. While Redis is unreachable the
limits are not enforced (nothing can be stored then anyway).
"""

from __future__ import annotations

from flask import Blueprint, Flask, g, request
from flask_limiter import Limiter

from service.redis_client import limits_storage_uri
from service.settings import Settings

EXTENSION_KEY = "commentgate.limiter"
#: Endpoints whose POSTs count against the login limit.
LOGIN_ENDPOINTS = frozenset({"moderate.login"})


def _client_key() -> str:
    return str(g.get("client_ip") or request.remote_addr or "unknown")


def install(app: Flask, settings: Settings, blueprints: dict[str, Blueprint]) -> Limiter:
    """Attach a limiter to ``app`` and limit the blueprints that need it.

    Args:
        app: The app (its own ``before_request`` hooks must already be registered,
            so the client address is known when limits are checked).
        settings: Limits and the Redis URL.
        blueprints: ``captcha``, ``comments`` and, when present, ``moderate``.
    """
    limiter = Limiter(
        key_func=_client_key,
        app=app,
        storage_uri=limits_storage_uri(settings.redis_url),
        strategy="fixed-window",
        headers_enabled=True,
        key_prefix="cg:ratelimit",
        # Redis down: let requests through (intake then answers 503 itself, and the
        # stateless captcha keeps working) rather than failing every request.
        swallow_errors=True,
        enabled=settings.rate_limits_enabled,
    )
    limiter.limit(settings.rate_limit_captcha)(blueprints["captcha"])
    limiter.limit(settings.rate_limit_comments, methods=["POST"])(blueprints["comments"])
    if "moderate" in blueprints:
        limiter.limit(
            settings.rate_limit_login,
            methods=["POST"],
            exempt_when=lambda: request.endpoint not in LOGIN_ENDPOINTS,
        )(blueprints["moderate"])
    app.extensions[EXTENSION_KEY] = limiter
    return limiter
