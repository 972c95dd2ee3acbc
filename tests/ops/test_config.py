"""``commentgate config``: every setting, its source, secrets masked."""

from __future__ import annotations

import json
import subprocess

import pytest

from service.cli.config import MASK, mask_url
from service.core.settings import Settings
from tests.ops.conftest import COMMENTGATE, clean_env

SECRET = "s3cr3t-value-never-printed"
HOOK_SECRET = "whsec_" + "czNjcjN0" * 4


def run_config(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMENTGATE, "config", *args],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


ENV = {
    "COMMENTGATE_SECRET_KEY": SECRET,
    "COMMENTGATE_REDIS_URL": f"redis://ops:{SECRET}@redis.internal:6379/2",
    "COMMENTGATE_WEBHOOKS": f"https://hooks.example/in?token={SECRET}={HOOK_SECRET}",
    "COMMENTGATE_MAX_LINKS": "4",
}


def test_table_masks_secrets_and_reports_sources() -> None:
    result = run_config(**ENV)
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout + result.stderr
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[1:] if line}
    assert result.stdout.splitlines()[0].split() == ["SETTING", "VALUE", "SOURCE"]
    for name in Settings.model_fields:
        assert f"COMMENTGATE_{name.upper()}" in rows
    assert rows["COMMENTGATE_SECRET_KEY"] == [MASK, "environment"]
    assert rows["COMMENTGATE_REDIS_URL"] == [
        f"redis://ops:{MASK}@redis.internal:6379/2",
        "environment",
    ]
    assert rows["COMMENTGATE_MAX_LINKS"] == ["4", "environment"]
    assert rows["COMMENTGATE_BATCH_SIZE"] == ["500", "default"]
    # aligned: every SOURCE starts in the same column
    lines = [line for line in result.stdout.splitlines() if line]
    columns = {line.rindex(" ") for line in lines}
    assert len(columns) == 1


def test_json_output() -> None:
    result = run_config("--json", **ENV)
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout
    body = json.loads(result.stdout)
    assert body["COMMENTGATE_SECRET_KEY"] == {
        "field": "secret_key",
        "value": MASK,
        "source": "environment",
        "secret": True,
    }
    assert body["COMMENTGATE_WEBHOOKS"]["value"] == {f"https://hooks.example/in?token={MASK}": MASK}
    assert HOOK_SECRET not in result.stdout
    assert body["COMMENTGATE_MAX_LINKS"]["value"] == 4
    assert body["COMMENTGATE_METRICS_TOKEN"]["value"] is None
    assert body["COMMENTGATE_ENV"]["source"] == "default"


@pytest.mark.parametrize(
    "webhooks",
    [
        "https://hooks.example/in",  # a receiver without a secret: no fallback key
        f"https://hooks.example/in={SECRET}",  # not a whsec_ secret
        "https://hooks.example/in=whsec_c2hvcnQ=",  # too short a key
        "https://hooks.example/in=whsec_not*base64*at*all*but*long*enough",
        f"https://a.example/x={HOOK_SECRET},https://a.example/x={HOOK_SECRET}",
        f"ftp://a.example/x={HOOK_SECRET}",
    ],
)
@pytest.mark.parametrize("command", ["config", "worker"])
def test_webhook_receivers_need_their_own_valid_secret(
    webhooks: str, command: str, redis_url: str
) -> None:
    result = subprocess.run(
        [COMMENTGATE, command, *(["--burst"] if command == "worker" else [])],
        env=clean_env(
            COMMENTGATE_SECRET_KEY=SECRET,
            COMMENTGATE_REDIS_URL=redis_url,
            COMMENTGATE_WEBHOOKS=webhooks,
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "COMMENTGATE_WEBHOOKS" in line
    assert SECRET not in line
    assert HOOK_SECRET.removeprefix("whsec_") not in line


@pytest.mark.parametrize("old", ["COMMENTGATE_WEBHOOK_URLS", "COMMENTGATE_WEBHOOK_SECRET"])
def test_replaced_webhook_settings_stop_start_up(old: str) -> None:
    result = run_config(COMMENTGATE_SECRET_KEY=SECRET, **{old: "https://hooks.example/in"})
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert old in line
    assert "COMMENTGATE_WEBHOOKS" in line


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"COMMENTGATE_SECRET_KEY": "x", "COMMENTGATE_MAX_LINKS": "many"}, "MAX_LINKS"),
        ({}, "COMMENTGATE_SECRET_KEY"),
        ({"COMMENTGATE_SECRET_KEY": "x", "COMMENTGATE_LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ],
)
def test_invalid_configuration_is_one_line_and_exit_1(env: dict[str, str], variable: str) -> None:
    result = run_config(**env)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://:pw@h:6379/0", f"redis://:{MASK}@h:6379/0"),
        ("redis://user:pw@h/0?password=pw&db=1", f"redis://user:{MASK}@h/0?password={MASK}&db=1"),
        ("redis://h:6379/0", "redis://h:6379/0"),
        ("unix:///run/redis.sock?db=0", "unix:///run/redis.sock?db=0"),
        ("not a url", "not a url"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked
