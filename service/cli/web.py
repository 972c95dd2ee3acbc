"""``commentgate web``: serve the app under gunicorn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from gunicorn.app.base import BaseApplication

from service.core.console import secret_or_exit, settings_or_exit
from service.web.app import create_app


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn serving the WSGI app ``factory`` builds in each worker.

    Args:
        factory: Builds the app (called once per gunicorn worker process).
        options: Gunicorn settings, as :func:`gunicorn_options` makes them.
    """

    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self._factory = factory
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        """Apply the options."""
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """Build the app."""
        return self._factory()


def gunicorn_options(bind: str, workers: int) -> dict[str, Any]:
    """The gunicorn configuration ``commentgate web`` uses (benchmarks reuse it)."""
    return {
        "bind": bind,
        "workers": workers,
        "worker_class": "sync",
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "forwarded_allow_ips": "",
    }


@click.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="HOST:PORT to listen on.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
def web(bind: str, workers: int) -> None:
    """Serve the HTTP API and pages under gunicorn.

    In development without ``COMMENTGATE_SECRET_KEY``, every worker uses the key kept
    in ``.commentgate/secret_key`` (created here, before gunicorn forks).
    """
    secret_or_exit(settings_or_exit())  # fail fast, and make the key before gunicorn forks
    GunicornServer(lambda: create_app(settings_or_exit()), gunicorn_options(bind, workers)).run()
