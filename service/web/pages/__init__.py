"""Server-rendered HTML pages: the demo blog post and the form error pages.

:func:`init_pages` is the one hook ``create_app`` calls: it registers the ``pages``
blueprint. ``create_app``'s response hook adds :func:`apply_security_headers`'s headers
to every response.
"""

from __future__ import annotations

from flask import Flask

from service.web.pages.demo import DEMO_THREAD, bp
from service.web.pages.errors import render_form_problem
from service.web.pages.security import CONTENT_SECURITY_POLICY, apply_security_headers

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "DEMO_THREAD",
    "apply_security_headers",
    "init_pages",
    "render_form_problem",
]


def init_pages(app: Flask) -> None:
    """Register the pages blueprint on ``app``.

    Args:
        app: The commentgate app being built.
    """
    app.register_blueprint(bp)
