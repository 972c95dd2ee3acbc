"""``commentgate import wordpress|disqus EXPORT.xml``: a site's moderation history.

The export is streamed (it may be gigabytes, and gzip-compressed): its labelled
comments become the site's labelled history in batches, one learning update is queued
at the end, and with ``--publish`` the approved comments are published into their
threads. Progress goes to standard error, the summary to standard output. Errors are
one line, exit status 1 (a missing file is click's usage error, status 2). No Flask is imported.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO

import click
import redis

from service.core.console import settings_or_exit
from service.core.imports import ImportedComment, ImportFormatError
from service.core.imports._xml import CountingReader, open_export
from service.core.imports.disqus import parse_disqus
from service.core.imports.run import Importer, ImportStats
from service.core.imports.wordpress import parse_wordpress
from service.core.queues import Queues
from service.core.store.keys import DEFAULT_SITE

if TYPE_CHECKING:
    from classifier import SpamModel

__all__ = ["import_history"]

Parser = Callable[[CountingReader | BinaryIO, str], Iterator[ImportedComment]]
_SITE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_STEPS = 10  # lines of progress when standard error is not a terminal


class _Progress:
    """Progress by bytes read: click's bar on a terminal, a line per 10 % otherwise."""

    def __init__(self, size: int, name: str) -> None:
        self.size = max(size, 1)
        self.name = name
        self.tty = sys.stderr.isatty()
        self._shown = 0
        self._step = 0
        self._bar = click.progressbar(
            length=self.size, label=f"importing {name}", file=sys.stderr, show_pos=False
        )

    def __enter__(self) -> _Progress:
        if self.tty:
            self._bar.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.tty:
            self._bar.__exit__(kind, value, traceback)

    def update(self, position: int, stats: ImportStats) -> None:
        """Show that ``position`` bytes are read (cheap when nothing changes)."""
        if position == self._shown:
            return
        if self.tty:
            if position - self._shown >= self.size // 1000 or position >= self.size:
                self._bar.update(position - self._shown)
                self._shown = position
            return
        self._shown = position
        step = min(_STEPS, position * _STEPS // self.size)
        if step > self._step:
            self._step = step
            click.echo(
                f"import: {step * 100 // _STEPS}% of {self.name} ({_size(position)} of "
                f"{_size(self.size)}), {stats.read} comments read, "
                f"{stats.ham + stats.spam} labels recorded",
                err=True,
            )


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB"):
        if count < 1000:
            return f"{count} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000  # type: ignore[assignment]
    return f"{count:.1f} GB"


def _site(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not _SITE.fullmatch(value):
        raise click.BadParameter("letters, digits, '.', '_' or '-', at most 64")
    return value


def _options(command: Callable[..., None]) -> Callable[..., None]:
    """The argument and options both formats take."""
    for decorator in reversed(
        (
            click.argument("export", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
            click.option(
                "--site",
                default=DEFAULT_SITE,
                show_default=True,
                callback=_site,
                help="The site whose labelled history receives the labels.",
            ),
            click.option(
                "--publish",
                is_flag=True,
                help="Also publish the approved comments into their threads.",
            ),
            click.option(
                "--dry-run",
                is_flag=True,
                help="Read and count only: check an export before importing it.",
            ),
        )
    ):
        command = decorator(command)
    return command


@click.group("import")
def import_history() -> None:
    """Import a site's moderation history (labels, and optionally its comments)."""


@import_history.command()
@_options
def wordpress(export: Path, site: str, publish: bool, dry_run: bool) -> None:
    """Import a WordPress export (WXR, Tools > Export): approved = ham, spam = spam."""
    _import("wordpress", parse_wordpress, export, site=site, publish=publish, dry_run=dry_run)


@import_history.command()
@_options
def disqus(export: Path, site: str, publish: bool, dry_run: bool) -> None:
    """Import a Disqus export: isSpam = spam, deleted skipped, the rest ham."""
    _import("disqus", parse_disqus, export, site=site, publish=publish, dry_run=dry_run)


def _connect() -> tuple[redis.Redis, Callable[[], SpamModel]]:
    """Redis (checked now) and a loader of the base model (run at the first batch)."""
    settings = settings_or_exit()
    client = redis.Redis.from_url(settings.redis_url)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise click.ClickException(
            f"Redis at COMMENTGATE_REDIS_URL is unreachable: {exc}"
        ) from None

    def base_model() -> SpamModel:
        from classifier import load_model
        from classifier.exceptions import ClassifierError

        try:
            return load_model(settings.model_path)
        except ClassifierError as exc:
            raise click.ClickException(f"cannot load the base model: {exc}") from None

    return client, base_model


def _import(
    source: str, parse: Parser, export: Path, *, site: str, publish: bool, dry_run: bool
) -> None:
    client, model = (None, None) if dry_run else _connect()
    importer = Importer(
        client,
        site=site,
        model=model,
        labeller=f"import:{source}",
        publish=publish,
        dry_run=dry_run,
    )
    failure = ""
    try:
        with export.open("rb") as raw, _Progress(export.stat().st_size, export.name) as progress:
            reader, stream = open_export(raw)
            importer.run(
                parse(stream, export.name),
                progress=lambda stats: progress.update(reader.position, stats),
            )
    except ImportFormatError as exc:
        failure = str(exc)
    except redis.RedisError as exc:
        failure = f"Redis failed during the import: {exc}"
    except OSError as exc:
        failure = f"{export}: {exc.strerror or exc}"
    stats = importer.stats
    if client is not None:
        if stats.batches:
            try:
                Queues.connect(client).enqueue_learning(site)
            except redis.RedisError as exc:
                failure = failure or f"could not queue the learning update: {exc}"
        client.close()
    summary = ("dry run, nothing written: " if dry_run else "") + stats.summary(site)
    if failure:
        if stats.read:
            click.echo(
                f"stopped after {summary}; the recorded batches stay, the {stats.pending} "
                "labelled comments read since the last one were not recorded (importing the "
                "file again records nothing twice)",
                err=True,
            )
        raise click.ClickException(failure)
    click.echo(summary)
