"""Rendering helpers shared by the pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, render_template

#: The blog the demo page pretends to be (header, footer, sidebar).
SITE_NAME = "The Quiet Compiler"
SITE_TAGLINE = "Notes on small software, written slowly"


def render_page(
    template: str,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> Response:
    """Render a template into an uncacheable HTML response.

    Pages are never cached: they embed single-use captcha tokens or describe one
    request's outcome.

    Args:
        template: Template name under ``service/templates``.
        status: HTTP status of the response.
        headers: Extra response headers (e.g. ``Retry-After``).
        **context: Template variables.

    Returns:
        The response; the security headers are added by ``apply_security_headers``.
    """
    html = render_template(template, site_name=SITE_NAME, site_tagline=SITE_TAGLINE, **context)
    response = Response(html, status=status, mimetype="text/html")
    for name, value in (headers or {}).items():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return response
