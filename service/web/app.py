"""The Flask application factory."""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import cast

import redis
from flask import Blueprint, Flask, Response, request

from service.core import campaigns
from service.core.logs import request_id_var
from service.core.settings import Settings, load_settings
from service.core.store.upgrade import upgrade_keys
from service.web import cors, embed, ratelimit
from service.web import sites as site_keys
from service.web.akismet import init_akismet
from service.web.api import captcha, comments, health, metrics, moderation, openapi
from service.web.client_ip import client_ip
from service.web.pages import apply_security_headers, init_pages
from service.web.pages.moderate import init_moderate
from service.web.problems import register_error_handlers
from service.web.request_context import current_request, request_globals
from service.web.services import EXTENSION_KEY, Services

logger = logging.getLogger(__name__)
access_log = logging.getLogger("commentgate.access")

#: Health, readiness and metrics probes: logged only when they fail (or at DEBUG).
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def create_app(settings: Settings | None = None) -> Flask:
    """Build the commentgate web app.

    Args:
        settings: Validated settings; read from the environment when omitted.

    Returns:
        The configured app, its clients in ``app.extensions["commentgate"]``.
    """
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_request_bytes,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    services = Services.build(settings)
    app.extensions[EXTENSION_KEY] = services
    try:
        upgrade_keys(services.redis)
    except redis.RedisError:  # unreachable or full: the workers move them later
        logger.warning("Redis unavailable at start-up: keys of an earlier version not checked")
    campaigns.warm_up()  # moderators' first spam click would otherwise wait for it
    register_error_handlers(app)
    networks = settings.trusted_proxy_networks

    @app.before_request
    def _identify() -> None:
        request_g = request_globals()  # not the proxies: see service.web.request_context
        request_g.started = time.perf_counter()
        # Headers straight from the WSGI environ: werkzeug's lookups raise and catch an
        # exception for every header that is absent, and these usually are.
        environ = current_request().environ
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(16)
        request_id_var.set(request_id)
        request_g.request_id = request_id
        request_g.client_ip = client_ip(
            environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_FOR"), networks
        )

    @app.after_request
    def _headers(response: Response) -> Response:
        # One hook for every response (each Flask hook costs a few microseconds).
        request_g = request_globals()
        response.headers["X-Request-ID"] = request_g.get("request_id", "")
        apply_security_headers(response)
        cors.apply(response, current_request().environ, services.sites)
        path, status = request.path, response.status_code
        # Probes answered as expected come every few seconds: DEBUG, not INFO.
        level = logging.DEBUG if path in PROBE_PATHS and status < 400 else logging.INFO
        if access_log.isEnabledFor(level):  # skip gathering the fields otherwise
            method = request.method
            access_log.log(
                level,
                "%s %s %s",
                method,
                path,
                status,
                extra={
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": round(
                        (time.perf_counter() - request_g.get("started", 0.0)) * 1000, 2
                    ),
                    "comment_id": request_g.get("comment_id"),
                },
            )
        return response

    for blueprint in (health.bp, metrics.bp, captcha.bp, comments.bp, moderation.bp, openapi.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(embed.bp)  # the embeddable widget: /embed.js, /embed.css
    site_keys.install(app, services.sites)  # after _identify, before the rate limits
    init_pages(app)  # the demo page and the HTML error pages
    init_moderate(app)  # the moderator web UI at /moderate, before the rate limits
    init_akismet(app, services)  # the Akismet protocol at /1.1/ (server to server, by key)
    limited = ("captcha", "comments", "moderate")
    ratelimit.install(
        app,
        settings,
        {name: cast(Blueprint, bp) for name, bp in app.blueprints.items() if name in limited},
    )
    return app
