"""Fixtures that run real worker processes against the test Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import settings_env

COMMENTGATE = str(Path(sys.executable).parent / "commentgate")


def wait_for(
    predicate: Callable[[], object], timeout: float = 30.0, what: str = "condition"
) -> None:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class Workers:
    """Starts commentgate worker processes and always reaps them."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.procs: list[subprocess.Popen[bytes]] = []

    def env(self, **extra: str) -> dict[str, str]:
        return settings_env(self.redis_url, **extra)

    def burst(self, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess[str]:
        """Run ``commentgate worker --burst`` until the queues are empty."""
        result = subprocess.run(
            [COMMENTGATE, "worker", "--burst"],
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result

    def start(self, *args: str, **extra: str) -> subprocess.Popen[bytes]:
        """Start a long-running ``commentgate`` process (worker by default)."""
        proc = subprocess.Popen(
            [COMMENTGATE, *(args or ("worker",))],
            env=self.env(**extra),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            if proc.stderr:
                proc.stderr.close()


@pytest.fixture
def workers(redis_url: str) -> Iterator[Workers]:
    manager = Workers(redis_url)
    yield manager
    manager.stop_all()


@pytest.fixture
def runtime(make_settings: Callable[..., object]) -> Iterator[object]:
    """The worker runtime, built in this process (jobs called directly use it)."""
    from workers.runtime import WorkerRuntime, set_runtime

    def build(**overrides: object) -> WorkerRuntime:
        rt = WorkerRuntime.build(make_settings(**overrides))  # type: ignore[arg-type]
        set_runtime(rt)
        return rt

    yield build
    set_runtime(None)
