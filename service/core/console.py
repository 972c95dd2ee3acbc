"""Helpers shared by the subcommands."""

from __future__ import annotations

from typing import Any

import click

from service.core.exceptions import ConfigurationError
from service.core.settings import Settings, load_settings


def settings_or_exit(**overrides: Any) -> Settings:
    """Load the settings, or stop with a one-line message naming the bad variable."""
    try:
        return load_settings(**overrides)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None


def secret_or_exit(settings: Settings) -> str:
    """The secret key (in development, the shared key file's), or a one-line message."""
    try:
        return settings.secret
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
