"""``commentgate sites add|list|revoke|configure|webhook|akismet-key``: the sites served.

A site's key (``cgs_...``), its Akismet key (12 hexadecimal characters) and a webhook
receiver's secret (``whsec_...``) are printed once, on standard output, and never again.
Errors are one line, exit status 1.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import click
import redis

from service.core.console import settings_or_exit
from service.core.redis_client import connect
from service.core.settings import WEBHOOK_SECRET_PREFIX, Settings
from service.core.sites import OVERRIDABLE, Site, SiteError, SiteRegistry
from service.core.store import isoformat
from service.core.store.upgrade import upgrade_keys

__all__ = ["sites"]

#: Random bytes of a new webhook receiver's secret (Standard Webhooks allows 24 to 64).
WEBHOOK_SECRET_BYTES = 32


@contextmanager
def _registry() -> Iterator[tuple[SiteRegistry, Settings]]:
    """The registry on the configured Redis; expected failures become one-line errors."""
    settings = settings_or_exit()
    client = connect(settings.redis_url)
    try:
        upgrade_keys(client)
        yield SiteRegistry(client), settings
    except SiteError as exc:
        raise click.ClickException(str(exc)) from None
    except redis.RedisError as exc:
        raise click.ClickException(f"Redis is unreachable: {exc}") from None
    finally:
        client.close()


@click.group()
def sites() -> None:
    """Manage the sites this commentgate serves, their keys and their own settings."""


@sites.command("add")
@click.argument("name")
@click.option("--url", default="", help="The site's address, e.g. https://blog.example/.")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    help="An origin whose browsers may post (repeatable; default: the URL's origin).",
)
def add(name: str, url: str, origins: tuple[str, ...]) -> None:
    """Add NAME and print its key (shown once; only its hash is kept)."""
    with _registry() as (registry, _):
        _, key = registry.add(name, url=url, origins=origins or None)
    click.echo(key)
    click.echo(f"added site {name!r}; keep the key above: it is not shown again", err=True)


def _row(site: Site, settings: Settings) -> dict[str, Any]:
    over = site.settings_over(settings)
    return site.to_json() | {
        "origins": list(site.origins(settings)),
        "effective": {
            "premoderation": over.premoderation,
            "publish_below": over.publish_below,
            "spam_above": over.spam_above,
            "rate_limit_site": site.rate_limit_site or settings.rate_limit_site,
        },
    }


@sites.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
def list_(as_json: bool) -> None:
    """List the sites, their origins and whether their key still works."""
    with _registry() as (registry, settings):
        found = registry.list()
    if as_json:
        for site in found:
            click.echo(json.dumps(_row(site, settings)))
        return
    width = max(len(s.name) for s in found)
    for site in found:
        state = "revoked" if site.revoked else "active"
        created = isoformat(site.created_at) if site.created_at else "-"
        origins = ",".join(site.origins(settings)) or "-"
        revoked = f"  revoked {isoformat(site.revoked_at)}" if site.revoked_at else ""
        click.echo(
            f"{site.name.ljust(width)}  {state:<7}  created {created}{revoked}  "
            f"url {site.url or '-'}  origins {origins}  "
            f"akismet-key {'yes' if site.akismet_key else 'no'}"
        )


@sites.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke NAME at once: its keys stop working and it takes no new comments.

    Its stored comments, lists and models stay, and its moderators still decide them.
    The default site loses its keys only: posts naming no site need none.
    """
    with _registry() as (registry, _):
        registry.revoke(name)
    if name == "default":
        click.echo("revoked the default site's keys; it still takes posts without a key", err=True)
    else:
        click.echo(
            f"revoked site {name!r}: its keys stop working and it takes no new comments; "
            "its comments stay for its moderators",
            err=True,
        )


@sites.command("akismet-key")
@click.argument("name")
def akismet_key(name: str) -> None:
    """Give NAME a new Akismet key and print it (shown once; the last one stops working).

    12 hexadecimal characters, the shape the WordPress Akismet plugin's settings page
    accepts; valid on the Akismet endpoints (/1.1/) only.
    """
    with _registry() as (registry, _):
        key = registry.issue_akismet_key(name)
    click.echo(key)
    click.echo(
        f"site {name!r} has a new Akismet key (for /1.1/ only); keep it: it is not shown again",
        err=True,
    )


@sites.command("configure")
@click.argument("name")
@click.option("--origin", "origins", multiple=True, help="Allowed origin (repeatable).")
@click.option("--premoderation/--no-premoderation", default=None)
@click.option("--publish-below", type=click.FloatRange(0, 1), default=None)
@click.option("--spam-above", type=click.FloatRange(0, 1), default=None)
@click.option("--learning/--no-learning", default=None)
@click.option(
    "--verifies-own-challenge/--relays-captcha",
    default=None,
    help="Whether the site's server checks its own challenge (its posts need no captcha).",
)
@click.option("--rate-limit", default=None, help="Ceiling for the whole site, e.g. 600/minute.")
@click.option(
    "--reset",
    "resets",
    multiple=True,
    type=click.Choice(OVERRIDABLE),
    help="Put the global setting back for this one (repeatable).",
)
def configure(name: str, origins: tuple[str, ...], resets: tuple[str, ...], **given: Any) -> None:
    """Set some of NAME's own settings; those not given stay as they are."""
    values: dict[str, Any] = {
        field: value
        for field, value in (
            ("premoderation", given["premoderation"]),
            ("publish_below", given["publish_below"]),
            ("spam_above", given["spam_above"]),
            ("learning", given["learning"]),
            ("verifies_own_challenge", given["verifies_own_challenge"]),
            ("rate_limit_site", given["rate_limit"]),
        )
        if value is not None
    }
    if origins:
        values["allowed_origins"] = list(origins)
    clash = set(resets) & set(values)
    if clash:
        raise click.ClickException(f"{sorted(clash)[0]} is both set and reset")
    values |= dict.fromkeys(resets)
    if "verifies_own_challenge" in resets:
        values["verifies_own_challenge"] = False
    if not values:
        raise click.ClickException("nothing to configure: give at least one option (see --help)")
    with _registry() as (registry, settings):
        site = registry.configure(name, **values)
        click.echo(json.dumps(_row(site, settings)))


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.ClickException(f"a receiver is an http or https URL, not {url[:200]!r}")
    return url.strip()


@sites.command("webhook")
@click.argument("name")
@click.argument("action", type=click.Choice(["add", "remove"]))
@click.argument("url")
def webhook(name: str, action: str, url: str) -> None:
    """Send NAME's events to URL (add: prints its signing secret once), or stop (remove)."""
    if action == "remove":
        target = url.strip()
        with _registry() as (registry, _):
            if target not in registry.require(name).webhooks:
                raise click.ClickException(f"{target[:200]} is not a receiver of {name!r}")
            registry.set_webhook(name, target, None)
        click.echo(f"{target} no longer receives {name!r}'s events", err=True)
        return
    target = _check_url(url)
    secret = WEBHOOK_SECRET_PREFIX + base64.b64encode(
        secrets.token_bytes(WEBHOOK_SECRET_BYTES)
    ).decode("ascii")
    with _registry() as (registry, _):
        if target in registry.require(name).webhooks:
            raise click.ClickException(f"{target} receives {name!r}'s events already")
        registry.set_webhook(name, target, secret)
    click.echo(secret)
    click.echo(f"{target} now receives {name!r}'s events, signed with the secret above", err=True)
