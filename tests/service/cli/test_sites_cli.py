import json
import re
import subprocess

import redis

from service.core.sites import SiteRegistry
from service.core.store import keys
from tests.conftest import run_commentgate


def run(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_commentgate(redis_url, "sites", *args)


def test_add_list_revoke(redis_url: str, redis_client: redis.Redis) -> None:
    added = run(redis_url, "add", "blog", "--url", "https://blog.example/")
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip()
    assert key.startswith("cgs_")
    stored = b"".join(redis_client.hvals(keys.SITES)) + b"".join(redis_client.hkeys(keys.SITE_KEYS))
    assert key.encode() not in stored  # only its digest
    assert SiteRegistry(redis_client).name_for_key(key) == "blog"

    table = run(redis_url, "list")
    assert table.returncode == 0, table.stderr
    assert "default" in table.stdout
    assert "blog" in table.stdout
    assert "https://blog.example" in table.stdout
    rows = [json.loads(line) for line in run(redis_url, "list", "--json").stdout.splitlines()]
    assert [r["name"] for r in rows] == ["default", "blog"]
    assert rows[1]["origins"] == ["https://blog.example"]
    assert rows[1]["effective"]["rate_limit_site"] == "600/minute"
    assert "digest" not in rows[1]
    assert key not in json.dumps(rows)

    assert run(redis_url, "revoke", "blog").returncode == 0
    assert SiteRegistry(redis_client).name_for_key(key) is None
    blog_row = [line for line in run(redis_url, "list").stdout.splitlines() if "blog" in line]
    assert "revoked" in blog_row[0]
    rows = [json.loads(line) for line in run(redis_url, "list", "--json").stdout.splitlines()]
    assert (rows[1]["revoked"], rows[1]["revoked_at"] > 0) == (True, True)


def test_akismet_key_is_printed_once_rotated_and_refused_once_revoked(
    redis_url: str, redis_client: redis.Redis
) -> None:
    assert run(redis_url, "add", "blog").returncode == 0
    issued = run(redis_url, "akismet-key", "blog")
    assert issued.returncode == 0, issued.stderr
    alias = issued.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{12}", alias)
    assert "not shown again" in issued.stderr
    registry = SiteRegistry(redis_client)
    assert registry.name_for_akismet_key(alias) == "blog"
    assert "akismet-key yes" in run(redis_url, "list").stdout
    assert alias not in run(redis_url, "list", "--json").stdout
    rotated = run(redis_url, "akismet-key", "blog").stdout.strip()
    assert rotated != alias
    assert registry.name_for_akismet_key(alias) is None
    assert run(redis_url, "revoke", "blog").returncode == 0
    assert registry.name_for_akismet_key(rotated) is None
    refused = run(redis_url, "akismet-key", "blog")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == (
        "Error: site 'blog' is revoked; it gets no new key"
    )


def test_configure(redis_url: str, redis_client: redis.Redis) -> None:
    assert run(redis_url, "add", "news").returncode == 0
    result = run(
        redis_url,
        "configure",
        "news",
        "--origin",
        "https://news.example",
        "--origin",
        "https://www.news.example:8443",
        "--premoderation",
        "--spam-above",
        "0.8",
        "--no-learning",
        "--verifies-own-challenge",
        "--rate-limit",
        "100/minute",
    )
    assert result.returncode == 0, result.stderr
    site = SiteRegistry(redis_client).require("news")
    assert site.allowed_origins == ("https://news.example", "https://www.news.example:8443")
    assert site.premoderation is True
    assert site.spam_above == 0.8
    assert site.learns is False
    assert site.verifies_own_challenge is True
    assert site.rate_limit_site == "100/minute"
    assert json.loads(result.stdout)["effective"]["spam_above"] == 0.8

    reset = run(redis_url, "configure", "news", "--reset", "premoderation", "--relays-captcha")
    assert reset.returncode == 0, reset.stderr
    site = SiteRegistry(redis_client).require("news")
    assert site.premoderation is None
    assert site.verifies_own_challenge is False
    assert site.spam_above == 0.8  # untouched


def test_webhooks(redis_url: str, redis_client: redis.Redis) -> None:
    assert run(redis_url, "add", "blog").returncode == 0
    added = run(redis_url, "webhook", "blog", "add", "https://hooks.blog.example/in")
    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip()
    assert secret.startswith("whsec_")
    site = SiteRegistry(redis_client).require("blog")
    assert site.webhooks == {"https://hooks.blog.example/in": secret}
    listed = run(redis_url, "list", "--json").stdout
    assert secret not in listed
    assert "https://hooks.blog.example/in" in listed
    again = run(redis_url, "webhook", "blog", "add", "https://hooks.blog.example/in")
    assert again.returncode != 0
    removed = run(redis_url, "webhook", "blog", "remove", "https://hooks.blog.example/in")
    assert removed.returncode == 0, removed.stderr
    assert SiteRegistry(redis_client).require("blog").webhooks == {}


def test_errors_are_one_line(redis_url: str) -> None:
    assert run(redis_url, "add", "blog").returncode == 0
    for args in (
        ("add", "blog"),
        ("add", "Not A Name"),
        ("add", "x", "--origin", "ftp://nope"),
        ("revoke", "nobody"),
        ("configure", "nobody", "--premoderation"),
        ("configure", "blog"),
        ("configure", "blog", "--rate-limit", "lots"),
        ("configure", "blog", "--spam-above", "2"),
        ("configure", "blog", "--origin", "https://a.example/path"),
        ("configure", "blog", "--premoderation", "--reset", "premoderation"),
        ("webhook", "blog", "add", "not a url"),
        ("webhook", "nobody", "add", "https://hooks.example/"),
        ("webhook", "blog", "remove", "https://hooks.example/"),
        ("akismet-key", "nobody"),
    ):
        result = run(redis_url, *args)
        assert result.returncode != 0, args
        assert "Traceback" not in result.stderr, args
        assert result.stderr.strip().splitlines()[-1].startswith("Error: "), args
