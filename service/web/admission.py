"""Load shedding: which comment posts intake takes when more arrive than it can serve.

Per-client rate limits (:mod:`service.web.ratelimit`) do not stop a flood from many
addresses. Without shedding, such a flood queues in gunicorn's listen backlog, where
every request, good ones included, waits longer and longer. :class:`AdmissionGate` is
WSGI middleware in front of Flask; for each ``POST /api/v1/comments`` it applies two
limits, both off by default, and answers a post over either at once with 503 and
``Retry-After: 1`` (problem JSON, or a short HTML page for a browser form), without
Flask, the captcha check or anything stored:

``COMMENTGATE_INTAKE_MAX_WAIT_MS`` (queue wait)
    A post that has already waited longer than this before a worker process picked it
    up is shed: its client gets a quick answer instead of a slow one, and the time goes
    to the posts behind it. The wait is what the kernel knows: the time since the
    request's last bytes arrived on the connection (``TCP_INFO``'s ``last_data_recv``,
    millisecond resolution; Linux, TCP listeners under ``commentgate web``). Where it
    cannot be known (another platform, a Unix socket, the development server) this
    limit does not apply. Shedding on it makes no Redis round trip (the shed posts are
    counted in process and added to the metric once a second). This is what bounds
    the latency of the posts that are accepted: none has queued for longer than the
    limit, whatever arrives.

``COMMENTGATE_INTAKE_MAX_PER_SECOND`` (admission rate)
    Caps the posts admitted per second from everybody together, as a rate, not as a
    count per window: the generic cell rate algorithm (GCRA) admits one post every
    ``1 / per_second`` seconds on average, with a burst of :data:`BURST_SECONDS` worth
    of posts at most (at least one), timed by the Redis server's clock so every web
    process agrees. One Redis round trip (a Lua script) per post. A fixed one-second
    window would admit a whole second's posts the moment it opens and shed everything
    after, so the admitted work would arrive as a burst for the servers to queue.

Both count a shed post in ``commentgate_comments_received{outcome="unavailable"}``.
Sizing the rate: if a shed costs ``s`` of an intake, keeping the web servers at a
utilisation ``u`` while ``f`` times their intake capacity C arrives needs a cap of at
most ``(u - f s) / (1 - s)`` x C (``benchmarks/overload.py`` measures C, the shed rate
and the effect; docs/performance.md has the figures). A request shed through
Flask-Limiter cost more than an accepted one (docs/performance.md, "Overload and load
shedding"): hence middleware, not a Flask-Limiter limit.

While Redis is unreachable the rate is not enforced (nothing can be stored then anyway:
intake answers 503 itself); the queue-wait limit still is.
"""

from __future__ import annotations

import atexit
import logging
import socket
import struct
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import redis
from flask import Flask

from service.core import metrics
from service.core.store import keys

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger(__name__)

#: The requests the gate applies to.
INTAKE_METHOD, INTAKE_PATH = "POST", "/api/v1/comments"
#: Redis key holding the admission schedule (GCRA's theoretical arrival time, in us).
ADMISSION_KEY = keys.ADMISSION
#: Posts that may arrive together: this many seconds' worth of the rate (at least one).
BURST_SECONDS = 0.1
#: Seconds between additions of wait-shed posts to the Redis counter (see
#: :meth:`AdmissionGate._count_shed`).
SHED_COUNT_INTERVAL = 1.0
#: ``Retry-After`` of a shed request.
SHED_RETRY_AFTER_SECONDS = 1
PROBLEM_JSON = "application/problem+json"

#: GCRA: admit a post unless the schedule is more than the burst tolerance ahead of now;
#: an admitted post moves the schedule one interval on. A shed post is counted in the
#: metrics instead. One round trip either way; the clock is the Redis server's.
#: KEYS: schedule, metrics counters hash; ARGV: interval us, tolerance us, metrics field
#: Returns 1 when the post is admitted, 0 when it is shed.
ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > tonumber(ARGV[2]) then
  redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
  return 0
end
tat = tat + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX',
  math.floor((tat - now) / 1000) + 1000)
return 1
"""

#: ``struct tcp_info`` (linux/tcp.h) up to ``tcpi_last_data_recv``: a u32 of
#: milliseconds after 8 one-byte fields and 11 u32s.
_TCP_INFO = getattr(socket, "TCP_INFO", None)
_LAST_DATA_RECV = struct.Struct("=52xI")

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


def queue_wait_ms(environ: WSGIEnvironment) -> int | None:
    """Milliseconds since the request's last bytes reached the server's socket.

    Args:
        environ: The WSGI environ; gunicorn puts the connection in ``gunicorn.socket``.

    Returns:
        The wait, or None where the kernel cannot tell (no TCP connection, no
        ``TCP_INFO`` on this platform).
    """
    sock = environ.get("gunicorn.socket")
    if sock is None or _TCP_INFO is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _LAST_DATA_RECV.size)
    except (OSError, AttributeError):
        return None  # a Unix socket, or not a socket at all
    if len(info) < _LAST_DATA_RECV.size:
        return None
    return int(_LAST_DATA_RECV.unpack(info)[0])


class AdmissionGate:
    """WSGI middleware shedding comment posts over the wait or rate limit.

    Args:
        app: The WSGI application behind the gate (Flask's ``wsgi_app``).
        client: Redis, shared by every process, so the rate is global.
        per_second: Posts admitted per second from all clients together, evenly spread
            (0: no rate limit).
        max_wait_ms: A post that waited longer than this is shed (0: no wait limit).
    """

    def __init__(
        self, app: WSGIApplication, client: redis.Redis, per_second: int, max_wait_ms: int
    ) -> None:
        self.app = app
        self.per_second = per_second
        self.max_wait_ms = max_wait_ms
        #: Posts that may be admitted at once, however long the gate was idle.
        self.burst = max(1, round(per_second * BURST_SECONDS))
        self._interval_us = 1_000_000 / per_second if per_second else 0.0
        self._tolerance_us = (self.burst - 1) * self._interval_us
        self._client = client
        #: Posts shed for their wait and not yet added to the Redis counter.
        self._uncounted = 0
        self._count_due = 0.0
        self._admit = client.register_script(ADMIT)
        self._metric = metrics.Metrics.counter_field(
            metrics.COMMENTS_RECEIVED,
            site="",
            outcome="unavailable",  # before its site is read
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer a post over a limit with 503; pass everything else to the app."""
        if (
            environ.get("REQUEST_METHOD") == INTAKE_METHOD
            and environ.get("PATH_INFO") == INTAKE_PATH
            and not self.admitted(environ)
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

    def admitted(self, environ: WSGIEnvironment) -> bool:
        """Whether to take this post: False when it waited too long or is over the rate.

        Args:
            environ: The post's WSGI environ (for its queue wait).

        Returns:
            True to pass it on. With Redis down the rate is not checked.
        """
        if self.max_wait_ms:
            waited = queue_wait_ms(environ)
            if waited is not None and waited > self.max_wait_ms:
                self._count_shed()
                return False
        if not self.per_second:
            return True
        try:
            return bool(
                self._admit(
                    keys=[ADMISSION_KEY, self._metric[0]],
                    args=[self._interval_us, self._tolerance_us, self._metric[1]],
                )
            )
        except redis.RedisError as exc:
            logger.debug("admission rate not checked: %s", type(exc).__name__)
            return True

    def _count_shed(self) -> None:
        """Count a post shed for its wait: in process, added to Redis once a second.

        A shed must not wait for Redis (that wait is what the limit fights), so the
        counts are batched: the metric lags by at most :data:`SHED_COUNT_INTERVAL` while
        posts keep coming, and what is left is added when the process exits.
        """
        self._uncounted += 1
        now = time.monotonic()
        if now >= self._count_due:
            self._count_due = now + SHED_COUNT_INTERVAL
            self.flush_counts()

    def flush_counts(self) -> None:
        """Add the posts shed for their wait so far to the Redis counter."""
        count, self._uncounted = self._uncounted, 0
        if not count:
            return
        try:
            self._client.hincrby(*self._metric, count)
        except redis.RedisError as exc:
            self._uncounted += count  # kept for the next attempt
            logger.debug("shed posts not counted yet: %s", type(exc).__name__)


def install(app: Flask, client: redis.Redis, per_second: int, max_wait_ms: int) -> None:
    """Put an :class:`AdmissionGate` in front of ``app`` when either limit is set.

    Args:
        app: The Flask app.
        client: Its Redis client.
        per_second: ``COMMENTGATE_INTAKE_MAX_PER_SECOND`` (0: off).
        max_wait_ms: ``COMMENTGATE_INTAKE_MAX_WAIT_MS`` (0: off).
    """
    if per_second > 0 or max_wait_ms > 0:
        gate = AdmissionGate(app.wsgi_app, client, per_second, max_wait_ms)
        app.wsgi_app = gate  # type: ignore[method-assign]
        atexit.register(gate.flush_counts)
