"""Rendering helpers shared by the pages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import Response, render_template

#: The blog the demo page pretends to be (header, footer, sidebar).
SITE_NAME = "The Quiet Compiler"
SITE_TAGLINE = "Notes on small software, written slowly"


def render_page(
    template: str,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> Response:
    """Render a template into an uncacheable HTML response.

    Pages are never cached: they embed single-use captcha tokens or describe one
    request's outcome.

    Args:
        template: Template name under ``service/web/templates``.
        status_code: HTTP status of the response.
        headers: Extra response headers (e.g. ``Retry-After``).
        **context: Template variables (any name but the two above).

    Returns:
        The response; the security headers are added by ``apply_security_headers``.
    """
    html = render_template(template, site_name=SITE_NAME, site_tagline=SITE_TAGLINE, **context)
    response = Response(html, status=status_code, mimetype="text/html")
    for name, value in (headers or {}).items():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return response


def render_error_page(
    *,
    status_code: int,
    heading: str,
    summary: str,
    problems: Sequence[Any] = (),
    back_url: str | None = None,
    back_label: str = "Go back to the form",
    retry_after: int | None = None,
    wait_hint: bool = False,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Render ``form_error.html``: what went wrong, in words, and a way back.

    Args:
        status_code: HTTP status of the response.
        heading: The page's title.
        summary: One sentence saying what happened.
        problems: Items with a ``message`` (e.g. one per invalid field).
        back_url: Where the button leads; without it, people are told to go back.
        back_label: The button's text.
        retry_after: Seconds to wait before trying again, when known.
        wait_hint: Ask people to wait a little when ``retry_after`` is unknown.
        headers: Extra response headers.

    Returns:
        The HTML response.
    """
    return render_page(
        "form_error.html",
        status_code=status_code,
        headers=headers,
        heading=heading,
        summary=summary,
        problems=list(problems),
        back_url=back_url,
        back_label=back_label,
        retry_after=retry_after,
        wait_hint=wait_hint,
    )
