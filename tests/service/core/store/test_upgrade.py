"""Keys of the layout before sites move to the default site's, once."""

from __future__ import annotations

import redis

from service.core.model_registry import ModelRegistry
from service.core.store import keys
from service.core.store.keys import DEFAULT_SITE
from service.core.store.lists import ListStore
from service.core.store.upgrade import LAYOUT, upgrade_keys


def test_the_global_registry_and_lists_become_the_default_sites(
    redis_client: redis.Redis,
) -> None:
    redis_client.set("cg:models:current", "cg-a+u1")
    redis_client.zadd("cg:models:index", {"cg-a": 1, "cg-a+u1": 2})
    redis_client.lpush("cg:models:history", "{}")
    redis_client.hset("cg:models:v:cg-a+u1", mapping={"card": "{}", "status": "promoted"})
    redis_client.sadd("cg:list:block:terms", "casino")
    assert upgrade_keys(redis_client) == 5
    registry = ModelRegistry(redis_client)
    assert registry.current() == "cg-a+u1"
    assert registry.card("cg-a+u1") == {}
    assert ListStore(redis_client).entries("block")["terms"] == ["casino"]
    assert not redis_client.exists("cg:models:current", "cg:list:block:terms")
    assert int(redis_client.get(keys.SCHEMA) or 0) == LAYOUT
    assert upgrade_keys(redis_client) == 0  # once


def test_a_key_already_at_its_new_place_is_never_overwritten(redis_client: redis.Redis) -> None:
    redis_client.set("cg:models:current", "cg-old")
    redis_client.set(keys.models_current(DEFAULT_SITE), "cg-new")
    assert upgrade_keys(redis_client) == 0
    assert ModelRegistry(redis_client).current() == "cg-new"
    assert redis_client.get("cg:models:current") == b"cg-old"


def test_threads_before_sites_become_the_default_sites(redis_client: redis.Redis) -> None:
    from service.core.store import CommentStore

    redis_client.set(keys.SCHEMA, 2)  # the layout with sites, before threads were per site
    digest_key = "cg:thread:" + keys.thread_published(DEFAULT_SITE, "/post").rsplit(":thread:")[1]
    redis_client.hset(
        "cg:comment:abcdefgh",
        mapping={
            "id": "abcdefgh",
            "thread": "/post",
            "body": "kept",
            "created_at": "1",
            "status": "published",
        },
    )
    redis_client.zadd(digest_key, {"abcdefgh": 1})
    assert upgrade_keys(redis_client) == 1
    page = CommentStore(redis_client).published("/post", limit=10)
    assert [c.id for c in page.items] == ["abcdefgh"]
    assert CommentStore(redis_client).published("/post", limit=10, site="blog").items == []


def test_the_default_site_gets_its_own_status_indexes(redis_client: redis.Redis) -> None:
    redis_client.set(keys.SCHEMA, 2)
    redis_client.zadd(keys.status_index("held"), {"abcdefgh": 1, "ijklmnop": 2})
    upgrade_keys(redis_client)
    assert redis_client.zcard(keys.site_status_index(DEFAULT_SITE, "held")) == 2
    assert not redis_client.exists(keys.site_status_index(DEFAULT_SITE, "spam"))


def test_layout_2s_labels_and_learning_cursor_become_the_default_sites(
    redis_client: redis.Redis,
) -> None:
    redis_client.set(keys.SCHEMA, 2)  # a database written by the version before this one
    entry = redis_client.xadd("cg:feedback", {"comment_id": "c1", "label": "spam"})
    redis_client.set("cg:learning:cursor", entry)
    assert upgrade_keys(redis_client) == 2
    assert redis_client.xlen(keys.feedback(DEFAULT_SITE)) == 1
    assert redis_client.get(keys.learning_cursor(DEFAULT_SITE)) == entry
    assert not redis_client.exists("cg:feedback", "cg:learning:cursor")
    assert upgrade_keys(redis_client) == 0


def test_layout_4_deletes_the_retired_approved_authors_set(redis_client: redis.Redis) -> None:
    redis_client.set(keys.SCHEMA, 3)
    redis_client.sadd(keys.LEGACY_APPROVED_AUTHORS, "a-digest-of-an-address")
    assert upgrade_keys(redis_client) == 0  # nothing moved
    assert not redis_client.exists(keys.LEGACY_APPROVED_AUTHORS)
    assert int(redis_client.get(keys.SCHEMA) or 0) == LAYOUT == 4
