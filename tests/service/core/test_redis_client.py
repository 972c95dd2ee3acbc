"""Connecting through Sentinel: parsing, and a real Sentinel in front of a real Redis."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from service.core.redis_client import connect, limits_storage_uri, parse_sentinel_url
from service.core.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "redis+sentinel://s1:26379,s2:26380/mymaster",
            ([("s1", 26379), ("s2", 26380)], "mymaster", 0, None, None),
        ),
        (
            "redis+sentinel://:pw@s1:26379/cache?db=3&sentinel_password=sp",
            ([("s1", 26379)], "cache", 3, "pw", "sp"),
        ),
    ],
)
def test_parse(url: str, expected: tuple[object, ...]) -> None:
    assert parse_sentinel_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel:///mymaster",
        "redis+sentinel://s1:x/m",
        "redis+sentinel://s1:1/",
        "redis+sentinel://s1:1/m?db=a",
    ],
)
def test_bad_sentinel_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ValueError, match=r"redis_url|sentinel|db|host"):
        Settings(redis_url=url, secret_key="s")


def test_limits_uri_drops_the_query() -> None:
    assert limits_storage_uri("redis+sentinel://:p@s:1/m?db=2") == "redis+sentinel://:p@s:1/m"
    assert limits_storage_uri("redis://h:1/2") == "redis://h:1/2"
    assert limits_storage_uri("unix:///run/r.sock?db=1") == "redis+unix:///run/r.sock?db=1"


@pytest.fixture
def sentinel_setup(tmp_path: Path) -> Iterator[int]:
    """A private Redis and a Sentinel monitoring it as ``primary``; yields the Sentinel port."""
    redis_port, sentinel_port = free_port(), free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor primary 127.0.0.1 {redis_port} 1\n"
    )
    procs = [
        subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
        ),
        subprocess.Popen(["redis-server", str(conf), "--sentinel"], stdout=subprocess.DEVNULL),
    ]
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                master = redis.Redis(port=sentinel_port).sentinel_get_master_addr_by_name("primary")
                if master:
                    break
            except redis.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("sentinel did not come up")
            time.sleep(0.05)
        yield sentinel_port
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def test_connect_through_a_real_sentinel(sentinel_setup: int) -> None:
    client = connect(f"redis+sentinel://127.0.0.1:{sentinel_setup}/primary?db=2")
    client.set("cg:test", "through sentinel")
    assert client.get("cg:test") == b"through sentinel"
    assert client.connection_pool.connection_kwargs["db"] == 2
