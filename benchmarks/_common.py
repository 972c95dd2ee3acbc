"""Helpers shared by the benchmark scripts: a scratch Redis database, free ports,
commentgate processes that are always reaped, and a uniform report format.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import redis

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COMMENTGATE = str(BIN / "commentgate")
#: Benchmarks use their own database and flush it: never point this at real data.
BENCH_REDIS_URL = os.environ.get("COMMENTGATE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
SECRET = "benchmark-secret"


def fresh_redis() -> redis.Redis:
    """The benchmark database, flushed."""
    client = redis.Redis.from_url(BENCH_REDIS_URL)
    client.flushdb()
    return client


def env(**extra: str) -> dict[str, str]:
    """Environment for commentgate processes on the benchmark database."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTGATE_")}
    out.update(
        COMMENTGATE_REDIS_URL=BENCH_REDIS_URL,
        COMMENTGATE_SECRET_KEY=SECRET,
        COMMENTGATE_LOG_LEVEL="WARNING",
        COMMENTGATE_CAPTCHA_MIN_SOLVE_SECONDS="0",
        # One load generator is one client address: per-client limits would cap it.
        COMMENTGATE_RATE_LIMITS_ENABLED="false",
    )
    out.update(extra)
    return out


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Collect started processes; every one is stopped (and its group) on exit."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def start(procs: list[subprocess.Popen[bytes]], argv: list[str], **extra: str) -> None:
    """Start a process in its own group, quiet, and remember it."""
    procs.append(
        subprocess.Popen(
            argv,
            env=env(**extra),
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    )


def wait_http(url: str, timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up in {timeout} s")


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` (the nearest rank at or above); NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def machine() -> str:
    """One line describing where the figures come from."""
    return (
        f"{platform.node()} | {os.cpu_count()} cores | {platform.machine()} | "
        f"Python {platform.python_version()} | {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


def report(title: str, rows: list[tuple[str, str, str, str]]) -> None:
    """Print figures beside their baseline or target: (what, measured, baseline, verdict)."""
    print(f"\n== {title}")
    print(f"   {machine()}")
    widths = [
        max(len(r[i]) for r in [("figure", "measured", "baseline/target", ""), *rows])
        for i in range(4)
    ]
    header = ("figure", "measured", "baseline/target", "")
    for row in (header, *rows):
        print("   " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
