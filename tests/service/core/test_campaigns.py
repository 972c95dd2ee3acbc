"""Campaign memory on a real Redis: moderators' decisions feed it, workers' memories follow."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from service.core import campaigns
from service.core.campaigns import CampaignMemory
from service.core.store import keys
from service.core.store.keys import DEFAULT_SITE
from tests.conftest import auth, decided

STREAM = keys.campaigns(DEFAULT_SITE)
CAMPAIGN = (
    "Hello friends, I paid off my whole mortgage in eight months by copying the trades "
    "of one quiet investor, message her on the app with the green logo and say I sent you"
)
REWORDED = (
    "hello friend!! i paid off my entire mortgage in eight months just by copying the "
    "trades of one quiet investor, message her on the app with the green logo, say Tom sent you"
)
UNRELATED = (
    "The photos of the harbour at dawn are lovely, which lens did you use for the wide "
    "ones? My old zoom turns everything soft at the edges"
)
OTHERS = (
    "Cheap replica watches shipped from our warehouse in two days, every model in stock, "
    "pay on delivery and get a second strap free with the code in my name",
    "Looking for a partner to double your crypto every week, I show you my screen and you "
    "copy my moves, results guaranteed or your money back, write to me now",
)


def act(client: FlaskClient, token: str, comment_id: str, action: str) -> None:
    response = client.post(
        f"/api/v1/moderation/comments/{comment_id}", json={"action": action}, headers=auth(token)
    )
    assert response.status_code == 200, response.get_json()


def match_in_another_process(redis_url: str, *texts: str) -> dict[str, Any]:
    code = (
        "import json, sys, redis\n"
        "from service.core.campaigns import CampaignMemory\n"
        "memory = CampaignMemory(redis.Redis.from_url(sys.argv[1]))\n"
        "read = memory.refresh()\n"
        "found = memory.match_many(sys.argv[2:])\n"
        "print(json.dumps({'read': read, 'again': memory.refresh(), 'matches': "
        "[None if m is None else [m.key, m.similarity, m.conflict] for m in found]}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, redis_url, *texts],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_spam_marked_through_the_api_is_matched_in_another_process(
    client: FlaskClient, tokens: dict[str, str], redis_client: redis.Redis, redis_url: str
) -> None:
    comment_id = decided(redis_client, "held", body=CAMPAIGN)
    act(client, tokens["moderator"], comment_id, "spam")
    [(_, fields)] = redis_client.xrange(STREAM)
    assert fields[b"key"].decode() == comment_id
    assert fields[b"label"] == b"spam"
    assert fields[b"moderator"] == b"mia"
    assert len(fields[b"sig"]) == 4 * 128
    result = match_in_another_process(redis_url, REWORDED, UNRELATED, "thanks!")
    assert result["read"] == 1
    assert result["again"] == 0
    [copy, unrelated, short] = result["matches"]
    assert copy[0] == comment_id
    assert copy[1] >= 0.5
    assert copy[2] is False
    assert unrelated is None
    assert short is None


def test_approving_after_spam_unmarks(
    client: FlaskClient, tokens: dict[str, str], redis_client: redis.Redis, redis_url: str
) -> None:
    memory = CampaignMemory(redis_client)
    assert memory.refresh() == 0
    comment_id = decided(redis_client, "held", body=CAMPAIGN)
    act(client, tokens["moderator"], comment_id, "spam")
    assert memory.refresh() == 1
    [found] = memory.match_many([REWORDED])
    assert found is not None
    assert found.key == comment_id
    act(client, tokens["admin"], comment_id, "approve")
    assert memory.refresh() == 1
    assert len(memory) == 1
    assert memory.match_many([REWORDED]) == [None]
    assert [f[b"label"] for _, f in redis_client.xrange(STREAM)] == [b"spam", b"ham"]
    assert match_in_another_process(redis_url, REWORDED)["matches"] == [None]


def test_an_approved_copy_makes_a_match_a_conflict(
    client: FlaskClient, tokens: dict[str, str], redis_client: redis.Redis
) -> None:
    spam_id = decided(redis_client, "held", body=CAMPAIGN)
    ham_id = decided(redis_client, "held", body=REWORDED)
    act(client, tokens["moderator"], spam_id, "spam")
    act(client, tokens["moderator"], ham_id, "approve")
    memory = CampaignMemory(redis_client)
    assert memory.refresh() == 2
    [found] = memory.match_many([CAMPAIGN])
    assert found is not None
    assert (found.key, found.conflict) == (spam_id, True)


def test_reject_and_short_comments_record_no_signature(
    client: FlaskClient, tokens: dict[str, str], redis_client: redis.Redis
) -> None:
    act(client, tokens["moderator"], decided(redis_client, "held", body=CAMPAIGN), "reject")
    act(client, tokens["moderator"], decided(redis_client, "held", body="so true"), "spam")
    assert redis_client.xlen(STREAM) == 0
    assert redis_client.xlen(keys.feedback(keys.DEFAULT_SITE)) == 1  # the label is still feedback


def test_a_refused_bulk_decision_records_no_signature(
    client: FlaskClient, tokens: dict[str, str], redis_client: redis.Redis
) -> None:
    headers = auth(tokens["moderator"])
    ids = [decided(redis_client, body=body) for body in (CAMPAIGN, *OTHERS)]
    published = decided(redis_client, "published", body=UNRELATED)
    conflict = client.post(
        "/api/v1/moderation/bulk",
        json={"ids": [*ids, published], "action": "spam", "expected_status": "held"},
        headers=headers,
    )
    assert conflict.status_code == 409
    assert redis_client.xlen(STREAM) == 0
    assert redis_client.xlen(keys.feedback(keys.DEFAULT_SITE)) == 0
    assert {redis_client.hget(keys.comment(i), "status") for i in ids} == {b"held"}
    done = client.post(
        "/api/v1/moderation/bulk", json={"ids": ids, "action": "spam"}, headers=headers
    )
    assert done.status_code == 200
    assert [f[b"key"].decode() for _, f in redis_client.xrange(STREAM)] == ids


def test_refresh_pages_through_a_long_stream_and_skips_bad_entries(
    client: FlaskClient,
    tokens: dict[str, str],
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(campaigns, "_PAGE", 2)
    ids = [decided(redis_client, body=body) for body in (CAMPAIGN, *OTHERS)]
    for comment_id in ids:
        act(client, tokens["moderator"], comment_id, "spam")
    redis_client.xadd(STREAM, {"key": "x", "label": "spam", "moderator": "m", "sig": b"short"})
    memory = CampaignMemory(redis_client)
    assert memory.refresh() == 4
    assert len(memory) == 3
    assert "malformed campaign entry" in caplog.text
    assert memory.refresh() == 0
    act(client, tokens["moderator"], ids[0], "approve")
    assert memory.refresh() == 1
    assert memory.match_many([CAMPAIGN, *OTHERS]) == [None, *memory.match_many(OTHERS)]
    assert all(m is not None for m in memory.match_many(OTHERS))


def test_a_comment_gone_inside_the_script_records_nothing(redis_client: redis.Redis) -> None:
    from service.core.moderation import Action, Moderation, UnknownCommentError
    from service.core.store import CommentStore

    store = CommentStore(redis_client)
    ids = [decided(redis_client, body=body) for body in (CAMPAIGN, OTHERS[0])]
    seen = store.get_many(ids)  # what the moderator's request read
    redis_client.delete(keys.comment(ids[1]))  # then purged before the script ran

    class Stale(CommentStore):
        def get_many(self, comment_ids: Any) -> Any:
            return seen

    with pytest.raises(UnknownCommentError):
        Moderation(redis_client, Stale(redis_client)).act(ids, Action.SPAM, "mia")
    assert redis_client.xlen(STREAM) == 0
    assert redis_client.xlen(keys.feedback(keys.DEFAULT_SITE)) == 0
    assert redis_client.xlen(keys.AUDIT) == 0
    assert redis_client.hget(keys.comment(ids[0]), "status") == b"held"
