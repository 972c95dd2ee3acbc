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

from service.core.sites._registry import SiteRegistry
from service.core.sites._site import (
    AKISMET_KEY_PATTERN,
    KEY_PREFIX,
    NAME_PATTERN,
    OVERRIDABLE,
    Site,
    SiteError,
    site_key_digest,
)

__all__ = [
    "AKISMET_KEY_PATTERN",
    "KEY_PREFIX",
    "NAME_PATTERN",
    "OVERRIDABLE",
    "Site",
    "SiteError",
    "SiteRegistry",
    "site_key_digest",
]
