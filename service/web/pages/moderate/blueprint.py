"""The moderation UI's blueprint, its CSRF protection, and the two pages its routes render.

Every page is a template (:func:`render`), and what is not a template of its own is a
message (:func:`message_page`): a session ended, an error, a refused form.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template, url_for
from flask import Response as FlaskResponse
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response

URL_PREFIX = "/moderate"
bp = Blueprint("moderate", __name__, url_prefix=URL_PREFIX)
csrf = CSRFProtect()


def render(
    template: str, *, status_code: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> Response:
    """Render a moderation template into an uncacheable HTML response.

    Args:
        template: Template name, e.g. ``moderate/queue.html``.
        status_code: HTTP status.
        headers: Extra headers (``Retry-After``).
        **context: Template variables.

    Returns:
        The page; ``apply_security_headers`` adds the CSP and friends afterwards.
    """
    response = FlaskResponse(render_template(template, **context), status=status_code)
    response.mimetype = "text/html"
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def message_page(
    status: int,
    heading: str,
    message: str,
    *,
    link: tuple[str, str] | None = None,
    headers: dict[str, str] | None = None,
    refresh: str | None = None,
) -> Response:
    """A page that says one thing, with a link on (back to the queue unless given).

    Args:
        status: HTTP status.
        heading: The page's heading.
        message: What it says.
        link: Where it leads on, and the link's text.
        headers: Extra headers (``Retry-After``, ``Allow``).
        refresh: A path the page reloads to at once (a meta refresh).

    Returns:
        The page.
    """
    return render(
        "moderate/message.html",
        status_code=status,
        headers=headers,
        moderator=g.get("moderator"),
        heading=heading,
        message=message,
        link=link or (url_for(".queue"), "Back to the queue"),
        refresh=refresh,
    )
