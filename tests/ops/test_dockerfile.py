"""The Dockerfile's commands are real: no engine here, so they run locally."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_SECRET
from tests.ops.conftest import (
    COMMENTGATE,
    DOCKERFILE,
    Processes,
    answers,
    clean_env,
    free_port,
    load_compose,
)
from tests.workers.conftest import wait_for

Stage = dict[str, list[str]]


def parse_dockerfile(text: str) -> dict[str, Stage]:
    """Instructions per stage name: ``{"app": {"CMD": [args of each CMD], ...}}``."""
    joined = re.sub(r"\\\n", " ", text)
    stages: dict[str, Stage] = {}
    current: Stage = {}
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            current = {}
            stages[rest.split(" AS ")[-1].strip() if " AS " in rest else rest] = current
        current.setdefault(instruction, []).append(rest.strip())
    return stages


def exec_form(value: str) -> list[str]:
    """Parse an exec-form (JSON array) instruction argument."""
    parsed: Any = json.loads(value)
    assert isinstance(parsed, list), value
    return [str(item) for item in parsed]


@pytest.fixture(scope="module")
def stages() -> dict[str, Stage]:
    return parse_dockerfile(DOCKERFILE.read_text())


def test_structure(stages: dict[str, Stage]) -> None:
    assert list(stages)[-1] == "app"  # `docker build .` builds the app
    text = DOCKERFILE.read_text()
    assert re.search(r"python:3\.11\.\d+-slim-bookworm", text)
    app = stages["app"]
    assert app["USER"][-1] not in ("root", "0")
    # dependencies are installed from pyproject.toml before the code arrives
    run_lines = app["RUN"]
    deps = next(i for i, r in enumerate(run_lines) if "requirements" in r)
    code = next(i for i, r in enumerate(run_lines) if "--no-deps" in r)
    assert deps < code
    assert app["COPY"][0].startswith("pyproject.toml")
    assert "EXPOSE" in app
    ignored = (DOCKERFILE.parent / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", ".env"):
        assert entry in ignored


def test_entrypoint_and_cmd_resolve_to_the_cli(stages: dict[str, Stage]) -> None:
    app = stages["app"]
    entrypoint = exec_form(app["ENTRYPOINT"][-1])
    cmd = exec_form(app["CMD"][-1])
    assert entrypoint == ["commentgate"]
    assert cmd[0] == "web"
    script = shutil.which(entrypoint[0], path=str(Path(sys.executable).parent))
    assert script, "the commentgate console script is not installed"
    # an unknown subcommand or option fails even with --help (the compose file's
    # commands are run for real in test_compose.py)
    result = subprocess.run(
        [script, *cmd, "--help"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, (cmd, result.stderr)
    assert "--bind" in result.stdout


def _healthcheck_argv(stage: Stage) -> list[str]:
    value = stage["HEALTHCHECK"][-1]
    _, _, command = value.partition("CMD ")
    return exec_form(command)


def _run_check(argv: list[str], **env: str) -> int:
    if argv[0] == "python":
        argv = [sys.executable, *argv[1:]]
    result = subprocess.run(
        argv, env=clean_env(**env), capture_output=True, timeout=30, check=False
    )
    return result.returncode


def test_healthchecks_pass_on_a_live_web_and_fail_without_one(
    stages: dict[str, Stage], redis_url: str, processes: Processes
) -> None:
    port = free_port()
    env = clean_env(COMMENTGATE_REDIS_URL=redis_url, COMMENTGATE_SECRET_KEY=TEST_SECRET)
    web = processes.start(
        "web", [COMMENTGATE, "web", "--bind", f"127.0.0.1:{port}", "--workers", "1"], env
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert web.poll() is None, processes.logs()
        return answers(f"{base}/healthz")

    wait_for(up, timeout=30, what="the web app")
    dead = f"http://127.0.0.1:{free_port()}/healthz"

    image_check = _healthcheck_argv(stages["app"])
    env_line = " ".join(stages["app"]["ENV"])
    default_url = re.search(r"HEALTHCHECK_URL=(\S+)", env_line)
    assert default_url
    assert default_url[1] == "http://127.0.0.1:8000/healthz"
    assert _run_check(image_check, HEALTHCHECK_URL=f"{base}/healthz") == 0
    assert _run_check(image_check, HEALTHCHECK_URL=dead) != 0

    compose_check = load_compose()["services"]["web"]["healthcheck"]["test"]
    assert compose_check[0] == "CMD"
    live = [arg.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for arg in compose_check[1:]]
    assert _run_check(live) == 0
    gone = [arg.replace("127.0.0.1:8000", dead.split("/")[2]) for arg in compose_check[1:]]
    assert _run_check(gone) != 0


def test_dashboard_refuses_to_run_without_credentials(
    stages: dict[str, Stage], tmp_path: Path
) -> None:
    fake = tmp_path / "rq-dashboard"
    fake.write_text('#!/bin/sh\necho "dashboard $*"\n')
    fake.chmod(0o755)
    entrypoint = exec_form(stages["dashboard"]["ENTRYPOINT"][-1])
    cmd = exec_form(stages["dashboard"]["CMD"][-1])
    path = f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}"

    refused = subprocess.run(
        [*entrypoint, *cmd], env={"PATH": path}, capture_output=True, text=True, check=False
    )
    assert refused.returncode == 64
    assert "RQ_DASHBOARD_PASSWORD" in refused.stderr

    allowed = subprocess.run(
        [*entrypoint, *cmd],
        env={"PATH": path, "RQ_DASHBOARD_USERNAME": "ops", "RQ_DASHBOARD_PASSWORD": "pw"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.strip() == "dashboard " + " ".join(cmd)
