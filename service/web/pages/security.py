"""Security headers: ``nosniff`` on every response, a CSP and friends on HTML ones."""

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
    """Add ``X-Content-Type-Options`` to any response, and to ``text/html`` ones the rest.

    ``create_app``'s one ``after_request`` hook calls this for every response. Headers a
    view already set are kept, so a page that needs a different policy can set it
    explicitly.

    Args:
        response: Any response of the app.

    Returns:
        The same response.
    """
    headers = response.headers
    # Header lookups by list: werkzeug's ``get``, ``in`` and ``setdefault`` raise and
    # catch an exception when a header is absent, and ``response.mimetype`` parses the
    # content type's parameters every time.
    content_type = headers.getlist("Content-Type")
    if content_type and content_type[0].partition(";")[0].strip().lower() == "text/html":
        for name, value in HTML_SECURITY_HEADERS.items():
            if not headers.getlist(name):
                headers.add(name, value)
    elif not headers.getlist("X-Content-Type-Options"):
        headers.add("X-Content-Type-Options", "nosniff")
    return response
