"""``commentgate config``: print the effective configuration, secrets masked.

Every ``COMMENTGATE_*`` setting is listed with its value and where the value came
from (``environment`` or ``default``). Secret fields never show their value, and
credentials inside URLs (``redis://:password@host``) are masked too, so the output
can be pasted into a bug report.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import click
from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings

from service.core.console import settings_or_exit
from service.core.logs import LogSettings
from service.core.settings import ENV_PREFIX

#: What a masked secret shows instead of its value.
MASK = "********"
#: Query parameters of a URL that carry credentials (redis-py reads ``password``).
_SECRET_QUERY_KEYS = frozenset({"password", "pass", "pwd", "token", "secret", "key", "api_key"})

ENVIRONMENT = "environment"
DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """One setting as ``commentgate config`` reports it.

    Attributes:
        field: The settings field name, e.g. ``redis_url``.
        env: The environment variable that sets it, e.g. ``COMMENTGATE_REDIS_URL``.
        value: The value, JSON-serialisable, with secrets masked.
        source: ``environment`` or ``default``.
        secret: Whether the whole value is secret.
    """

    field: str
    env: str
    value: Any
    source: str
    secret: bool


def mask_url(url: str) -> str:
    """Hide the password (and secret query parameters) of a URL.

    Args:
        url: Any string; strings that are not ``scheme://`` URLs come back unchanged.

    Returns:
        The URL with its password replaced by :data:`MASK`.

    Examples:
        >>> mask_url("redis://:s3cret@redis:6379/0")
        'redis://:********@redis:6379/0'
        >>> mask_url("https://hooks.example/x?token=abc&a=1")
        'https://hooks.example/x?token=********&a=1'
    """
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    netloc = parts.netloc
    if password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        username = userinfo.split(":", 1)[0]
        netloc = f"{username}:{MASK}@{hostport}"
    query = parts.query
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(key.lower() in _SECRET_QUERY_KEYS for key, _ in pairs):
        query = urlencode(
            [(k, MASK if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in pairs], safe="*"
        )
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return any(_is_secret(arg) for arg in typing.get_args(annotation))
    return False


def _plain(value: Any) -> Any:
    """A JSON-serialisable, credential-free version of a setting's value."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {mask_url(str(key)): _plain(item) for key, item in value.items()}
    if isinstance(value, PurePath):
        return str(value)
    return mask_url(str(value))


def entries_of(settings: BaseSettings) -> list[ConfigEntry]:
    """Describe every field of a settings object, in declaration order.

    Args:
        settings: Validated settings read from the environment.

    Returns:
        One entry per field; a field counts as ``environment`` when a variable set it.
    """
    fields = type(settings).model_fields
    result = []
    for name, info in fields.items():
        value = getattr(settings, name)
        secret = _is_secret(info.annotation)
        result.append(
            ConfigEntry(
                field=name,
                env=f"{ENV_PREFIX}{name.upper()}",
                value=(MASK if value is not None else None) if secret else _plain(value),
                source=ENVIRONMENT if name in settings.model_fields_set else DEFAULT,
                secret=secret,
            )
        )
    return result


def _display(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_display(item) for item in value) if value else "(empty)"
    if isinstance(value, dict):
        pairs = (f"{key}={_display(item)}" for key, item in value.items())
        return ",".join(pairs) if value else "(empty)"
    return str(value)


def render_table(entries: list[ConfigEntry]) -> str:
    """Render entries as an aligned three-column table.

    Args:
        entries: What :func:`entries_of` returned.

    Returns:
        The table, one line per setting after a header, without a trailing newline.
    """
    rows = [("SETTING", "VALUE", "SOURCE")]
    rows += [(e.env, _display(e.value), e.source) for e in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return "\n".join(
        f"{env.ljust(widths[0])}  {value.ljust(widths[1])}  {source}".rstrip()
        for env, value, source in rows
    )


def render_json(entries: list[ConfigEntry]) -> str:
    """Render entries as a JSON object keyed by environment variable.

    Args:
        entries: What :func:`entries_of` returned.

    Returns:
        ``{"COMMENTGATE_X": {"field": ..., "value": ..., "source": ..., "secret": ...}}``.
    """
    body = {
        e.env: {"field": e.field, "value": e.value, "source": e.source, "secret": e.secret}
        for e in entries
    }
    return json.dumps(body, indent=2)


def _log_settings() -> LogSettings:
    try:
        return LogSettings()
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = error.get("loc") or ("settings",)
        message = error["msg"].removeprefix("Value error, ")
        raise click.ClickException(
            f"invalid configuration: {ENV_PREFIX}{str(loc[0]).upper()}: {message}"
        ) from None


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def config(as_json: bool) -> None:
    """Print the effective configuration and where each value came from.

    Secrets (the secret key, tokens, passwords in URLs) are masked. Exits 1 with a
    one-line message naming the variable when the configuration is invalid.
    """
    entries = entries_of(settings_or_exit()) + entries_of(_log_settings())
    click.echo(render_json(entries) if as_json else render_table(entries))
