"""Which site a request is for: site keys, the sites' settings cached in process.

One mechanism authenticates every site key in the web process,
:meth:`SiteDirectory.site_for_key`: one ``HGET`` finds the key's site (revoking a site
deletes its keys' digests, so that takes effect at once, in every process), and its
settings come from the directory's cache. Intake and the Akismet endpoints both use it.

A site's own server posts with ``Authorization: Bearer cgs_...``. :func:`install` adds
a hook, ahead of the rate limits, that authenticates such a post and remembers the
site in ``g.site``, and the key its per-commenter rate limit counts under in
``g.rate_client``: the commenter's address (``user_ip``, /64 for IPv6) within the site.
Posts without the header pay for nothing but a dictionary lookup.

The sites' settings (origins, captcha, ceilings, webhook receivers) change rarely and
are read on every CORS preflight: :class:`SiteDirectory` keeps them in process for a few
seconds.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time

import redis
from flask import Flask

from service.core.exceptions import UnauthorizedError
from service.core.settings import Settings
from service.core.sites import Site, SiteRegistry
from service.web.api.request_body import read_body
from service.web.client_ip import rate_key
from service.web.request_context import current_request, request_globals

__all__ = ["CACHE_SECONDS", "SiteDirectory", "install"]

logger = logging.getLogger(__name__)

#: Seconds a process keeps the sites' settings before reading them again.
CACHE_SECONDS = 5.0
#: The endpoint a site's server posts comments to.
_INTAKE = "comments.create"


class SiteDirectory:
    """The sites and their settings, read from Redis at most every ``ttl`` seconds.

    Args:
        client: Redis.
        settings: The global settings (the default site's origins are theirs).
        ttl: Seconds between reads.
    """

    def __init__(self, client: redis.Redis, settings: Settings, ttl: float = CACHE_SECONDS) -> None:
        self.registry = SiteRegistry(client)
        self.settings = settings
        self.ttl = ttl
        self._lock = threading.Lock()
        self._sites: dict[str, Site] = {}
        self._origins = frozenset(o.lower() for o in settings.allowed_origins)
        self._due = 0.0

    def _refresh(self) -> None:
        now = time.monotonic()
        if now < self._due:
            return
        with self._lock:
            if now < self._due:
                return
            try:
                found = self.registry.list()  # with the receivers: two round trips
            except redis.RedisError as exc:
                # Keep what is known; try again at the next request after a short wait.
                logger.warning("sites not read: %s", type(exc).__name__)
                self._due = now + 1.0
                return
            self._sites = {site.name: site for site in found}
            self._origins = frozenset(
                origin.lower() for site in found for origin in site.origins(self.settings)
            )
            self._due = now + self.ttl

    def get(self, name: str) -> Site | None:
        """A site by name (a site added since the last read is read at once)."""
        self._refresh()
        site = self._sites.get(name)
        if site is None:
            site = self.registry.get(name)  # one HGET, only for a name not known yet
            if site is not None:
                self._due = 0.0  # a new site: read them all at the next request
        return site

    def site_for_key(self, key: str, *, akismet: bool = False) -> Site | None:
        """The site a key belongs to, or ``None`` (unknown, revoked or malformed).

        One ``HGET`` (revocation deletes the digest, so it takes effect at once); the
        site's settings are the directory's.

        Args:
            key: The key as sent.
            akismet: Also take the site's Akismet key (valid on ``/1.1/`` only).
        """
        registry = self.registry
        name = registry.name_for_akismet_key(key) if akismet else registry.name_for_key(key)
        site = self.get(name) if name is not None else None
        return None if site is None or site.closed else site

    def names(self) -> list[str]:
        """Every site's name, the default one first."""
        self._refresh()
        return list(self._sites) or ["default"]

    def origins(self) -> frozenset[str]:
        """Every site's allowed origins together (what a CORS preflight may be from)."""
        self._refresh()
        return self._origins

    def forget(self) -> None:
        """Read the sites again at the next request (tests, or after a change)."""
        self._due = 0.0


def _commenter_rate_key(site: Site, data: dict[str, object], connection_ip: str) -> str:
    """The key a site's post counts under: its commenter's address within the site."""
    address = str(data.get("user_ip") or "").strip()
    try:
        ipaddress.ip_address(address)
    except ValueError:
        address = connection_ip  # none given, or invalid (intake refuses it then)
    return f"site:{site.name}|{rate_key(address)}"


def install(app: Flask, directory: SiteDirectory) -> None:
    """Authenticate site keys on intake posts, before the rate limits are checked.

    Call after the app's own ``before_request`` hooks (the client's address must be
    known) and before :func:`service.web.ratelimit.install`.
    """

    @app.before_request
    def _identify_site() -> None:
        request = current_request()
        header = request.environ.get("HTTP_AUTHORIZATION")
        if not header or request.url_rule is None or request.url_rule.endpoint != _INTAKE:
            return
        scheme, _, key = header.partition(" ")
        site = directory.site_for_key(key.strip()) if scheme.lower() == "bearer" else None
        if site is None:
            raise UnauthorizedError(
                "the site key is not valid (unknown or revoked)",
                extra={"hint": "send Authorization: Bearer cgs_... (commentgate sites add)"},
            )
        request_g = request_globals()
        request_g.site = site
        request_g.rate_client = _commenter_rate_key(site, read_body(), request_g.client_ip)
