import subprocess

import redis

from service.core.accounts import ModeratorStore
from tests.conftest import run_commentgate


def run(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_commentgate(redis_url, "moderators", *args)


def test_add_list_revoke(redis_url: str, redis_client: redis.Redis) -> None:
    added = run(redis_url, "add", "alice", "--role", "admin")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert token.startswith("cgm_")
    assert token.encode() not in b"".join(redis_client.hvals("cg:moderators"))  # only its hash
    assert ModeratorStore(redis_client).authenticate(token) is not None
    listed = run(redis_url, "list")
    assert "alice" in listed.stdout
    assert "admin" in listed.stdout
    assert run(redis_url, "revoke", "alice").returncode == 0
    assert ModeratorStore(redis_client).authenticate(token) is None


def test_errors_are_one_line(redis_url: str) -> None:
    assert run(redis_url, "add", "bob").returncode == 0
    for args in (
        ("add", "bob"),
        ("add", "../evil"),
        ("revoke", "nobody"),
        ("add", "x", "--role", "god"),
    ):
        result = run(redis_url, *args)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr


def test_a_moderator_limited_to_sites(redis_url: str, redis_client: redis.Redis) -> None:
    added = run(redis_url, "add", "bea", "--site", "blog", "--site", "news")
    assert added.returncode == 0, added.stderr
    account = ModeratorStore(redis_client).authenticate(added.stdout.strip())
    assert account is not None
    assert account.sites == ("blog", "news")
    assert "blog,news" in run(redis_url, "list").stdout
    bad = run(redis_url, "add", "x", "--site", "Not A Site")
    assert bad.returncode != 0
    assert "Traceback" not in bad.stderr
