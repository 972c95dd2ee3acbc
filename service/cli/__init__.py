"""The ``commentgate`` console script.

Each subcommand lives in the package that owns it and is imported only when it runs,
so ``commentgate score`` never imports Flask and ``commentgate web`` never loads
training code.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from service.core.logs import configure_logging

#: subcommand name -> "module:attribute" of its click command
COMMANDS: dict[str, str] = {
    "train": "classifier.cli:train",
    "evaluate": "classifier.cli:evaluate",
    "score": "classifier.cli:score",
    "web": "service.cli.web:web",
    "worker": "workers.cli:worker",
    "scheduler": "workers.cli:scheduler",
    "moderators": "service.cli.moderators:moderators",
    "sites": "service.cli.sites:sites",
    "dev": "service.cli.dev:dev",
    "config": "service.cli.config:config",
    "model": "service.cli.model:model",
    "import": "service.cli.imports:import_history",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return the subcommand names, sorted."""
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import and return the named subcommand."""
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command


@click.group(cls=LazyGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
def cli(verbose: bool) -> None:
    """Commentgate: comment intake, spam scoring and moderation."""
    configure_logging(verbose)


def main(argv: list[str] | None = None) -> Any:
    """Run the console script."""
    return cli.main(args=argv, prog_name="commentgate")
