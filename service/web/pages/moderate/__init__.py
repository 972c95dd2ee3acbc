"""The moderator web UI at ``/moderate``: log in with a token, work the queues.

Server-rendered pages with a little progressive JavaScript (``static/js/moderate.js``
adds keyboard shortcuts and selection helpers; every action is a plain form POST
without it). :func:`init_moderate` is the one hook ``create_app`` calls.

Modules:
    blueprint: the blueprint, its CSRF protection, and its pages (a template, a message).
    access: the login page, logging out, and the guard of every route.
    queues: the queues, and the decisions on one comment or on the selected ones.
    errors: the error pages.
    session: the session cookie and who is logged in.
    presenters: what the templates show (comment cards, reason chips, safe paths).
    docs: how the routes are documented in the OpenAPI document.
"""

from __future__ import annotations

from flask import Flask

from service.web.pages.moderate import access, errors, queues  # noqa: F401 (they add to bp)
from service.web.pages.moderate.blueprint import URL_PREFIX, bp, csrf
from service.web.pages.moderate.session import configure_sessions
from service.web.services import services

__all__ = ["URL_PREFIX", "bp", "csrf", "init_moderate"]


def init_moderate(app: Flask) -> None:
    """Register the ``moderate`` blueprint, its session cookie and CSRF protection.

    CSRF checks are scoped to this blueprint (its ``before_request`` calls
    ``csrf.protect()``): the JSON API authenticates with bearer tokens, not cookies,
    and the public comment form posts without a session.

    Args:
        app: The app being built (its services must be in ``app.extensions`` already).
    """
    with app.app_context():
        settings = services().settings
    configure_sessions(app, settings, URL_PREFIX)
    app.config.update(
        WTF_CSRF_CHECK_DEFAULT=False,  # only where the blueprint asks for it
        WTF_CSRF_TIME_LIMIT=None,  # valid as long as the session (see session.py)
    )
    csrf.init_app(app)
    app.register_blueprint(bp)
