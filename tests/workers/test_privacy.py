"""IP addresses and user agents past retention: hashed by the scheduler's purge job.

The purge runs in real ``commentgate scheduler`` and ``commentgate worker`` processes;
the tests of races interleave its two steps (read, then the rechecking script) with a
moderator's decision, a retention purge and a worker's decision.
"""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

import redis
from flask.testing import FlaskClient

from service.core.moderation import Moderation
from service.core.privacy import Candidate, ClientDataPurge, is_pseudonym, pseudonym, pseudonym_key
from service.core.queues import MAINTENANCE
from service.core.store import Comment, CommentStatus, CommentStore, Decision, keys, new_comment_id
from tests.conftest import TEST_SECRET, auth
from tests.workers.conftest import Workers, wait_for
from workers import jobs

DAY = 86400
KEY = pseudonym_key(TEST_SECRET)
AGENT = "ExampleBrowser/7.1 (X11; Linux x86_64)"


def stored(
    redis_client: redis.Redis,
    status: CommentStatus,
    *,
    days_ago: float,
    ip: str = "198.51.100.23",
    user_agent: str = AGENT,
) -> str:
    """A comment posted ``days_ago`` from ``ip``, decided as ``status`` (or left pending)."""
    store = CommentStore(redis_client)
    comment = Comment(
        id=new_comment_id(),
        thread="https://blog.example/posts/privacy",
        body="A comment about the article.",
        author_name="Rui",
        created_at=time.time() - days_ago * DAY,
        status=CommentStatus.PENDING,
        ip=ip,
        user_agent=user_agent,
    )
    store.accept(comment, nonce=None, nonce_ttl=60)
    if status is not CommentStatus.PENDING:
        store.record_decisions([Decision(comment, status, 0.4, "cg-test", ("model_score",))])
    return comment.id


def client_fields(redis_client: redis.Redis, comment_id: str) -> tuple[str, str | None]:
    ip, agent = redis_client.hmget(keys.comment(comment_id), ["ip", "user_agent"])
    return (ip or b"").decode(), agent.decode() if agent else None


def test_scheduler_hashes_addresses_past_retention_and_moderators_see_the_hash(
    workers: Workers, redis_client: redis.Redis, client: FlaskClient, tokens: dict[str, str]
) -> None:
    old = {
        status: stored(redis_client, status, days_ago=40)
        for status in (CommentStatus.PUBLISHED, CommentStatus.HELD, CommentStatus.SPAM)
    }
    other_address = stored(redis_client, CommentStatus.HELD, days_ago=35, ip="2001:DB8::7")
    no_agent = stored(redis_client, CommentStatus.PUBLISHED, days_ago=33, user_agent="")
    recent = stored(redis_client, CommentStatus.PUBLISHED, days_ago=29)
    waiting = stored(redis_client, CommentStatus.PENDING, days_ago=45)

    env = {"COMMENTGATE_IP_RETENTION_DAYS": "30", "COMMENTGATE_RETENTION_DAYS": "60"}
    workers.start("scheduler", **env)  # runs its hourly jobs once at start
    workers.start("worker", "--queues", MAINTENANCE, **env)
    wait_for(
        lambda: all(is_pseudonym(client_fields(redis_client, i)[0]) for i in old.values()),
        timeout=60,
        what="the scheduler's purge job to hash old addresses",
    )
    wait_for(
        lambda: is_pseudonym(client_fields(redis_client, no_agent)[0]),
        timeout=30,
        what="the purge job to finish",
    )

    hashed = pseudonym(KEY, "198.51.100.23")
    for comment_id in old.values():
        assert client_fields(redis_client, comment_id) == (hashed, None)
    assert client_fields(redis_client, no_agent) == (hashed, None)
    assert client_fields(redis_client, other_address) == (pseudonym(KEY, "2001:db8::7"), None)
    assert hashed != pseudonym(KEY, "2001:db8::7")
    assert client_fields(redis_client, recent) == ("198.51.100.23", AGENT)
    assert client_fields(redis_client, waiting) == ("198.51.100.23", AGENT)  # a worker needs it
    for status, comment_id in old.items():  # nothing else changed
        assert redis_client.hget(keys.comment(comment_id), "status") == status.value.encode()

    headers = auth(tokens["moderator"])
    queue = client.get("/api/v1/moderation/queue?status=held", headers=headers).get_json()
    ips = {c["id"]: (c["ip"], c["user_agent"]) for c in queue["comments"]}
    assert ips[old[CommentStatus.HELD]] == (hashed, None)
    jsonl = client.get("/api/v1/moderation/export?format=jsonl", headers=headers)
    rows = {r["id"]: r for r in map(json.loads, jsonl.get_data(as_text=True).splitlines())}
    assert rows[old[CommentStatus.SPAM]]["ip"] == hashed
    assert rows[recent]["ip"] == "198.51.100.23"
    exported = client.get("/api/v1/moderation/export?format=csv", headers=headers)
    table = {r["id"]: r for r in csv.DictReader(io.StringIO(exported.get_data(as_text=True)))}
    assert table[old[CommentStatus.PUBLISHED]]["ip"] == hashed
    assert table[old[CommentStatus.PUBLISHED]]["user_agent"] == ""
    old_rows = [row for comment_id, row in table.items() if comment_id != recent]
    assert not [row for row in old_rows if "198.51.100.23" in json.dumps(row)]
    assert AGENT not in json.dumps(old_rows)


def test_a_comment_decided_late_is_hashed_on_a_later_run(
    runtime: Any, redis_client: redis.Redis
) -> None:
    runtime(ip_retention_days=30)
    late = stored(redis_client, CommentStatus.PENDING, days_ago=50)
    before = stored(redis_client, CommentStatus.HELD, days_ago=60)
    after = stored(redis_client, CommentStatus.HELD, days_ago=40)
    assert jobs.purge_client_data() == {"pseudonymised": 2}
    assert is_pseudonym(client_fields(redis_client, before)[0])
    assert is_pseudonym(client_fields(redis_client, after)[0])
    assert client_fields(redis_client, late) == ("198.51.100.23", AGENT)  # a worker needs it
    [claimed] = CommentStore(redis_client).claim(10, lease_seconds=60)  # a worker holds it
    assert jobs.purge_client_data() == {"pseudonymised": 0}
    comment = CommentStore(redis_client).get(claimed)
    assert comment is not None
    CommentStore(redis_client).record_decisions(
        [Decision(comment, CommentStatus.PUBLISHED, 0.1, "cg-test", ("model_score",))]
    )
    # The cursor passed it long ago; it was set aside, and is purged now it is decided.
    assert jobs.purge_client_data() == {"pseudonymised": 1}
    assert client_fields(redis_client, late) == (pseudonym(KEY, "198.51.100.23"), None)
    assert jobs.purge_client_data() == {"pseudonymised": 0}  # idempotent
    assert redis_client.zcard(keys.CLIENT_DATA_DEFERRED) == 0


def test_the_purge_never_undoes_a_decision_made_between_its_read_and_its_write(
    client: FlaskClient, tokens: dict[str, str], redis_client: redis.Redis
) -> None:
    approved = stored(redis_client, CommentStatus.HELD, days_ago=40)
    deleted = stored(redis_client, CommentStatus.SPAM, days_ago=41)
    kept = stored(redis_client, CommentStatus.HELD, days_ago=42)
    purge = ClientDataPurge(redis_client, KEY)
    batch = purge.select(None, time.time() - 30 * DAY)
    assert {c.comment_id for c in batch} == {approved, deleted, kept}

    # Meanwhile a moderator approves one comment and the retention purge deletes another.
    response = client.post(
        f"/api/v1/moderation/comments/{approved}",
        json={"action": "approve"},
        headers=auth(tokens["moderator"]),
    )
    assert response.status_code == 200
    store = CommentStore(redis_client)
    assert Moderation(redis_client, store).purge(["spam"], older_than=time.time()) == 1

    assert purge.apply(batch) == 2
    fields = {
        k.decode(): v.decode() for k, v in redis_client.hgetall(keys.comment(approved)).items()
    }
    assert fields["status"] == "published"
    assert fields["moderated_by"] == "mia"
    assert fields["moderation_action"] == "approve"
    assert is_pseudonym(fields["ip"])
    assert "user_agent" not in fields
    assert redis_client.zscore(keys.status_index("published"), approved) is not None
    assert not redis_client.exists(keys.comment(deleted))  # never recreated
    assert is_pseudonym(client_fields(redis_client, kept)[0])


def test_the_script_leaves_a_pending_comment_to_its_worker(redis_client: redis.Redis) -> None:
    decided_id = stored(redis_client, CommentStatus.HELD, days_ago=40)
    waiting = stored(redis_client, CommentStatus.PENDING, days_ago=40)
    purge = ClientDataPurge(redis_client, KEY)
    [candidate] = purge.select(None, time.time())
    stale = Candidate(waiting, candidate.created_at, candidate.ip)
    assert purge.apply([stale]) == 0  # pending: a worker still matches its IP on the lists
    assert client_fields(redis_client, waiting) == ("198.51.100.23", AGENT)
    assert purge.apply([candidate]) == 1
    assert purge.apply([candidate]) == 0  # already hashed: the address read is gone
    assert is_pseudonym(client_fields(redis_client, decided_id)[0])


def test_pages_through_many_comments_with_equal_creation_times(
    redis_client: redis.Redis,
) -> None:
    store = CommentStore(redis_client)
    created = time.time() - 40 * DAY
    ids = []
    for i in range(7):
        comment = Comment(
            id=f"c{i:02d}",
            thread="t",
            body="b",
            author_name="n",
            created_at=created if i < 5 else created + i,
            status=CommentStatus.PENDING,
            ip=f"192.0.2.{i}",
        )
        store.accept(comment, nonce=None, nonce_ttl=60)
        status = CommentStatus.HELD if i % 2 else CommentStatus.PUBLISHED
        store.record_decisions([Decision(comment, status, 0.4, "m", ())])
        ids.append(comment.id)
    purge = ClientDataPurge(redis_client, KEY, batch_size=2)
    assert purge.run(older_than=time.time() - 30 * DAY) == 7
    for i, comment_id in enumerate(ids):
        assert client_fields(redis_client, comment_id) == (pseudonym(KEY, f"192.0.2.{i}"), None)
    assert purge.cursor() == (created + 6, "c06")
    assert purge.run(older_than=time.time()) == 0
