"""The site registry: names, keys stored as digests, per-site settings, revocation."""

from __future__ import annotations

import pytest
import redis

from service.core.settings import Settings
from service.core.sites import (
    AKISMET_KEY_PATTERN,
    KEY_PREFIX,
    SiteError,
    SiteRegistry,
    site_key_digest,
)
from service.core.store import keys
from service.core.store.keys import DEFAULT_SITE


@pytest.fixture
def sites(redis_client: redis.Redis) -> SiteRegistry:
    return SiteRegistry(redis_client)


def test_a_new_sites_key_is_shown_once_and_stored_only_as_a_digest(
    sites: SiteRegistry, redis_client: redis.Redis
) -> None:
    site, key = sites.add("blog", url="https://blog.example/posts/")
    assert site.url == "https://blog.example/posts/"
    assert key.startswith(KEY_PREFIX)
    stored = b"".join(redis_client.hgetall(keys.SITES).values())
    assert key.encode() not in stored
    assert site_key_digest(key).encode() in stored
    assert sites.name_for_key(key) == "blog"
    assert sites.name_for_key(key + "x") is None
    assert sites.name_for_key("cgm_not-a-site-key") is None


def test_the_default_site_always_exists_and_comes_first(sites: SiteRegistry) -> None:
    assert [s.name for s in sites.list()] == [DEFAULT_SITE]
    sites.add("zine")
    sites.add("alpha")
    assert [s.name for s in sites.list()] == [DEFAULT_SITE, "alpha", "zine"]
    default = sites.require(DEFAULT_SITE)
    assert default.is_default
    assert default.learns


@pytest.mark.parametrize("name", ["", "Blog", "-blog", "a b", "x" * 64, "blog/../x"])
def test_bad_site_names_are_refused(sites: SiteRegistry, name: str) -> None:
    with pytest.raises(SiteError, match="site name"):
        sites.add(name)


def test_a_duplicate_or_an_unknown_site_is_an_error(sites: SiteRegistry) -> None:
    sites.add("blog")
    with pytest.raises(SiteError, match="exists already"):
        sites.add("blog")
    with pytest.raises(SiteError, match="no site named"):
        sites.revoke("nowhere")
    with pytest.raises(SiteError, match="no site named"):
        sites.configure("nowhere", premoderation=True)


def test_revoking_stops_both_keys_at_once(sites: SiteRegistry) -> None:
    _, key = sites.add("blog")
    alias = sites.issue_akismet_key("blog")
    assert not sites.is_revoked("blog")
    sites.revoke("blog")
    assert sites.name_for_key(key) is None
    assert sites.name_for_akismet_key(alias) is None
    assert sites.is_revoked("blog")
    site = sites.require("blog")
    assert site.revoked
    assert site.closed
    assert site.revoked_at > 0
    assert not site.akismet_key
    with pytest.raises(SiteError, match="revoked"):
        sites.issue_akismet_key("blog")
    sites.revoke("blog")  # again: nothing changes, the time stays
    assert sites.require("blog").revoked_at == site.revoked_at


def test_the_default_site_loses_its_keys_only(sites: SiteRegistry) -> None:
    _, key = sites.add(DEFAULT_SITE)
    sites.revoke(DEFAULT_SITE)
    default = sites.require(DEFAULT_SITE)
    assert sites.name_for_key(key) is None
    assert default.revoked
    assert not default.closed  # posts naming no site need no key


def test_an_akismet_key_is_akismet_shaped_stored_as_a_digest_and_rotated(
    sites: SiteRegistry, redis_client: redis.Redis
) -> None:
    _, key = sites.add("blog")
    assert not sites.require("blog").akismet_key
    alias = sites.issue_akismet_key("blog")
    assert AKISMET_KEY_PATTERN.fullmatch(alias)
    assert sites.require("blog").akismet_key
    stored = b"".join(redis_client.hgetall(keys.SITES).values())
    stored += b"".join(redis_client.hgetall(keys.SITE_AKISMET_KEYS))
    assert alias.encode() not in stored
    assert site_key_digest(alias).encode() in stored
    assert sites.name_for_akismet_key(alias) == "blog"
    assert sites.name_for_akismet_key(alias.upper()) == "blog"  # as typed into WordPress
    assert sites.name_for_akismet_key(key) == "blog"  # the site key is an Akismet key too
    assert sites.name_for_key(alias) is None  # but the alias is no site key
    rotated = sites.issue_akismet_key("blog")
    assert rotated != alias
    assert sites.name_for_akismet_key(alias) is None
    assert sites.name_for_akismet_key(rotated) == "blog"
    assert redis_client.hlen(keys.SITE_AKISMET_KEYS) == 1
    with pytest.raises(SiteError, match="no site named"):
        sites.issue_akismet_key("nowhere")
    assert redis_client.hlen(keys.SITE_AKISMET_KEYS) == 1  # nothing left behind
    assert sites.name_for_akismet_key("0123456789ab") is None
    assert sites.name_for_akismet_key("not-a-key") is None
    assert sites.name_for_akismet_key(rotated + "\n") is None


def test_site_settings_fall_back_to_the_global_ones(sites: SiteRegistry) -> None:
    settings = Settings(env="development", allowed_origins=["https://global.example"])
    sites.add("blog", url="https://blog.example/")
    blog = sites.require("blog")
    assert blog.origins(settings) == ("https://blog.example",)
    assert blog.settings_over(settings) is settings
    blog = sites.configure(
        "blog",
        premoderation=True,
        spam_above=0.95,
        allowed_origins=["https://blog.example", "https://www.blog.example:8443"],
        learning=False,
    )
    assert blog.origins(settings) == ("https://blog.example", "https://www.blog.example:8443")
    mine = blog.settings_over(settings)
    assert (mine.premoderation, mine.spam_above, mine.max_links) == (True, 0.95, 2)
    assert not blog.learns
    assert sites.require(DEFAULT_SITE).origins(settings) == ("https://global.example",)
    with pytest.raises(SiteError, match="origin"):
        sites.configure("blog", allowed_origins=["blog.example"])
    with pytest.raises(SiteError, match="no setting"):
        sites.configure("blog", secret_key="x")
