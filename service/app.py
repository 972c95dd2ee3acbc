"""The Flask application factory."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import cast

from flask import Blueprint, Flask, Response, g, request
from flask_cors import CORS

from service import ratelimit
from service.api import captcha, comments, health, metrics, moderation, openapi
from service.client_ip import client_ip
from service.logs import request_id_var
from service.pages import init_pages
from service.pages.moderate import init_moderate
from service.problems import register_error_handlers
from service.services import EXTENSION_KEY, Services
from service.settings import Settings, load_settings

logger = logging.getLogger(__name__)
access_log = logging.getLogger("commentgate.access")

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
    app.extensions[EXTENSION_KEY] = Services.build(settings)
    register_error_handlers(app)
    if settings.allowed_origins:
        CORS(
            app,
            resources={r"/api/v1/(captcha|comments.*)": {"origins": settings.allowed_origins}},
            allow_headers=["Content-Type", "X-Request-ID"],
            expose_headers=["Location", "X-Request-ID", "Retry-After"],
            max_age=600,
        )
    networks = settings.trusted_proxy_networks

    @app.before_request
    def _identify() -> None:
        g.started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request_id_var.set(g.request_id)
        g.client_ip = client_ip(
            request.remote_addr, request.headers.get("X-Forwarded-For"), networks
        )

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.get("started", 0.0)) * 1000, 2),
                "comment_id": g.get("comment_id"),
            },
        )
        return response

    for blueprint in (health.bp, metrics.bp, captcha.bp, comments.bp, moderation.bp, openapi.bp):
        app.register_blueprint(blueprint)
    init_pages(app)  # the demo page, HTML error pages and their security headers
    init_moderate(app)  # the moderator web UI at /moderate, before the rate limits
    limited = ("captcha", "comments", "moderate")
    ratelimit.install(
        app,
        settings,
        {name: cast(Blueprint, bp) for name, bp in app.blueprints.items() if name in limited},
    )
    return app
