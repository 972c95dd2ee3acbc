"""``commentgate model``: the model versions learnt from moderators, and rollback.

Versions live in Redis, per site (:mod:`service.core.model_registry`; ``--site``, the
default site by default); workers switch to a site's current one at their next batch
of its comments, without a restart. Errors are one line, exit status 1.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
import redis

from service.core.console import settings_or_exit
from service.core.model_registry import (
    ModelRegistry,
    ModelVersion,
    NotRestorableError,
    UnknownVersionError,
)
from service.core.sites import SiteError, SiteRegistry
from service.core.store.keys import DEFAULT_SITE
from service.core.store.upgrade import upgrade_keys

__all__ = ["model"]

NOTHING_PROMOTED = (
    "workers use their base model (COMMENTGATE_MODEL_PATH or the shipped one): nothing is promoted"
)


def _site_option(func: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--site",
        default=DEFAULT_SITE,
        show_default=True,
        help="The site whose models (each site has its own versions).",
    )(func)


@contextmanager
def _registry(site: str) -> Iterator[ModelRegistry]:
    """A site's registry on the configured Redis; expected failures become one-line errors."""
    settings = settings_or_exit()
    client = redis.Redis.from_url(settings.redis_url)
    try:
        upgrade_keys(client)
        SiteRegistry(client).require(site)
        yield ModelRegistry(client, site=site, keep=settings.model_keep_versions)
    except SiteError as exc:
        raise click.ClickException(str(exc)) from None
    except (UnknownVersionError, NotRestorableError) as exc:
        raise click.ClickException(str(exc.args[0])) from None
    except redis.RedisError as exc:
        raise click.ClickException(f"Redis at the configured URL: {exc}") from None
    finally:
        client.close()


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return "-"
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def metrics_of(card: dict[str, Any]) -> str:
    """The figures a card reports: a site model's, a learnt version's or a base's."""
    site = card.get("site_layer")
    if site:
        reference = card.get("learning", {}).get("guard", {}).get("reference", {})
        ref_auc = (
            reference.get("candidate", {}).get("roc_auc") if isinstance(reference, dict) else None
        )
        tail = f" ref AUC {ref_auc:.4f}" if isinstance(ref_auc, int | float) else ""
        return f"site oof AUC {site.get('out_of_fold_roc_auc', 0):.4f}{tail}"
    validation = card.get("learning", {}).get("validation", {}).get("candidate")
    if validation:
        return f"val AUC {validation['roc_auc']:.4f} F1 {validation['f1']:.4f}"
    metrics = card.get("metrics") or {}
    if "roc_auc" in metrics:
        f1 = metrics.get("at_spam_above", {}).get("f1")
        tail = f" F1 {f1:.4f}" if isinstance(f1, int | float) else ""
        return f"oof AUC {metrics['roc_auc']:.4f}{tail}"
    return "-"


def feedback_of(card: dict[str, Any]) -> int:
    """How many labels the version learnt from, since its base."""
    if "site_layer" in card:
        return int(card["site_layer"].get("labels", 0))
    return int(card.get("learning", {}).get("feedback_total", 0))


def _row(version: ModelVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "current": version.current,
        "status": version.status,
        "created": _when(version.created),
        "promoted": _when(version.promoted_at),
        "metrics": metrics_of(version.card),
        "feedback": feedback_of(version.card),
        "from": version.card.get("learning", {}).get("from_version"),
    }


@click.group()
def model() -> None:
    """Model versions learnt from moderators: list, show, roll back."""


@model.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@_site_option
def list_versions(as_json: bool, site: str) -> None:
    """List a site's stored versions, oldest first; `*` marks the current one."""
    with _registry(site) as registry:
        versions = registry.list()
        current = registry.current()
    rows = [_row(v) for v in versions]
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return
    if not rows:
        click.echo(f"no model versions in Redis; {NOTHING_PROMOTED}")
        return
    header = {
        "current": "",
        "version": "VERSION",
        "status": "STATUS",
        "created": "CREATED (UTC)",
        "promoted": "PROMOTED (UTC)",
        "metrics": "METRICS",
        "feedback": "FEEDBACK",
    }
    table = [header] + [{**row, "current": "*" if row["current"] else ""} for row in rows]
    widths = {key: max(len(str(line[key])) for line in table) for key in header}
    for line in table:
        click.echo("  ".join(str(line[key]).ljust(widths[key]) for key in header).rstrip())
    if current is None:
        click.echo(NOTHING_PROMOTED)


@model.command()
@click.argument("version")
@_site_option
def show(version: str, site: str) -> None:
    """Print the model card of VERSION (JSON)."""
    with _registry(site) as registry:
        card = registry.card(version)
    click.echo(json.dumps(card, indent=2))


@model.command()
@click.argument("version")
@_site_option
def promote(version: str, site: str) -> None:
    """Make VERSION (a stored version the guard did not refuse) the site's current one."""
    with _registry(site) as registry:
        previous = registry.promote(version, actor=f"cli:{_user()}", note="cli")
    _switched(version, previous, site)


@model.command()
@click.argument("version")
@_site_option
def rollback(version: str, site: str) -> None:
    """Make VERSION (an earlier promoted version or the base) current again."""
    with _registry(site) as registry:
        previous = registry.rollback(version, actor=f"cli:{_user()}")
    _switched(version, previous, site)


def _switched(version: str, previous: str | None, site: str) -> None:
    click.echo(
        f"current model of site {site}: {version} (was {previous or 'the base model'}); "
        "workers switch at their next batch"
    )


@model.command()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@_site_option
def history(limit: int, site: str) -> None:
    """A site's promotions and rollbacks, newest first."""
    with _registry(site) as registry:
        events = registry.history(limit)
    for event in events:
        click.echo(
            f"{_when(event['at'])}  {event['action']:8s}  {event['version']}  "
            f"(was {event['previous'] or 'base'})  by {event['actor']}"
        )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
