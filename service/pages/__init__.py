"""Server-rendered HTML pages: the demo blog post and the form error pages.

:func:`init_pages` is the one hook ``create_app`` calls: it registers the ``pages``
blueprint and the security headers every HTML response gets.
"""

from __future__ import annotations

from flask import Flask

from service.pages.demo import DEMO_THREAD, bp
from service.pages.errors import render_form_problem
from service.pages.security import CONTENT_SECURITY_POLICY, apply_security_headers

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "DEMO_THREAD",
    "apply_security_headers",
    "init_pages",
    "render_form_problem",
]


def init_pages(app: Flask) -> None:
    """Register the pages blueprint and the HTML security headers on ``app``.

    Args:
        app: The commentgate app being built.
    """
    app.register_blueprint(bp)
    app.after_request(apply_security_headers)
