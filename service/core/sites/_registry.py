"""The registry of sites on Redis: adding, configuring, revoking, and their keys."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

import redis

from service.core.sites._site import (
    AKISMET_KEY_PATTERN,
    KEY_PREFIX,
    NAME_PATTERN,
    OVERRIDABLE,
    Site,
    SiteError,
    check_origin,
    check_rate_limit,
    site_from_stored,
    site_key_digest,
    stored_form,
)
from service.core.store import keys
from service.core.store.keys import DEFAULT_SITE

__all__ = ["SiteRegistry"]

#: Tries at finding an Akismet key no other site has (48 random bits each).
_AKISMET_KEY_TRIES = 8


class SiteRegistry:
    """Adds, lists, configures, revokes and authenticates sites.

    Args:
        client: Redis connection.
    """

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def _read(self, name: str) -> dict[str, Any] | None:
        raw = cast(bytes | None, self.client.hget(keys.SITES, name))
        return json.loads(raw) if raw is not None else None

    def add(
        self, name: str, url: str = "", origins: tuple[str, ...] | None = None
    ) -> tuple[Site, str]:
        """Add a site and return it with its key (shown once, never stored).

        ``sites add default`` gives the default site a key (its settings stay global).

        Raises:
            SiteError: The name, URL or an origin is invalid, or the site exists.
        """
        if not NAME_PATTERN.match(name):
            raise SiteError(
                "a site name is 1 to 63 lower-case letters, digits or '-', "
                "starting with a letter or digit"
            )
        if url:
            check_origin(urlsplit(url).scheme + "://" + urlsplit(url).netloc)
        checked = tuple(check_origin(o) for o in origins) if origins is not None else None
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        digest = site_key_digest(key)
        site = Site(name=name, url=url, created_at=time.time(), allowed_origins=checked)
        stored = stored_form(site) | {"digest": digest}
        if not self.client.hsetnx(keys.SITES, name, json.dumps(stored)):
            raise SiteError(f"site {name!r} exists already")
        self.client.hset(keys.SITE_KEYS, digest, name)
        return site, key

    def get(self, name: str) -> Site | None:
        """A site by name; the default site always exists."""
        data = self._read(name)
        if data is None:
            return Site(name=DEFAULT_SITE) if name == DEFAULT_SITE else None
        return site_from_stored(data, self.receivers(data["name"]))

    def require(self, name: str) -> Site:
        """A site by name.

        Raises:
            SiteError: No such site.
        """
        site = self.get(name)
        if site is None:
            raise SiteError(f"no site named {name!r} (see `commentgate sites list`)")
        return site

    def list(self, *, webhooks: bool = True) -> list[Site]:
        """Every site, the default one first.

        Args:
            webhooks: Read each site's webhook receivers too (one more round trip for
                them all); without, :attr:`Site.webhooks` is empty.
        """
        raw = cast(dict[bytes, bytes], self.client.hgetall(keys.SITES))
        stored = [json.loads(value) for value in raw.values()]
        receivers: list[dict[bytes, bytes]] = [{} for _ in stored]
        if webhooks and stored:
            with self.client.pipeline(transaction=False) as pipe:
                for data in stored:
                    pipe.hgetall(keys.site_webhooks(data["name"]))
                receivers = pipe.execute()
        found = {
            data["name"]: site_from_stored(data, {k.decode(): v.decode() for k, v in urls.items()})
            for data, urls in zip(stored, receivers, strict=True)
        }
        default = found.pop(DEFAULT_SITE, Site(name=DEFAULT_SITE))
        return [default, *sorted(found.values(), key=lambda s: s.name)]

    def configure(self, name: str, **values: Any) -> Site:
        """Set some of a site's own settings (``None`` puts the global one back).

        Raises:
            SiteError: No such site, or a setting a site cannot have.
        """
        unknown = set(values) - set(OVERRIDABLE)
        if unknown:
            raise SiteError(f"a site has no setting {sorted(unknown)[0]!r}")
        if values.get("allowed_origins") is not None:
            values["allowed_origins"] = [check_origin(o) for o in values["allowed_origins"]]
        if values.get("rate_limit_site") is not None:
            values["rate_limit_site"] = check_rate_limit(values["rate_limit_site"])
        for threshold in ("publish_below", "spam_above"):
            value = values.get(threshold)
            if value is not None and not 0.0 <= float(value) <= 1.0:
                raise SiteError(f"{threshold} is a score from 0 to 1, not {value!r}")
        self._change(name, lambda data, _: data.update(values))
        return self.require(name)

    def _change(
        self,
        name: str,
        change: Callable[[dict[str, Any], redis.client.Pipeline], None],
        *,
        default_too: bool = True,
    ) -> None:
        """Change a stored site in one transaction (retried if a concurrent one changed it).

        Args:
            name: The site.
            change: Changes its stored dict and may queue more commands on the pipeline;
                raises to change nothing.
            default_too: Store the default site first if it is not stored yet.

        Raises:
            SiteError: No such site, or what ``change`` raised.
        """

        def apply(pipe: redis.client.Pipeline) -> None:
            raw = pipe.hget(keys.SITES, name)
            data = json.loads(cast(bytes, raw)) if raw is not None else None
            if data is None:
                if name != DEFAULT_SITE or not default_too:
                    raise SiteError(f"no site named {name!r} (see `commentgate sites list`)")
                data = stored_form(Site(name=DEFAULT_SITE, created_at=time.time()))
            pipe.multi()
            change(data, pipe)
            pipe.hset(keys.SITES, name, json.dumps(data))

        self.client.transaction(apply, keys.SITES)

    def set_webhook(self, name: str, url: str, secret: str | None) -> None:
        """Add (or, with ``secret=None``, remove) one of a site's webhook receivers."""
        self.require(name)
        if secret is None:
            self.client.hdel(keys.site_webhooks(name), url)
        else:
            self.client.hset(keys.site_webhooks(name), url, secret)

    def receivers(self, name: str) -> dict[str, str]:
        """A site's own webhook receivers, URL -> ``whsec_`` secret (one HGETALL)."""
        raw = cast(dict[bytes, bytes], self.client.hgetall(keys.site_webhooks(name)))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def revoke(self, name: str) -> None:
        """Revoke a site at once: its keys stop working, intake refuses its new comments.

        Its stored comments, lists and models stay, for its moderators. The default
        site's revocation removes its keys only (posts naming no site need none).

        Raises:
            SiteError: No such site (the default site only once it has been stored,
                by ``sites add default`` or ``sites configure default``).
        """

        def revoke_in(data: dict[str, Any], pipe: redis.client.Pipeline) -> None:
            if data.get("digest"):
                pipe.hdel(keys.SITE_KEYS, data["digest"])
            if data.get("akismet_digest"):
                pipe.hdel(keys.SITE_AKISMET_KEYS, data["akismet_digest"])
            if not data.get("revoked"):
                data.update(revoked=True, revoked_at=time.time())
            data.update(digest="", akismet_digest="")

        self._change(name, revoke_in, default_too=False)

    def issue_akismet_key(self, name: str) -> str:
        """Give a site a new Akismet key (replacing its last one) and return it, once.

        The key is 12 lower-case hexadecimal characters, the shape of Akismet's own
        keys, which the WordPress plugin's settings page requires; it is valid on the
        Akismet endpoints only and stored as its SHA-256 digest.

        Raises:
            SiteError: No such site, or the site is revoked.
        """
        for _ in range(_AKISMET_KEY_TRIES):
            alias = secrets.token_hex(6)
            digest = site_key_digest(alias)
            if self.client.hsetnx(keys.SITE_AKISMET_KEYS, digest, name):
                break
        else:  # pragma: no cover - 48 random bits taken eight times in a row
            raise SiteError("no free Akismet key found; try again")

        def issue_in(data: dict[str, Any], pipe: redis.client.Pipeline) -> None:
            if data.get("revoked"):
                raise SiteError(f"site {name!r} is revoked; it gets no new key")
            if data.get("akismet_digest"):
                pipe.hdel(keys.SITE_AKISMET_KEYS, data["akismet_digest"])
            data["akismet_digest"] = digest

        try:
            self._change(name, issue_in)
        except BaseException:
            self.client.hdel(keys.SITE_AKISMET_KEYS, digest)
            raise
        return alias

    def name_for_key(self, key: str) -> str | None:
        """The name of the site a ``cgs_`` key belongs to, or ``None``: one ``HGET``.

        Revoking a site deletes its key's digest at once, so a revoked key finds nothing;
        the caller reads the site's settings where it keeps them (the web app caches them).
        """
        if not key.startswith(KEY_PREFIX) or len(key) > 200:
            return None
        name = cast(bytes | None, self.client.hget(keys.SITE_KEYS, site_key_digest(key)))
        return name.decode() if name is not None else None

    def name_for_akismet_key(self, key: str) -> str | None:
        """The name of the site whose key (``cgs_``) or Akismet key this is: one ``HGET``.

        For the Akismet endpoints only. An Akismet key is read in any case (the WordPress
        plugin keeps the case it was typed in).
        """
        alias = key.lower()
        if not AKISMET_KEY_PATTERN.fullmatch(alias):
            return self.name_for_key(key)
        name = cast(bytes | None, self.client.hget(keys.SITE_AKISMET_KEYS, site_key_digest(alias)))
        return name.decode() if name is not None else None

    def is_revoked(self, name: str) -> bool:
        """Whether a site is revoked now (one ``HGET``; an unknown site is not)."""
        data = self._read(name)
        return bool(data and data.get("revoked"))
