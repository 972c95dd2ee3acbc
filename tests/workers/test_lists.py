"""Block and allow lists against hostile comments, decided by real worker processes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from service.core.accounts import ModeratorStore, Role
from service.core.store import keys
from service.core.store.lists import ListMatcher, ListStore
from service.core.store.models import Comment, CommentStatus
from tests.conftest import new_comment
from tests.workers.conftest import Workers

#: Every comment is held by its score, so only a list can publish or file it.
HOLD_ALL = {"COMMENTGATE_PUBLISH_BELOW": "0", "COMMENTGATE_SPAM_ABOVE": "1.0"}
#: Every comment is published by its score, so only a list can file it as spam.
PUBLISH_ALL = {"COMMENTGATE_PUBLISH_BELOW": "0.999999", "COMMENTGATE_SPAM_ABOVE": "1.0"}


def post(client: FlaskClient, ip: str = "198.51.100.7", **fields: Any) -> str:
    response = client.post(
        "/api/v1/comments", json=new_comment(client, **fields), environ_base={"REMOTE_ADDR": ip}
    )
    assert response.status_code == 202, response.get_json()
    comment_id: str = response.get_json()["id"]
    return comment_id


def decision(client: redis.Redis, comment_id: str) -> tuple[str, str]:
    """The status and the reasons (space-separated) of a decided comment."""
    stored = client.hgetall(keys.comment(comment_id))
    return stored[b"status"].decode(), " ".join(json.loads(stored[b"reasons"]))


def comment(**fields: str) -> Comment:
    values: dict[str, Any] = {"body": "", "author_name": ""} | fields
    return Comment(id="c", thread="t", created_at=0.0, status=CommentStatus.PENDING, **values)


def test_allow_list_trusts_the_commenter_never_what_they_write(
    client: FlaskClient, workers: Workers, redis_client: redis.Redis
) -> None:
    lists = ListStore(redis_client)
    lists.add("allow", "domains", "friendly.example")
    lists.add("allow", "emails", "carol@partner.example")
    lists.add("allow", "ips", "192.0.2.0/24")
    sales = "Great deals on watches, as friendly.example and carol@partner.example know"
    mentions = {
        "body": post(client, body=sales),
        "name": post(client, author_name="friendly.example"),
        "author_url": post(client, author_url="https://friendly.example/shop"),
        "body-email": post(client, body="write to carol@partner.example for a discount"),
    }
    trusted = {
        "email": post(client, author_email="Carol@Partner.example"),
        "email-domain": post(client, author_email="dan@friendly.example"),
        "ip": post(client, ip="192.0.2.40"),
    }
    workers.burst(**HOLD_ALL)
    for what, comment_id in mentions.items():
        assert decision(redis_client, comment_id) == ("held", "model_score"), what
    for what, comment_id in trusted.items():
        assert decision(redis_client, comment_id) == ("published", "allowlist"), what


def test_allow_list_refuses_terms(client: FlaskClient, redis_client: redis.Redis) -> None:
    admin = {"Authorization": "Bearer " + ModeratorStore(redis_client).add("ada", Role.ADMIN)}
    refused = client.post(
        "/api/v1/moderation/lists/allow/terms", json={"value": "welcome"}, headers=admin
    )
    assert refused.status_code == 422
    assert "not terms" in refused.get_json()["errors"]["value"]
    assert not ListMatcher.build(["welcome"], [], [], [], identity_only=True).matches(
        comment(body="welcome", author_name="welcome")
    )


LOOK_ALIKES = {
    "cyrillic-a": "fresh m\u0430rmalade for sale",
    "zero-width-space": "fresh marma\u200blade for sale",
    "soft-hyphen": "fresh marma\u00adlade for sale",
    "fullwidth": "fresh \uff4d\uff41\uff52\uff4d\uff41\uff4c\uff41\uff44\uff45 for sale",
    "greek-omicron-upper-case": "MARMAL\u0391DE for sale",
}


def test_block_list_sees_through_look_alike_characters(
    client: FlaskClient, workers: Workers, redis_client: redis.Redis
) -> None:
    admin = {"Authorization": "Bearer " + ModeratorStore(redis_client).add("ada", Role.ADMIN)}
    added = client.post(
        "/api/v1/moderation/lists/block/terms", json={"value": "marmalade"}, headers=admin
    )
    assert added.status_code == 201
    # An admin's own look-alike entry is stored as what it reads as.
    added = client.post(
        "/api/v1/moderation/lists/block/terms",
        json={"value": "Ch\u0435ap \uff30ills"},
        headers=admin,
    )
    assert added.get_json()["value"] == "cheap pills"
    client.post(
        "/api/v1/moderation/lists/block/domains", json={"value": "spam.example"}, headers=admin
    )
    spam = {what: post(client, body=body) for what, body in LOOK_ALIKES.items()}
    spam["name"] = post(client, author_name="M\u0430rmalade Shop")
    spam["admin-entry"] = post(client, body="buy cheap pills")
    spam["domain-in-body"] = post(client, body="visit sp\u0430m.example today")
    spam["email-domain"] = post(client, author_email="x@sp\u0430m.example")
    clean = post(client, body="my grandmother's marmalades are orange")
    workers.burst(**PUBLISH_ALL)
    for what, comment_id in spam.items():
        assert decision(redis_client, comment_id) == ("spam", "blocklist"), what
    assert decision(redis_client, clean) == ("published", "model_score")


@pytest.mark.parametrize("body", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_block_matcher_matches_what_the_classifier_reads(body: str) -> None:
    matcher = ListMatcher.build(["marmalade"], [], [], [])
    assert matcher.matches(comment(body=body))
