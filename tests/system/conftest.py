"""Fixtures for end-to-end fault tests: a private Redis that can be stopped, killed and
restarted, live ``commentgate web`` servers and other commentgate processes on it.

``private_redis``
    A :class:`RedisServer`: ``redis-server`` on a free loopback port with its data in
    the test's ``tmp_path``, append-only with ``appendfsync always`` (so a restart
    loses nothing that was acknowledged). ``stop()`` (SIGTERM, Redis fsyncs and exits),
    ``kill()`` (SIGKILL) and ``start()`` again on the same port and directory; always
    reaped at teardown. Skipped with a reason when ``redis-server`` is not installed.
``processes``
    :class:`tests.ops.conftest.Processes`: commentgate processes whose output goes to
    log files in ``tmp_path``; every process group is reaped at teardown.
``web_factory``
    Starts ``commentgate web`` on a given Redis URL (the live server of the browser
    tests, :func:`tests.browser.conftest.start_live_server`); every server is stopped.

Helpers: :func:`commentgate_env` (settings for subprocesses on a Redis URL),
:class:`Poster` (a client thread posting comments, each with a solved captcha, and
recording every outcome), :class:`WebhookReceiver` (answers after a delay, records
every attempt) and :func:`statuses` (comment statuses read from Redis).
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.browser.conftest import LiveServer, start_live_server
from tests.conftest import TEST_SECRET, settings_env, solved
from tests.ops.conftest import COMMENTGATE, PUBLISH_ALL, Processes, free_port
from tests.workers.conftest import wait_for

__all__ = [
    "COMMENTGATE",
    "PUBLISH_ALL",
    "TEST_SECRET",
    "LiveServer",
    "Outcome",
    "Poster",
    "Processes",
    "RedisServer",
    "WebhookReceiver",
    "commentgate_env",
    "statuses",
    "wait_for",
]

REDIS_SERVER = shutil.which("redis-server")
#: Seconds redis-server may take to answer PING after a start (it replays the AOF).
REDIS_START_TIMEOUT = 20.0
#: Statuses a comment ends in once a worker (or a moderator) decided it.
FINAL = frozenset({"published", "held", "spam", "rejected"})


class RedisServer:
    """A ``redis-server`` process of this test, restartable on the same port and data.

    Args:
        data_dir: Its ``--dir``: the append-only files and its log live here.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "redis.log"

    def url(self, db: int = 0) -> str:
        """The URL of one of its databases."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self) -> redis.Redis:
        """A new client on database 0 (short timeouts: it may be down)."""
        return redis.Redis.from_url(self.url(), socket_connect_timeout=1, socket_timeout=5)

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Start it (on a free port the first time, then on the same one) and wait for PING.

        Raises:
            RuntimeError: It exited or did not answer in time; the message has its log.
        """
        assert not self.running, "redis-server is already running"
        assert REDIS_SERVER is not None
        attempts = 1 if self.port else 3
        for _attempt in range(attempts):
            port = self.port or free_port()
            with self.log_path.open("ab") as log:
                self.proc = subprocess.Popen(
                    [
                        REDIS_SERVER,
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--dir",
                        str(self.data_dir),
                        "--appendonly",
                        "yes",
                        "--appendfsync",
                        "always",
                        "--save",
                        "",
                        "--daemonize",
                        "no",
                        "--protected-mode",
                        "yes",
                        "--maxmemory-policy",
                        "noeviction",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            if self._wait_ping(port):
                self.port = port
                return
            self.kill()
        raise RuntimeError(f"redis-server did not start:\n{self.log()[-2000:]}")

    def _wait_ping(self, port: int) -> bool:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + REDIS_START_TIMEOUT
        try:
            while time.monotonic() < deadline:
                if self.proc is None or self.proc.poll() is not None:
                    return False
                with contextlib.suppress(redis.ConnectionError):  # BusyLoading is one too
                    if client.ping():
                        return True
                time.sleep(0.02)
            return False
        finally:
            client.close()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (Redis fsyncs its append-only file and exits) and wait for the exit."""
        if self.running:
            assert self.proc is not None
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL and reap: whatever was not fsynced is lost (nothing, with ``always``)."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self._signal(signal.SIGKILL)
            self.proc.wait()

    def log(self) -> str:
        """What redis-server logged so far, across restarts."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _signal(self, signum: int) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signum)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A running private Redis (append-only, fsync always) in ``tmp_path``; always reaped."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (scripts/system-deps installs it)")
    data_dir = tmp_path / "redis"
    data_dir.mkdir()
    server = RedisServer(data_dir)
    try:
        server.start()
        yield server
    finally:
        server.kill()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    """Commentgate processes logging to files in ``tmp_path``; all reaped at teardown."""
    manager = Processes(tmp_path)
    yield manager
    manager.stop_all()


@pytest.fixture
def web_factory(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """``start(redis_url, **env)``: a ready ``commentgate web``; all stopped at teardown."""
    servers: list[LiveServer] = []

    def start(redis_url: str, **env: str) -> LiveServer:
        server = start_live_server(redis_url, tmp_path, **env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def commentgate_env(redis_url: str, **extra: str) -> dict[str, str]:
    """Environment for commentgate subprocesses on ``redis_url`` (quiet logs)."""
    return settings_env(redis_url, COMMENTGATE_LOG_LEVEL="WARNING", **extra)


def start_commentgate(
    processes: Processes, name: str, args: list[str], redis_url: str, **extra: str
) -> subprocess.Popen[bytes]:
    """Start ``commentgate ARGS`` on ``redis_url``, its output in ``<name>.log``."""
    return processes.start(name, [COMMENTGATE, *args], commentgate_env(redis_url, **extra))


# -- a client posting comments --------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one submission got.

    Attributes:
        status: The HTTP status, or 0 when the request failed at the transport level.
        comment_id: The id, for a 202.
        retry_after: The ``Retry-After`` header, if any.
        error: The transport error, when ``status`` is 0.
        at: ``time.monotonic()`` when the answer came.
    """

    status: int
    comment_id: str | None = None
    retry_after: str | None = None
    error: str = ""
    at: float = 0.0


@dataclass
class Poster:
    """A thread posting comments to ``base`` one after another until stopped.

    Each submission fetches ``/api/v1/captcha`` and answers it (the captcha is
    stateless: it is issued even while Redis is down). Bounded by ``max_posts`` and
    ``max_seconds``, so a stuck test still ends.
    """

    base: str
    max_posts: int = 5000
    max_seconds: float = 60.0
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> None:
        """Start posting in a daemon thread."""
        self.thread = threading.Thread(target=self._run, name="poster", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop posting and wait for the thread."""
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=30)
            assert not self.thread.is_alive(), "the poster thread did not stop"

    def snapshot(self) -> list[Outcome]:
        """Every outcome so far."""
        with self.lock:
            return list(self.outcomes)

    def count(self, status: int, since: float = 0.0) -> int:
        """How many submissions got ``status`` after ``since`` (monotonic)."""
        return sum(1 for o in self.snapshot() if o.status == status and o.at >= since)

    def accepted_ids(self) -> list[str]:
        """Ids of every comment that got a 202."""
        return [o.comment_id for o in self.snapshot() if o.status == 202 and o.comment_id]

    def tally(self) -> Counter[int]:
        """Submissions by status (0: transport error)."""
        return Counter(o.status for o in self.snapshot())

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        with httpx.Client(base_url=self.base, timeout=20, trust_env=False) as client:
            for i in range(self.max_posts):
                if self.stop_event.is_set() or time.monotonic() > deadline:
                    return
                outcome = self._post_one(client, i)
                with self.lock:
                    self.outcomes.append(outcome)

    @staticmethod
    def _post_one(client: httpx.Client, i: int) -> Outcome:
        try:
            challenge = client.get("/api/v1/captcha")
            if challenge.status_code != 200:
                return Outcome(
                    status=challenge.status_code,
                    retry_after=challenge.headers.get("Retry-After"),
                    error="captcha: " + challenge.text[:200],
                    at=time.monotonic(),
                )
            response = client.post(
                "/api/v1/comments",
                json=solved(
                    challenge.json(),
                    thread="https://blog.example/posts/restart",
                    body=f"Comment number {i}: thanks for the article, it was useful.",
                    author_name=f"reader{i}",
                ),
            )
        except httpx.TransportError as exc:
            return Outcome(status=0, error=f"{type(exc).__name__}: {exc}", at=time.monotonic())
        comment_id = response.json().get("id") if response.status_code == 202 else None
        return Outcome(
            status=response.status_code,
            comment_id=comment_id,
            retry_after=response.headers.get("Retry-After"),
            error="" if response.status_code == 202 else response.text[:300],
            at=time.monotonic(),
        )


def statuses(client: redis.Redis, ids: list[str]) -> dict[str, str | None]:
    """Each comment's stored status (``None``: not stored)."""
    from service.core.store import keys

    with client.pipeline(transaction=False) as pipe:
        for comment_id in ids:
            pipe.hget(keys.comment(comment_id), "status")
        found = pipe.execute()
    return {i: (s.decode() if s else None) for i, s in zip(ids, found, strict=True)}


def undecided(client: redis.Redis, ids: list[str]) -> list[str]:
    """The ids among ``ids`` that are not in a final status (or not stored at all)."""
    return [i for i, s in statuses(client, ids).items() if s not in FINAL]


def wait_all_decided(
    client: redis.Redis,
    ids: list[str],
    timeout: float,
    logs: Callable[[], str] | None = None,
) -> None:
    """Poll until every comment in ``ids`` has a final status (``logs``: for a failure)."""
    left: list[str] = list(ids)

    def done() -> bool:
        nonlocal left
        left = undecided(client, left)
        return not left

    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(
                f"{len(left)} of {len(ids)} comments not decided after {timeout} s "
                f"(e.g. {left[:3]}, statuses {statuses(client, left[:3])})\n"
                + (logs() if logs else "")
            )
        time.sleep(0.05)


# -- a webhook receiver ------------------------------------------------------------------


class WebhookReceiver:
    """An HTTP server on a free loopback port that answers 204 after ``delay`` seconds.

    Records the times of the attempts per delivery (the ``webhook-id`` header).
    :attr:`setting` is its ``COMMENTGATE_WEBHOOKS`` entry, with its own secret.
    Serving starts at once; :meth:`close` releases any handler still waiting and stops
    the server.
    """

    def __init__(self, delay: float = 0.0) -> None:
        from workers.webhooks import ID_HEADER

        self.delay = delay
        self.attempts: dict[str, list[float]] = defaultdict(list)
        self.in_flight = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                delivery = self.headers.get(ID_HEADER, "?")
                with receiver.lock:
                    receiver.attempts[delivery].append(time.monotonic())
                    receiver.in_flight += 1
                try:
                    if receiver.delay:
                        receiver.release.wait(receiver.delay)  # the slowness under test
                    self.send_response(204)
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up long ago
                finally:
                    with receiver.lock:
                        receiver.in_flight -= 1

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.setting = f"{self.url}=whsec_{base64.b64encode(bytes(range(24))).decode()}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def total_attempts(self) -> int:
        """Requests received so far."""
        with self.lock:
            return sum(len(times) for times in self.attempts.values())

    def busy(self) -> bool:
        """Whether a delivery is waiting on this receiver right now."""
        with self.lock:
            return self.in_flight > 0

    def close(self) -> None:
        """Release waiting handlers, stop serving and close the socket."""
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
