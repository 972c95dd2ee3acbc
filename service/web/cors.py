"""CORS for the public API, with each site's own allowed origins.

Browsers on any site's origins (``commentgate sites configure NAME --origin``; the
default site's are ``COMMENTGATE_ALLOWED_ORIGINS``) may fetch captchas, post comments
and read threads. The preflight allows the union of every site's origins, read from
the process's :class:`~service.web.sites.SiteDirectory` (refreshed every few seconds,
so a preflight costs no Redis round trip); intake then checks a post naming a site
against that site's own origins (:mod:`service.web.api.comments.intake`).

Same headers as flask-cors gave before sites: the origin echoed, ``Vary: Origin``,
a 600-second preflight cache, ``Content-Type`` and ``X-Request-ID`` allowed, and
``Location``, ``X-Request-ID`` and ``Retry-After`` exposed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from flask import Response

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from service.web.sites import SiteDirectory

__all__ = ["apply"]

#: The paths browsers of the sites may call.
PATHS = re.compile(r"^/api/v1/(captcha|comments)")
ALLOW_HEADERS = ("content-type", "x-request-id")
ALLOW_METHODS = "GET, HEAD, OPTIONS, POST"
EXPOSE_HEADERS = "Location, X-Request-ID, Retry-After"
MAX_AGE_SECONDS = 600


def apply(response: Response, environ: WSGIEnvironment, directory: SiteDirectory) -> None:
    """Add the CORS headers a cross-origin request from an allowed origin gets.

    Args:
        response: The response, changed in place.
        environ: The request's WSGI environ.
        directory: The sites, with their origins.
    """
    origin = environ.get("HTTP_ORIGIN")
    if not origin or not PATHS.match(environ.get("PATH_INFO", "")):
        return
    response.vary.add("Origin")
    if origin.lower() not in directory.origins():
        return
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = origin
    if environ.get("REQUEST_METHOD") == "OPTIONS" and environ.get(
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD"
    ):
        requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
        allowed = [h.strip() for h in requested.split(",") if h.strip().lower() in ALLOW_HEADERS]
        if allowed:
            headers["Access-Control-Allow-Headers"] = ", ".join(allowed)
        headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        headers["Access-Control-Max-Age"] = str(MAX_AGE_SECONDS)
    else:
        headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
