"""The one way commentgate connects to Redis: a plain URL, or Sentinel for failover.

``COMMENTGATE_REDIS_URL`` takes what redis-py's ``from_url`` takes (``redis://``,
``rediss://``, ``unix://``), or a Sentinel URL::

    redis+sentinel://[:password@]sentinel1:26379,sentinel2:26379/<service>[?db=N]

With Sentinel, every process asks the Sentinels for the current primary of
``<service>`` and follows it after a failover (redis-py's ``Sentinel.master_for``);
``password`` is the primary's, and ``sentinel_password`` in the query, if given, the
Sentinels'.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel"


def is_sentinel(url: str) -> bool:
    """Whether ``url`` names Sentinels rather than one server."""
    return url.startswith(SENTINEL_SCHEME + "://")


def parse_sentinel_url(url: str) -> tuple[list[tuple[str, int]], str, int, str | None, str | None]:
    """Split a Sentinel URL into (sentinels, service, db, password, sentinel password).

    Raises:
        ValueError: The URL is not of the documented form.
    """
    parts = urlsplit(url)
    auth, _, hosts = parts.netloc.rpartition("@")
    password = unquote(auth.partition(":")[2]) if auth else None
    sentinels = []
    for host in filter(None, hosts.split(",")):
        name, _, port = host.rpartition(":")
        if not name or not port.isdigit():
            raise ValueError(f"sentinel {host!r} is not host:port")
        sentinels.append((name.strip("[]"), int(port)))
    service = parts.path.strip("/")
    if not sentinels or not service or "/" in service:
        raise ValueError("expected redis+sentinel://host:port[,host:port...]/service[?db=N]")
    query = parse_qs(parts.query)
    db_text = query.get("db", ["0"])[0]
    if not db_text.isdigit():
        raise ValueError("db must be a number")
    sentinel_password = query.get("sentinel_password", [None])[0]
    return sentinels, service, int(db_text), password or None, sentinel_password


def riding_out_outages(seconds: float = 60.0) -> dict[str, Any]:
    """redis-py options that retry a command through a Redis restart or a full Redis.

    The retries last about ``seconds``.
    For long-running workers and the scheduler: RQ 3 exits when a connection error hits
    outside its dequeue loop, so their client rides out a restart instead. A command
    whose reply was lost may run twice; scoring is idempotent and the reconciler
    re-queues anything a lost job held. A write refused as out of memory (``-OOM``)
    did not run (a Lua script is refused at its first write, before any change), so
    it is retried the same way; past ``seconds`` the error reaches the caller, and
    ``commentgate worker`` and ``scheduler`` start their loop again.
    """
    return {
        "retry": Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), int(seconds)),
        "retry_on_error": [
            redis.ConnectionError,
            redis.TimeoutError,
            redis.exceptions.OutOfMemoryError,
        ],
    }


def connect(url: str, **options: Any) -> redis.Redis:
    """A client for ``url`` (see the module docstring), with redis-py ``options``."""
    if not is_sentinel(url):
        return redis.Redis.from_url(url, **options)
    sentinels, service, db, password, sentinel_password = parse_sentinel_url(url)
    sentinel_kwargs = {"password": sentinel_password} if sentinel_password else {}
    timeouts = {k: v for k, v in options.items() if k.startswith("socket_")}
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        sentinels, sentinel_kwargs=sentinel_kwargs or None, **timeouts
    )
    client: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
        service, db=db, password=password, **options
    )
    return client


def limits_storage_uri(url: str) -> str:
    """The same Redis as a storage URI for the ``limits`` library (Flask-Limiter).

    Examples:
        >>> limits_storage_uri("unix:///run/redis.sock?db=0")
        'redis+unix:///run/redis.sock?db=0'
    """
    if url.startswith("unix://"):
        return "redis+" + url
    if not is_sentinel(url):
        return url
    parts = urlsplit(url)
    return f"{SENTINEL_SCHEME}://{parts.netloc}/{parts.path.strip('/')}"
