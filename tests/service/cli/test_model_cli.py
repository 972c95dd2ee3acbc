"""``commentgate model list / show / promote / rollback / history [--site]``, through the
real console script."""

from __future__ import annotations

import json
import subprocess

import redis

from service.core.model_registry import BASE, CANDIDATE, REFUSED, ModelRegistry
from service.core.sites import SiteRegistry
from service.core.store.keys import DEFAULT_SITE
from tests.conftest import run_commentgate


def run(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_commentgate(redis_url, "model", *args)


def card(version: str, **extra: object) -> dict[str, object]:
    return {"model_version": version, "thresholds": {}, "libraries": {}, "sha256": "x"} | extra


def seed(redis_client: redis.Redis, site: str = DEFAULT_SITE) -> ModelRegistry:
    registry = ModelRegistry(redis_client, site=site)
    registry.put("cg-a", b"a", card("cg-a", metrics={"roc_auc": 0.99}), status=BASE)
    learnt = card(
        "cg-a+u1",
        learning={
            "feedback_total": 50,
            "validation": {"candidate": {"roc_auc": 0.9987, "f1": 0.991}},
        },
    )
    registry.put("cg-a+u1", b"b", learnt, status=CANDIDATE)
    registry.promote("cg-a+u1", actor="learning")
    registry.put("cg-a+u2", None, card("cg-a+u2"), status=REFUSED)
    return registry


def test_list_marks_the_current_version(redis_url: str, redis_client: redis.Redis) -> None:
    empty = run(redis_url, "list")
    assert empty.returncode == 0, empty.stderr
    assert "no model versions" in empty.stdout
    seed(redis_client)
    result = run(redis_url, "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["VERSION", "STATUS"]
    rows = {line.split()[1] if line.startswith("*") else line.split()[0]: line for line in lines}
    assert rows["cg-a+u1"].startswith("*")
    assert "val AUC 0.9987 F1 0.9910" in rows["cg-a+u1"]
    assert rows["cg-a+u1"].rstrip().endswith("50")  # moderator labels learnt
    assert "oof AUC 0.9900" in rows["cg-a"]
    assert "refused" in rows["cg-a+u2"]
    as_json = [json.loads(line) for line in run(redis_url, "list", "--json").stdout.splitlines()]
    assert [(r["version"], r["current"]) for r in as_json] == [
        ("cg-a", False),
        ("cg-a+u1", True),
        ("cg-a+u2", False),
    ]


def test_rollback(redis_url: str, redis_client: redis.Redis) -> None:
    registry = seed(redis_client)
    result = run(redis_url, "rollback", "cg-a")
    assert result.returncode == 0, result.stderr
    assert "current model of site default: cg-a (was cg-a+u1)" in result.stdout
    assert registry.current() == "cg-a"
    history = run(redis_url, "history")
    assert "rollback  cg-a  (was cg-a+u1)  by cli:" in history.stdout


def test_errors_are_one_line(redis_url: str, redis_client: redis.Redis) -> None:
    seed(redis_client)
    for args, message in (
        (("rollback", "cg-nope"), "unknown model version 'cg-nope'"),
        (("rollback", "cg-a+u2"), "refused by the guard"),
        (("show", "nope"), "unknown model version"),
    ):
        result = run(redis_url, *args)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert ModelRegistry(redis_client).current() == "cg-a+u1"
    down = run("redis://127.0.0.1:1/0", "list")
    assert down.returncode == 1
    assert "Traceback" not in down.stderr
    assert len(down.stderr.strip().splitlines()) == 1


def test_show_prints_the_card(redis_url: str, redis_client: redis.Redis) -> None:
    seed(redis_client)
    result = run(redis_url, "show", "cg-a+u1")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["model_version"] == "cg-a+u1"


def test_site_option_chooses_the_sites_registry(redis_url: str, redis_client: redis.Redis) -> None:
    SiteRegistry(redis_client).add("blog", url="https://blog.example/")
    blog = seed(redis_client, "blog")
    default = ModelRegistry(redis_client)
    assert run(redis_url, "list").stdout.startswith("no model versions")  # default site's
    listed = run(redis_url, "list", "--json", "--site", "blog")
    assert listed.returncode == 0, listed.stderr
    assert [json.loads(line)["version"] for line in listed.stdout.splitlines()] == [
        "cg-a",
        "cg-a+u1",
        "cg-a+u2",
    ]
    back = run(redis_url, "rollback", "cg-a", "--site", "blog")
    assert back.returncode == 0, back.stderr
    assert "current model of site blog: cg-a (was cg-a+u1)" in back.stdout
    assert (blog.current(), default.current()) == ("cg-a", None)
    again = run(redis_url, "promote", "cg-a+u1", "--site", "blog")
    assert again.returncode == 0, again.stderr
    assert (blog.current(), default.current()) == ("cg-a+u1", None)
    history = run(redis_url, "history", "--site", "blog")
    assert "promote   cg-a+u1  (was cg-a)  by cli:" in history.stdout
    assert run(redis_url, "history").stdout == ""  # nothing happened to the default site's


def test_an_unknown_site_is_a_one_line_error(redis_url: str, redis_client: redis.Redis) -> None:
    for args in (("list", "--site", "nope"), ("promote", "cg-a", "--site", "nope")):
        result = run(redis_url, *args)
        assert result.returncode == 1
        assert result.stderr.strip() == "Error: no site named 'nope' (see `commentgate sites list`)"
