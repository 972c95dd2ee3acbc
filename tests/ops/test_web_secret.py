"""``commentgate web`` in development without a secret: one key, kept across restarts."""

from __future__ import annotations

import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from service.core.development import DEV_SECRET_FILE, development_secret
from service.core.exceptions import ConfigurationError
from service.core.settings import load_settings
from tests.conftest import solved
from tests.ops.conftest import COMMENTGATE, Processes, answers, clean_env, free_port, tail
from tests.workers.conftest import wait_for

#: Captchas fetched at once, so that every gunicorn worker hands out some.
CAPTCHAS = 24
WEB_WORKERS = 3


def start_web(processes: Processes, cwd: Path, redis_url: str) -> tuple[str, Path]:
    """``commentgate web`` with three workers, in development, without a secret key."""
    port = free_port()
    env = clean_env(
        COMMENTGATE_ENV="development",
        COMMENTGATE_REDIS_URL=redis_url,
        COMMENTGATE_CAPTCHA_MIN_SOLVE_SECONDS="0",
        COMMENTGATE_RATE_LIMITS_ENABLED="false",
    )
    argv = [COMMENTGATE, "web", "--bind", f"127.0.0.1:{port}", "--workers", str(WEB_WORKERS)]
    proc = processes.start(f"web-{port}", argv, env, cwd=cwd)
    base = f"http://127.0.0.1:{port}"
    log = processes.log_of(proc)

    def up() -> bool:
        assert proc.poll() is None, tail(log)
        return answers(f"{base}/healthz")

    wait_for(up, timeout=60, what="commentgate web")
    return base, log


def stop(processes: Processes) -> None:
    processes.stop_all()
    processes.procs.clear()


def captchas(base: str, count: int) -> list[dict[str, str]]:
    """``count`` captchas fetched in parallel (new connections), so several workers answer."""
    with ThreadPoolExecutor(max_workers=WEB_WORKERS * 2) as pool:
        replies = pool.map(
            lambda _: httpx.get(f"{base}/api/v1/captcha", timeout=10, trust_env=False),
            range(count),
        )
        return [reply.json() for reply in replies]


def submit(base: str, challenge: dict[str, str]) -> int:
    payload = solved(challenge)
    return httpx.post(
        f"{base}/api/v1/comments", json=payload, timeout=10, trust_env=False
    ).status_code


@pytest.mark.slow
def test_every_worker_and_every_restart_uses_one_development_key(
    processes: Processes, tmp_path: Path, redis_url: str
) -> None:
    base, log = start_web(processes, tmp_path, redis_url)
    key_file = tmp_path / DEV_SECRET_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()
    issued = captchas(base, CAPTCHAS)
    # Half of them answered after a restart: the key file outlives the process.
    with ThreadPoolExecutor(max_workers=WEB_WORKERS * 2) as pool:
        first = list(pool.map(lambda c: submit(base, c), issued[: CAPTCHAS // 2]))
    assert first == [202] * len(first), tail(log)
    stop(processes)

    base, log = start_web(processes, tmp_path, redis_url)
    assert key_file.read_text() == key
    with ThreadPoolExecutor(max_workers=WEB_WORKERS * 2) as pool:
        second = list(pool.map(lambda c: submit(base, c), issued[CAPTCHAS // 2 :]))
    assert second == [202] * len(second), tail(log)


def test_production_still_requires_the_secret_key(tmp_path: Path, redis_url: str) -> None:
    result = subprocess.run(
        [COMMENTGATE, "web", "--bind", f"127.0.0.1:{free_port()}"],
        env=clean_env(COMMENTGATE_REDIS_URL=redis_url),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "COMMENTGATE_SECRET_KEY is required in production" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / DEV_SECRET_FILE).exists()


def test_development_secret_is_made_once_and_refused_when_unusable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMMENTGATE_ENV", "development")
    monkeypatch.delenv("COMMENTGATE_SECRET_KEY", raising=False)
    key = load_settings().secret
    assert load_settings().secret == key == (tmp_path / DEV_SECRET_FILE).read_text().strip()
    assert sorted(p.name for p in (tmp_path / DEV_SECRET_FILE).parent.iterdir()) == ["secret_key"]
    monkeypatch.setenv("COMMENTGATE_SECRET_KEY", "x" * 40)
    assert load_settings().secret == "x" * 40  # the variable wins

    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfigurationError, match="delete it"):
        development_secret(empty)
    blocked = tmp_path / "a-file" / "secret_key"
    blocked.parent.write_text("not a directory")
    with pytest.raises(ConfigurationError, match="COMMENTGATE_SECRET_KEY"):
        development_secret(blocked)
