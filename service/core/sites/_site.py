"""A site's record: its name, its own settings, and the checks of what may be stored."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many

from service.core.settings import Settings
from service.core.store.keys import DEFAULT_SITE

KEY_PREFIX = "cgs_"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
#: A site's Akismet key: what the WordPress plugin keeps of a key typed into its settings
#: page (it strips all but ``[a-f0-9]``, any case, and refuses anything but 12 of them).
AKISMET_KEY_PATTERN = re.compile(r"[0-9a-f]{12}")  # fullmatch

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


def stored_form(site: Site) -> dict[str, Any]:
    """What the registry stores of a new site (its keys' digests are added beside)."""
    data = site.to_json()
    for shown_only in ("webhooks", "akismet_key"):
        del data[shown_only]
    return data


def site_from_stored(data: dict[str, Any], webhooks: dict[str, str]) -> Site:
    """The site a registry entry (and its receivers) describe."""
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
