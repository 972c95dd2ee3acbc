"""What moderators change reaches the workers: lists, retention."""

from __future__ import annotations

import time
from typing import Any

import redis
from flask.testing import FlaskClient

from service.core.accounts import ModeratorStore, Role
from service.core.store import keys
from tests.conftest import decided, new_comment
from workers import jobs

PUBLISH_ALL = {"publish_below": 0.999999, "spam_above": 1.0}


def test_list_changes_apply_to_new_comments(
    client: FlaskClient, runtime: Any, redis_client: redis.Redis
) -> None:
    runtime(**PUBLISH_ALL)
    admin = {"Authorization": "Bearer " + ModeratorStore(redis_client).add("ada", Role.ADMIN)}
    before = client.post(
        "/api/v1/comments", json=new_comment(client, body="great casino bonus")
    ).get_json()["id"]
    jobs.process_pending()
    assert redis_client.hget(keys.comment(before), "status") == b"published"
    added = client.post(
        "/api/v1/moderation/lists/block/terms", json={"value": "Casino Bonus"}, headers=admin
    )
    assert added.status_code == 201
    client.post(
        "/api/v1/moderation/lists/allow/emails",
        json={"value": "trusted@example.org"},
        headers=admin,
    )
    blocked = client.post(
        "/api/v1/comments", json=new_comment(client, body="another CASINO bonus")
    ).get_json()["id"]
    trusted = client.post(
        "/api/v1/comments",
        json=new_comment(
            client,
            author_email="trusted@example.org",
            body="x http://a-shop.com http://b-shop.com http://c-shop.com",
        ),
    ).get_json()["id"]
    jobs.process_pending()
    assert redis_client.hget(keys.comment(blocked), "status") == b"spam"
    assert b"blocklist" in (redis_client.hget(keys.comment(blocked), "reasons") or b"")
    assert redis_client.hget(keys.comment(trusted), "status") == b"published"
    assert b"allowlist" in (redis_client.hget(keys.comment(trusted), "reasons") or b"")
    assert redis_client.hget(keys.comment(before), "status") == b"published"  # not retroactive


def test_retention_purges_old_spam_and_rejected_only(
    runtime: Any, redis_client: redis.Redis
) -> None:
    runtime(retention_days=30)
    old = time.time() - 31 * 86400
    old_spam = decided(redis_client, "spam", created_at=old)
    old_rejected = decided(redis_client, "rejected", created_at=old)
    old_held = decided(redis_client, "held", created_at=old)
    old_published = decided(redis_client, "published", created_at=old)
    recent_spam = decided(redis_client, "spam")
    assert jobs.purge_expired() == {"purged": 2}
    for gone in (old_spam, old_rejected):
        assert not redis_client.exists(keys.comment(gone))
        assert redis_client.zscore(keys.status_index("spam"), gone) is None
    for kept in (old_held, old_published, recent_spam):
        assert redis_client.exists(keys.comment(kept))
    assert jobs.purge_expired() == {"purged": 0}
