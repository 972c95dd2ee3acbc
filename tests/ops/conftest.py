"""Helpers for the ops tests: free ports, reaped processes, real HTTP, compose parsing."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import yaml

from tests.conftest import REPO_ROOT, new_comment
from tests.workers.conftest import wait_for

COMMENTGATE = str(Path(sys.executable).parent / "commentgate")
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
PUBLISH_ALL = {"COMMENTGATE_PUBLISH_BELOW": "0.999999", "COMMENTGATE_SPAM_ABOVE": "1.0"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any COMMENTGATE_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTGATE_")}
    env.update(extra)
    return env


def tail(path: Path, chars: int = 4000) -> str:
    """The end of a log file, for failure messages."""
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


class Processes:
    """Starts processes in their own sessions and always reaps them and their trees."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []
        self.adopted: list[psutil.Process] = []

    def start(
        self, name: str, argv: list[str], env: Mapping[str, str], cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` with stdout and stderr in ``<log_dir>/<name>.log``."""
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                argv,
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append((proc, log))
        return proc

    def log_of(self, proc: subprocess.Popen[bytes]) -> Path:
        """The log file of a process started here."""
        return next(log for p, log in self.procs if p is proc)

    def logs(self) -> str:
        """The tails of every log, for failure messages."""
        return "\n".join(f"--- {log.name}\n{tail(log, 1500)}" for _, log in self.procs)

    def adopt(self, processes: list[psutil.Process]) -> None:
        """Also kill these (descendants in other process groups) at teardown."""
        self.adopted.extend(processes)

    def stop_all(self) -> None:
        """SIGTERM every group, then SIGKILL what is left; reap everything."""
        for proc, _ in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, _ in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for child in self.adopted:
            try:
                if child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
                    child.kill()
            except psutil.NoSuchProcess:
                pass


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    manager = Processes(tmp_path)
    yield manager
    manager.stop_all()


# -- talking to a running web app ----------------------------------------------------


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self._response = response

    def get_json(self) -> Any:
        return self._response.json()


class HttpClient:
    """The part of Flask's test client that ``tests.conftest.new_comment`` uses, over HTTP."""

    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base, trust_env=False, timeout=10)

    def get(self, url: str) -> _Response:
        return _Response(self.client.get(url))

    def close(self) -> None:
        self.client.close()


def answers(url: str) -> bool:
    """Whether ``url`` answers 200."""
    try:
        return httpx.get(url, timeout=2, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def post_comment(base: str, **fields: Any) -> str:
    """Post a valid comment (captcha solved) to a running web app; return its id."""
    http = HttpClient(base)
    try:
        payload = new_comment(http, **fields)  # type: ignore[arg-type]
        response = http.client.post("/api/v1/comments", json=payload)
    finally:
        http.close()
    assert response.status_code == 202, response.text
    comment_id: str = response.json()["id"]
    return comment_id


def status_of(base: str, comment_id: str) -> str:
    """A comment's status as the web app reports it."""
    response = httpx.get(f"{base}/api/v1/comments/{comment_id}", timeout=5, trust_env=False)
    status: str = response.json()["status"]
    return status


def wait_published(base: str, comment_id: str, timeout: float = 40) -> None:
    """Wait until the workers publish the comment."""
    wait_for(
        lambda: status_of(base, comment_id) == "published",
        timeout=timeout,
        what=f"comment {comment_id} to be published",
    )


# -- docker-compose.yml --------------------------------------------------------------

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` and ``$$``.

    Raises:
        KeyError: A required variable (``:?``/``?``) is missing from ``variables``.
    """

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["plain"]
        value = variables.get(name)
        op, arg = match["op"], match["arg"] or ""
        empty = value is None or (op is not None and op.startswith(":") and value == "")
        if op in (":-", "-") and empty:
            return arg
        if op in (":?", "?") and empty:
            raise KeyError(f"{name}: {arg}")
        return value or ""

    return _VARIABLE.sub(replace, text)


def load_compose() -> dict[str, Any]:
    """docker-compose.yml, parsed (YAML anchors and merge keys resolved)."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def service_environment(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's environment as a mapping (``None``: passed through from the shell)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = [item.split("=", 1) for item in env]
        return {p[0]: (p[1] if len(p) == 2 else None) for p in pairs}
    return {k: (None if v is None else str(v)) for k, v in env.items()}
