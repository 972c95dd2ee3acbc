"""Rate limits per client: captcha issue, comment intake and moderator login.

Per client (Flask-Limiter): captcha issue, comment intake and moderator login. The
counters live in the same Redis as everything else, so the limits hold across gunicorn
workers and replicas. Clients are keyed by their address as :mod:`service.web.client_ip`
works it out (``X-Forwarded-For`` only from trusted proxies), IPv6 clients by their
/64 network (:func:`service.web.client_ip.rate_key`). Over a limit: 429 problem JSON with
``Retry-After``.

A site's server posting with its key (:mod:`service.web.sites`) is counted otherwise:
each commenter by their own address (``user_ip``) within the site, and the site as a
whole against its ceiling (``COMMENTGATE_RATE_LIMIT_SITE``, or the site's own).

Load shedding across all clients is :mod:`service.web.admission`.
"""

from __future__ import annotations

from flask import Blueprint, Flask, g, request
from flask_limiter import Limiter

from service.core.redis_client import limits_storage_uri
from service.core.settings import Settings
from service.core.sites import Site
from service.core.store import keys
from service.web import admission
from service.web.client_ip import rate_key
from service.web.services import EXTENSION_KEY as SERVICES_KEY

EXTENSION_KEY = "commentgate.limiter"
#: Endpoints whose POSTs count against the login limit.
LOGIN_ENDPOINTS = frozenset({"moderate.login"})


def _client_key() -> str:
    # A site's post: its commenter within the site (service.web.sites sets it).
    site_client: str | None = g.get("rate_client")
    if site_client is not None:
        return site_client
    return rate_key(str(g.get("client_ip") or request.remote_addr or ""))


def _site_key() -> str:
    site: Site | None = g.get("site")
    return f"site:{site.name}" if site is not None else ""


def _not_a_site() -> bool:
    return g.get("site") is None


def install(app: Flask, settings: Settings, blueprints: dict[str, Blueprint]) -> Limiter:
    """Attach a limiter to ``app`` and limit the blueprints that need it.

    Also puts :mod:`service.web.admission`'s gate in front of the app when a shedding
    limit is set (whether per-client limits are on or not).

    Args:
        app: The app (its own ``before_request`` hooks must already be registered,
            so the client address is known when limits are checked).
        settings: Limits and the Redis URL.
        blueprints: ``captcha``, ``comments`` and, when present, ``moderate``.

    Returns:
        The limiter, also in ``app.extensions[EXTENSION_KEY]``.
    """
    client = app.extensions[SERVICES_KEY].redis
    admission.install(app, client, settings.intake_max_per_second, settings.intake_max_wait_ms)
    limiter = Limiter(
        key_func=_client_key,
        app=app,
        storage_uri=limits_storage_uri(settings.redis_url),
        strategy="fixed-window",
        headers_enabled=True,
        key_prefix=keys.RATE_LIMITS,
        # Redis down: let requests through (intake then answers 503 itself, and the
        # stateless captcha keeps working) rather than failing every request.
        swallow_errors=True,
        enabled=settings.rate_limits_enabled,
    )
    limiter.limit(settings.rate_limit_captcha)(blueprints["captcha"])
    limiter.limit(settings.rate_limit_comments, methods=["POST"])(blueprints["comments"])

    def site_ceiling() -> str:
        site: Site | None = g.get("site")
        return (site.rate_limit_site if site else None) or settings.rate_limit_site

    limiter.limit(site_ceiling, key_func=_site_key, methods=["POST"], exempt_when=_not_a_site)(
        blueprints["comments"]
    )
    if "moderate" in blueprints:
        limiter.limit(
            settings.rate_limit_login,
            methods=["POST"],
            exempt_when=lambda: request.endpoint not in LOGIN_ENDPOINTS,
        )(blueprints["moderate"])
    app.extensions[EXTENSION_KEY] = limiter
    return limiter
