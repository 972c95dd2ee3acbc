"""The Flask application factory."""

from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, Response, g, request
from flask_cors import CORS

from service.api import captcha, comments, health
from service.client_ip import client_ip
from service.problems import register_error_handlers
from service.services import EXTENSION_KEY, Services
from service.settings import Settings, load_settings

logger = logging.getLogger(__name__)

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
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.client_ip = client_ip(
            request.remote_addr, request.headers.get("X-Forwarded-For"), networks
        )

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    for blueprint in (health.bp, captcha.bp, comments.bp):
        app.register_blueprint(blueprint)
    return app
