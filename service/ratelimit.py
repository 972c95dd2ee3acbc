"""Rate limits per client, and an admission limit on intake across all clients.

Per client (Flask-Limiter): captcha issue, comment intake and moderator login. The
counters live in the same Redis as everything else, so the limits hold across gunicorn
workers and replicas. Clients are keyed by their address as :mod:`service.client_ip`
works it out (``X-Forwarded-For`` only from trusted proxies). Over a limit: 429
problem JSON with ``Retry-After``.

Across all clients (load shedding): ``COMMENTGATE_INTAKE_MAX_PER_SECOND``, off by
default, caps the comment posts admitted per second from everybody together. Per-client
limits do not stop a flood from many addresses; without this cap it would queue in
gunicorn's listen backlog, where every request, good ones included, waits longer and
longer. :class:`AdmissionGate` is WSGI middleware in front of Flask: for each
``POST /api/v1/comments`` it makes one Redis round trip (a Lua script: count the post in
a fixed one-second window, and count a shed post in the
``commentgate_comments_received{outcome="unavailable"}`` metric) and answers a post over
the cap at once with 503 and ``Retry-After: 1`` (problem JSON, or a short HTML page for
a browser form), without Flask, the captcha check or anything stored. That matters:
measured in process, a request shed through Flask-Limiter cost more than an accepted
one (2.7 ms against 2.2 ms), and Flask-Limiter added 1.5 ms to every accepted
post; the gate adds one round trip to admitted posts and sheds for a fraction of an
intake. Set the cap below the intake rate C the deployment sustains, leaving room to
shed the rest: if a shed costs ``s`` of an intake, keeping the web servers at a
utilisation ``u`` while ``f`` times C arrives needs a cap of at most
``(u - f s) / (1 - s)`` x C (``benchmarks/overload.py`` measures C, the shed rate and
the effect; docs/performance.md has the figures and what to put in front for more).

While Redis is unreachable no limit is enforced (nothing can be stored then anyway:
intake answers 503 itself).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import redis
from flask import Blueprint, Flask, g, request
from flask_limiter import Limiter

from service import metrics
from service.redis_client import limits_storage_uri
from service.services import EXTENSION_KEY as SERVICES_KEY
from service.settings import Settings
from service.store.keys import PREFIX

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger(__name__)

EXTENSION_KEY = "commentgate.limiter"
#: Endpoints whose POSTs count against the login limit.
LOGIN_ENDPOINTS = frozenset({"moderate.login"})


#: The requests the admission limit applies to.
INTAKE_METHOD, INTAKE_PATH = "POST", "/api/v1/comments"
#: Redis key counting the posts of the current one-second admission window.
ADMISSION_KEY = PREFIX + "admission:intake"
#: ``Retry-After`` of a shed request: the admission window is one second.
SHED_RETRY_AFTER_SECONDS = 1
PROBLEM_JSON = "application/problem+json"

#: Count a post in the current window (the first post opens it, for one second); over
#: the limit, count it as shed in the metrics instead. One round trip either way.
#: KEYS: window counter, metrics counters hash; ARGV: limit, metrics field
#: Returns 1 when the post is admitted, 0 when it is shed.
ADMIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], 1000) end
if n <= tonumber(ARGV[1]) then return 1 end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
return 0
"""

_SHED_JSON = (
    b'{"type": "about:blank", "title": "Service overloaded", "status": 503, '
    b'"code": "unavailable", "detail": "commentgate is taking all the comments it can '
    b'right now; retry shortly"}'
)
_SHED_HTML = (
    b"<!doctype html><html lang=en><meta charset=utf-8><title>Busy</title>"
    b"<p>Too many comments are arriving right now. Go back and send yours again in a "
    b"moment: nothing was saved.</p></html>"
)


class AdmissionGate:
    """WSGI middleware admitting at most ``per_second`` comment posts per second.

    Args:
        app: The WSGI application behind the gate (Flask's ``wsgi_app``).
        client: Redis, shared by every process, so the limit is global.
        per_second: Posts admitted per one-second window, from all clients together.
    """

    def __init__(self, app: WSGIApplication, client: redis.Redis, per_second: int) -> None:
        self.app = app
        self.per_second = per_second
        self._admit = client.register_script(ADMIT)
        self._metric = metrics.Metrics.counter_field(
            metrics.COMMENTS_RECEIVED, outcome="unavailable"
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer a post over the limit with 503; pass everything else to the app."""
        if (
            environ.get("REQUEST_METHOD") == INTAKE_METHOD
            and environ.get("PATH_INFO") == INTAKE_PATH
            and not self.admitted()
        ):
            html = "text/html" in environ.get("HTTP_ACCEPT", "") and environ.get(
                "CONTENT_TYPE", ""
            ).startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
            body = _SHED_HTML if html else _SHED_JSON
            start_response(
                "503 SERVICE UNAVAILABLE",
                [
                    ("Content-Type", "text/html; charset=utf-8" if html else PROBLEM_JSON),
                    ("Content-Length", str(len(body))),
                    ("Retry-After", str(SHED_RETRY_AFTER_SECONDS)),
                    ("Cache-Control", "no-store"),
                    ("X-Content-Type-Options", "nosniff"),
                    ("Content-Security-Policy", "default-src 'none'"),
                ],
            )
            return [body]
        return self.app(environ, start_response)

    def admitted(self) -> bool:
        """Count one post; False when it is over this window's limit (Redis down: True)."""
        try:
            return bool(
                self._admit(
                    keys=[ADMISSION_KEY, self._metric[0]],
                    args=[self.per_second, self._metric[1]],
                )
            )
        except redis.RedisError as exc:
            logger.debug("admission not checked: %s", type(exc).__name__)
            return True


def install_admission_gate(app: Flask, client: redis.Redis, per_second: int) -> None:
    """Put an :class:`AdmissionGate` in front of ``app`` when ``per_second`` is above 0."""
    if per_second > 0:
        app.wsgi_app = AdmissionGate(app.wsgi_app, client, per_second)  # type: ignore[method-assign]


def _client_key() -> str:
    return str(g.get("client_ip") or request.remote_addr or "unknown")


def install(app: Flask, settings: Settings, blueprints: dict[str, Blueprint]) -> Limiter:
    """Attach a limiter to ``app`` and limit the blueprints that need it.

    Also puts the :class:`AdmissionGate` in front of the app when
    ``intake_max_per_second`` is above 0 (whether per-client limits are on or not).

    Args:
        app: The app (its own ``before_request`` hooks must already be registered,
            so the client address is known when limits are checked).
        settings: Limits and the Redis URL.
        blueprints: ``captcha``, ``comments`` and, when present, ``moderate``.

    Returns:
        The limiter, also in ``app.extensions[EXTENSION_KEY]``.
    """
    client = app.extensions[SERVICES_KEY].redis
    install_admission_gate(app, client, settings.intake_max_per_second)
    limiter = Limiter(
        key_func=_client_key,
        app=app,
        storage_uri=limits_storage_uri(settings.redis_url),
        strategy="fixed-window",
        headers_enabled=True,
        key_prefix="cg:ratelimit",
        # Redis down: let requests through (intake then answers 503 itself, and the
        # stateless captcha keeps working) rather than failing every request.
        swallow_errors=True,
        enabled=settings.rate_limits_enabled,
    )
    limiter.limit(settings.rate_limit_captcha)(blueprints["captcha"])
    limiter.limit(settings.rate_limit_comments, methods=["POST"])(blueprints["comments"])
    if "moderate" in blueprints:
        limiter.limit(
            settings.rate_limit_login,
            methods=["POST"],
            exempt_when=lambda: request.endpoint not in LOGIN_ENDPOINTS,
        )(blueprints["moderate"])
    app.extensions[EXTENSION_KEY] = limiter
    return limiter
