"""Sites: the websites one commentgate serves, each with its key and its own settings.

A site is named by a short id (``blog``, ``news-eu``). Every comment, thread, list of
a moderator's queue, learnt model and campaign memory belongs to one site. What
existed before sites is the default site (:data:`~service.core.store.keys.DEFAULT_SITE`):
it always exists, takes the global settings, and needs no key, so nothing breaks.

A site's key (``cgs_...``) is shown once when the site is added (or its key rotated)
and stored only as its SHA-256 digest, like a moderator's token. With it, a site's
own server may post comments on behalf of its readers (their address, user agent and
referrer are trusted only then) and speak the Akismet protocol.

A site may also have an *Akismet key* (:meth:`SiteRegistry.issue_akismet_key`): an
alias shaped like Akismet's own keys (12 lower-case hexadecimal characters), which the
WordPress plugin's settings page accepts where it refuses a ``cgs_`` key. It is valid on
the Akismet endpoints (``/1.1/``) only, shown once and stored as its digest too.

Revoking a site (:meth:`SiteRegistry.revoke`) deletes both keys' digests at once and
marks the site revoked: intake then refuses every new comment of it (its keys find
nothing; a browser's post naming it is refused). Its stored comments, lists and models
stay, and its moderators keep working on them. The default site's revocation removes its
keys only: it still takes the posts that name no site, which need no key.

Per-site settings left unset (``None``) fall back to the global ``COMMENTGATE_*``
setting of the same meaning (:meth:`Site.settings_over`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

import redis
from limits import parse_many

from service.core.settings import Settings
from service.core.store import keys
from service.core.store.keys import DEFAULT_SITE

__all__ = [
    "AKISMET_KEY_PATTERN",
    "KEY_PREFIX",
    "NAME_PATTERN",
    "Site",
    "SiteError",
    "SiteRegistry",
    "site_key_digest",
]

KEY_PREFIX = "cgs_"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
#: A site's Akismet key: what the WordPress plugin keeps of a key typed into its settings
#: page (it strips all but ``[a-f0-9]``, any case, and refuses anything but 12 of them).
AKISMET_KEY_PATTERN = re.compile(r"[0-9a-f]{12}")  # fullmatch
#: Tries at finding an Akismet key no other site has (48 random bits each).
_AKISMET_KEY_TRIES = 8

#: The per-site settings a site may set, and the global setting each falls back to.
OVERRIDABLE = (
    "allowed_origins",
    "premoderation",
    "publish_below",
    "spam_above",
    "learning",
    "verifies_own_challenge",
    "rate_limit_site",
)


class SiteError(ValueError):
    """An invalid name, URL or origin, a duplicate, or an unknown site."""


def site_key_digest(key: str) -> str:
    """The stored form of a site key."""
    return hashlib.sha256(key.encode()).hexdigest()


def check_origin(origin: str) -> str:
    """``origin`` as a browser sends it (``scheme://host[:port]``), or :class:`SiteError`."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise SiteError(f"an origin is scheme://host[:port], not {origin!r}")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def check_rate_limit(limit: str) -> str:
    """``limit`` if Flask-Limiter reads it (``600/minute``, ``10/second;20000/day``)."""
    try:
        parsed = parse_many(limit)
    except ValueError:
        parsed = []
    if not parsed:
        raise SiteError(f"a rate limit is like '600/minute', not {limit[:64]!r}")
    return limit


@dataclass(frozen=True, slots=True)
class Site:
    """A site and its own settings (``None``: the global setting applies).

    Attributes:
        name: The site's id.
        url: The site's address (shown to moderators; its origin is allowed by default).
        created_at: When the site was added (epoch seconds).
        allowed_origins: Origins whose browsers may post to this site (CORS).
        premoderation: Hold every comment for a moderator.
        publish_below: Publish below this score.
        spam_above: File as spam at or above this score.
        learning: Learn a site model from this site's moderators' labels.
        verifies_own_challenge: The site's server checks its own challenge (its own
            captcha, a login): its key-authenticated posts need no commentgate captcha.
        rate_limit_site: Ceiling on the comments the whole site may post (e.g.
            ``"600/minute"``), beside the per-commenter limit.
        webhooks: Receivers of this site's events, by URL, with their ``whsec_`` secret.
        revoked: The site was revoked: its keys are gone and intake refuses its new
            comments (the default site: its keys only).
        revoked_at: When it was revoked (epoch seconds; 0 when it is not).
        akismet_key: Whether the site has an Akismet key (``sites akismet-key``).
    """

    name: str
    url: str = ""
    created_at: float = 0.0
    allowed_origins: tuple[str, ...] | None = None
    premoderation: bool | None = None
    publish_below: float | None = None
    spam_above: float | None = None
    learning: bool | None = None
    verifies_own_challenge: bool = False
    rate_limit_site: str | None = None
    webhooks: dict[str, str] = field(default_factory=dict)
    revoked: bool = False
    revoked_at: float = 0.0
    akismet_key: bool = False

    @property
    def is_default(self) -> bool:
        """Whether this is the default site (what existed before sites)."""
        return self.name == DEFAULT_SITE

    @property
    def closed(self) -> bool:
        """Whether intake refuses this site's new comments (revoked, and not the default)."""
        return self.revoked and not self.is_default

    @property
    def learns(self) -> bool:
        """Whether this site's moderators' labels teach its site model (on by default)."""
        return self.learning is not False

    def origins(self, settings: Settings) -> tuple[str, ...]:
        """The origins whose browsers may post to this site."""
        if self.allowed_origins is not None:
            return self.allowed_origins
        if self.is_default:
            return tuple(settings.allowed_origins)
        return (check_origin(self.url),) if self.url else ()

    def settings_over(self, settings: Settings) -> Settings:
        """The global settings with this site's own values in their place."""
        changes: dict[str, Any] = {
            name: getattr(self, name)
            for name in ("premoderation", "publish_below", "spam_above")
            if getattr(self, name) is not None
        }
        return settings.model_copy(update=changes) if changes else settings

    def to_json(self) -> dict[str, Any]:
        """The site as stored and as the API shows it (never a key or a webhook secret)."""
        data = dataclasses.asdict(self)
        data["webhooks"] = sorted(self.webhooks)
        return data


def _stored(site: Site) -> dict[str, Any]:
    """What the registry stores of a new site (its keys' digests are added beside)."""
    data = site.to_json()
    for shown_only in ("webhooks", "akismet_key"):
        del data[shown_only]
    return data


def _site(data: dict[str, Any], webhooks: dict[str, str]) -> Site:
    origins = data.get("allowed_origins")
    return Site(
        name=data["name"],
        url=data.get("url", ""),
        created_at=float(data.get("created_at", 0.0)),
        allowed_origins=tuple(origins) if origins is not None else None,
        premoderation=data.get("premoderation"),
        publish_below=data.get("publish_below"),
        spam_above=data.get("spam_above"),
        learning=data.get("learning"),
        verifies_own_challenge=bool(data.get("verifies_own_challenge", False)),
        rate_limit_site=data.get("rate_limit_site"),
        webhooks=webhooks,
        revoked=bool(data.get("revoked", False)),
        revoked_at=float(data.get("revoked_at", 0.0)),
        akismet_key=bool(data.get("akismet_digest")),
    )


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
        stored = _stored(site) | {"digest": digest}
        if not self.client.hsetnx(keys.SITES, name, json.dumps(stored)):
            raise SiteError(f"site {name!r} exists already")
        self.client.hset(keys.SITE_KEYS, digest, name)
        return site, key

    def get(self, name: str) -> Site | None:
        """A site by name; the default site always exists."""
        data = self._read(name)
        if data is None:
            return Site(name=DEFAULT_SITE) if name == DEFAULT_SITE else None
        return _site(data, self.receivers(data["name"]))

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
            data["name"]: _site(data, {k.decode(): v.decode() for k, v in urls.items()})
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
                data = _stored(Site(name=DEFAULT_SITE, created_at=time.time()))
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
