"""Security headers for every HTML response the app sends."""

from __future__ import annotations

from flask import Response

#: No inline scripts or styles anywhere: templates link their CSS from ``/static``.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)

#: Headers added to ``text/html`` responses; a view may set its own value first.
HTML_SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Same-origin requests keep the full Referer: the intake's 303 goes back to it.
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


def apply_security_headers(response: Response) -> Response:
    """Add the HTML security headers to ``text/html`` responses (an ``after_request``).

    Headers a view already set are kept, so a page that needs a different policy can
    set it explicitly.

    Args:
        response: Any response of the app.

    Returns:
        The same response.
    """
    if response.mimetype == "text/html":
        for name, value in HTML_SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
    return response
