"""docker-compose.yml is valid, and each of its services runs as the real CLI.

There is no Docker engine here, so the services' commands run as local processes
against the test Redis, with the environment the compose file gives them. That
proves the commands, the queue names and the settings in the file are real.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import redis
from rq import Worker
from rq.cron_scheduler_registry import get_keys as cron_scheduler_names

from service.core.logs import LogSettings
from service.core.queues import ALL_QUEUES, COMMENTS, LEARNING, MAINTENANCE, WEBHOOKS
from service.core.settings import ENV_PREFIX, Settings, webhook_key
from tests.conftest import TEST_SECRET
from tests.ops.conftest import (
    COMMENTGATE,
    COMPOSE_FILE,
    PUBLISH_ALL,
    Processes,
    answers,
    clean_env,
    free_port,
    interpolate,
    load_compose,
    post_comment,
    service_environment,
    wait_published,
)
from tests.workers.conftest import wait_for
from workers.webhooks import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

HOOK_SECRET = "whsec_" + "c2VjcmV0" * 4  # 24 bytes
COMMENTGATE_SERVICES = ("web", "worker", "webhook-worker", "learning-worker", "scheduler")
ALL_SETTINGS = {
    f"{ENV_PREFIX}{name.upper()}" for cls in (Settings, LogSettings) for name in cls.model_fields
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


# -- (a) the file is valid -----------------------------------------------------------


@pytest.fixture
def docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.skip("docker-compose is not installed (scripts/system-deps installs it)")
    return found


def test_compose_config_is_valid(docker_compose: str) -> None:
    result = subprocess.run(
        [docker_compose, "-f", str(COMPOSE_FILE), "config", "-q"],
        env=clean_env(COMMENTGATE_SECRET_KEY="compose-validation-only"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_run_without_a_secret_key(docker_compose: str) -> None:
    result = subprocess.run(
        [docker_compose, "-f", str(COMPOSE_FILE), "config", "-q"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "COMMENTGATE_SECRET_KEY" in result.stderr


# -- its structure -------------------------------------------------------------------


def queues_served(service: dict[str, Any]) -> list[str]:
    command = [str(arg) for arg in service["command"]]
    if command[0] != "worker":
        return []
    for flag in ("--queues", "-q"):
        if flag in command:
            return command[command.index(flag) + 1].split(",")
    return list(ALL_QUEUES)


def test_services_and_their_queues(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {"redis", *COMMENTGATE_SERVICES, "dashboard"}
    assert services["worker"]["command"] == ["worker", "--queues", f"{COMMENTS},{MAINTENANCE}"]
    assert services["webhook-worker"]["command"] == ["worker", "--queues", WEBHOOKS]
    assert services["learning-worker"]["command"] == ["worker", "--queues", LEARNING]
    # every queue the code uses has exactly one kind of worker serving it
    served = [q for name in COMMENTGATE_SERVICES for q in queues_served(services[name])]
    assert sorted(served) == sorted(ALL_QUEUES)
    # `--scale worker=N` needs neither a fixed name nor a host port
    for name in ("worker", "webhook-worker", "learning-worker"):
        assert "container_name" not in services[name]
        assert "ports" not in services[name]
    assert services["dashboard"]["profiles"] == ["dashboard"]


def test_redis_is_pinned_persistent_and_checked(compose: dict[str, Any]) -> None:
    redis_service = compose["services"]["redis"]
    image = redis_service["image"]
    assert re.fullmatch(r"redis:7\.\d+\.\d+(-\w+)?", image), f"pin a 7.x.y tag: {image}"
    command = redis_service["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert any(v.startswith("redis-data:/data") for v in redis_service["volumes"])
    assert "redis-data" in compose["volumes"]
    assert redis_service["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "ports" not in redis_service


def test_commentgate_services_wait_for_a_healthy_redis(compose: dict[str, Any]) -> None:
    for name in (*COMMENTGATE_SERVICES, "dashboard"):
        depends = compose["services"][name]["depends_on"]
        assert depends["redis"]["condition"] == "service_healthy", name
    web_check = compose["services"]["web"]["healthcheck"]["test"]
    assert "/healthz" in " ".join(web_check)


def test_environment_names_real_settings_and_hardcodes_no_secret(
    compose: dict[str, Any],
) -> None:
    for name in COMMENTGATE_SERVICES:
        env = service_environment(compose["services"][name])
        commentgate_keys = {k for k in env if k.startswith(ENV_PREFIX)}
        unknown = commentgate_keys - ALL_SETTINGS
        assert not unknown, f"{name}: not settings: {sorted(unknown)}"
        missing = ALL_SETTINGS - commentgate_keys
        assert not missing, (
            f"{name}: add {sorted(missing)} to x-commentgate-env in docker-compose.yml "
            "so that compose users can set them"
        )
        assert env["COMMENTGATE_SECRET_KEY"] is not None
        assert env["COMMENTGATE_SECRET_KEY"].startswith("${COMMENTGATE_SECRET_KEY:?")
        for key in ("COMMENTGATE_WEBHOOKS", "COMMENTGATE_METRICS_TOKEN"):
            assert env.get(key) is None, f"{name}: {key} must come from the environment"
    dashboard = service_environment(compose["services"]["dashboard"])
    assert dashboard["RQ_DASHBOARD_PASSWORD"] is None  # passed through, never written here
    assert dashboard["RQ_DASHBOARD_USERNAME"]


# -- (b) each service runs as the real CLI -------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook_receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def local_argv(service: dict[str, Any], variables: dict[str, str], port: int) -> list[str]:
    """The service's command as a local ``commentgate`` command line."""
    args = [interpolate(str(arg), variables) for arg in service["command"]]
    return [COMMENTGATE, *(a.replace("0.0.0.0:8000", f"127.0.0.1:{port}") for a in args)]


def local_env(
    service: dict[str, Any], variables: dict[str, str], passed: dict[str, str]
) -> dict[str, str]:
    """The service's environment, with test values for what compose would interpolate."""
    env = clean_env()
    declared = service_environment(service)
    for key, value in declared.items():
        if value is not None:
            env[key] = interpolate(value, variables)
    for key, value in passed.items():
        assert key in declared, f"compose does not pass {key} through"
        env[key] = value
    return env


@pytest.mark.slow
def test_each_service_runs_as_the_real_cli(
    compose: dict[str, Any],
    redis_url: str,
    redis_client: redis.Redis,
    processes: Processes,
    webhook_receiver: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    hook_url, received = webhook_receiver
    variables = {
        "COMMENTGATE_REDIS_URL": redis_url,
        "COMMENTGATE_SECRET_KEY": TEST_SECRET,
        "WEB_CONCURRENCY": "1",
    }
    passed = PUBLISH_ALL | {
        "COMMENTGATE_CAPTCHA_MIN_SOLVE_SECONDS": "0",
        "COMMENTGATE_WEBHOOKS": f"{hook_url}={HOOK_SECRET}",
        "COMMENTGATE_LOG_FORMAT": "text",
    }
    services = compose["services"]
    port = free_port()
    started = {}
    for name, count in (
        ("web", 1),
        ("worker", 3),
        ("webhook-worker", 1),
        ("learning-worker", 1),
        ("scheduler", 1),
    ):
        service = services[name]
        for i in range(count):
            started[f"{name}-{i}"] = processes.start(
                f"{name}-{i}",
                local_argv(service, variables, port),
                local_env(service, variables, passed),
            )
    base = f"http://127.0.0.1:{port}"

    def all_alive() -> None:
        dead = [n for n, p in started.items() if p.poll() is not None]
        assert not dead, f"exited: {dead}\n{processes.logs()}"

    def ready() -> bool:
        all_alive()
        return answers(f"{base}/healthz") and answers(f"{base}/readyz")

    wait_for(ready, timeout=40, what="the web service")
    comment_id = post_comment(base)
    wait_published(base, comment_id)

    # the webhook worker delivered the event, signed with the receiver's own secret
    wait_for(lambda: received, timeout=30, what="a webhook delivery")
    headers, body = received[0]
    assert json.loads(body)["data"]["id"] == comment_id
    stamp = int(headers[TIMESTAMP_HEADER])
    expected = sign(webhook_key(HOOK_SECRET), headers[ID_HEADER], stamp, body)
    assert headers[SIGNATURE_HEADER] == expected

    # three scoring workers, a webhook and a learning worker, on the compose file's queues
    def queues_of_workers() -> list[tuple[str, ...]]:
        all_alive()
        return sorted(tuple(w.queue_names()) for w in Worker.all(connection=redis_client))

    wait_for(lambda: len(queues_of_workers()) == 5, timeout=30, what="5 registered workers")
    assert queues_of_workers() == sorted([(COMMENTS, MAINTENANCE)] * 3 + [(WEBHOOKS,), (LEARNING,)])

    # the scheduler registered with RQ's cron scheduler registry
    scheduler_pid = str(started["scheduler-0"].pid)
    wait_for(
        lambda: any(n.split(":")[1] == scheduler_pid for n in cron_scheduler_names(redis_client)),
        timeout=30,
        what="the scheduler in the CronScheduler registry",
    )
    all_alive()
