"""``commentgate moderators add|list|revoke``."""

from __future__ import annotations

import click
import redis

from service.core.accounts import AccountError, ModeratorStore, Role
from service.core.console import settings_or_exit
from service.core.redis_client import connect
from service.core.store import isoformat


def _store() -> ModeratorStore:
    settings = settings_or_exit()
    return ModeratorStore(connect(settings.redis_url))


def _unavailable(exc: redis.RedisError) -> click.ClickException:
    return click.ClickException(f"Redis is unreachable: {exc}")


@click.group()
def moderators() -> None:
    """Manage moderator accounts and their API tokens."""


@moderators.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.MODERATOR.value,
    show_default=True,
)
@click.option(
    "--site",
    "sites",
    multiple=True,
    help="A site whose comments NAME sees and acts on (repeatable; default: every site).",
)
def add(name: str, role: str, sites: tuple[str, ...]) -> None:
    """Create NAME and print its token (shown once; only its hash is kept)."""
    try:
        token = _store().add(name, Role(role), list(sites) if sites else None)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    except redis.RedisError as exc:
        raise _unavailable(exc) from None
    click.echo(token)
    click.echo(f"created {role} {name!r}; keep the token above: it is not shown again", err=True)


@moderators.command("list")
def list_() -> None:
    """List moderators and their roles."""
    try:
        accounts = _store().list()
    except redis.RedisError as exc:
        raise _unavailable(exc) from None
    if not accounts:
        click.echo("no moderators yet: commentgate moderators add NAME", err=True)
        return
    width = max(len(m.name) for m in accounts)
    for m in accounts:
        scope = ",".join(m.sites) if m.sites is not None else "all sites"
        click.echo(
            f"{m.name.ljust(width)}  {m.role.value:<9}  created {isoformat(m.created_at)}  {scope}"
        )


@moderators.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Delete NAME; its token stops working at once."""
    try:
        _store().revoke(name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    except redis.RedisError as exc:
        raise _unavailable(exc) from None
    click.echo(f"revoked {name!r}", err=True)
