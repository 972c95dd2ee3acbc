"""From intake to a final status, through real worker processes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from service.core.store import keys
from service.core.store.lists import ListStore
from tests.conftest import auth, decided, new_comment
from tests.workers.conftest import Workers

PUBLISH_ALL = {"COMMENTGATE_PUBLISH_BELOW": "0.999999", "COMMENTGATE_SPAM_ABOVE": "1.0"}


def post(client: FlaskClient, **fields: Any) -> str:
    response = client.post("/api/v1/comments", json=new_comment(client, **fields))
    assert response.status_code == 202, response.get_json()
    comment_id: str = response.get_json()["id"]
    return comment_id


def status_of(client: FlaskClient, comment_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/v1/comments/{comment_id}").get_json()
    return body


def test_worker_decides_with_the_shipped_model(
    client: FlaskClient, workers: Workers, redis_client: redis.Redis
) -> None:
    ham = post(client, body="I loved the second half of this talk, the demo was clear.")
    spam = post(
        client,
        body="CHECK OUT MY CHANNEL!!! subscribe now http://bit.ly/free-money win $$$ click here",
    )
    workers.burst()
    for comment_id in (ham, spam):
        stored = redis_client.hgetall(keys.comment(comment_id))
        assert stored[b"status"] in (b"published", b"held", b"spam")
        assert 0.0 <= float(stored[b"score"]) <= 1.0
        assert stored[b"model_version"]
        assert b"model_score" in stored[b"reasons"]
    assert float(redis_client.hget(keys.comment(spam), "score") or 0) > float(
        redis_client.hget(keys.comment(ham), "score") or 1
    )
    assert redis_client.zcard(keys.PENDING) == 0
    assert redis_client.zcard(keys.INFLIGHT) == 0


@pytest.mark.parametrize(
    ("env", "fields", "status", "reason"),
    [
        (PUBLISH_ALL, {}, "published", "model_score"),
        (
            {"COMMENTGATE_PUBLISH_BELOW": "0", "COMMENTGATE_SPAM_ABOVE": "1"},
            {},
            "held",
            "model_score",
        ),
        (
            {"COMMENTGATE_PUBLISH_BELOW": "0", "COMMENTGATE_SPAM_ABOVE": "0"},
            {"body": "WIN a FREE prize!!! Call 0800 555 0199 now to claim your cash reward"},
            "spam",
            "model_score",
        ),
        (  # confident by the threshold, but the model's views disagree: a moderator decides
            {"COMMENTGATE_PUBLISH_BELOW": "0", "COMMENTGATE_SPAM_ABOVE": "0"},
            {},
            "held",
            "unfamiliar",
        ),
        (PUBLISH_ALL, {"hp_website": "http://bot.example"}, "spam", "honeypot"),
        (
            PUBLISH_ALL,
            {"body": "see http://a-shop.com http://b-shop.com http://c-shop.com"},
            "held",
            "links",
        ),
        (PUBLISH_ALL | {"COMMENTGATE_PREMODERATION": "true"}, {}, "held", "premoderation"),
        (
            PUBLISH_ALL | {"COMMENTGATE_MAX_LINKS": "5"},
            {"body": "one http://a-shop.com"},
            "published",
            "model_score",
        ),
    ],
)
def test_decision_rules(
    client: FlaskClient,
    workers: Workers,
    redis_client: redis.Redis,
    env: dict[str, str],
    fields: dict[str, Any],
    status: str,
    reason: str,
) -> None:
    comment_id = post(client, **fields)
    workers.burst(**env)
    stored = redis_client.hgetall(keys.comment(comment_id))
    assert stored[b"status"].decode() == status
    assert reason in stored[b"reasons"].decode()


def test_blocklist_files_as_spam(
    client: FlaskClient, workers: Workers, redis_client: redis.Redis
) -> None:
    lists = ListStore(redis_client)
    lists.add("block", "terms", "cheap pills")
    lists.add("block", "domains", "spam.example")
    lists.add("block", "ips", "203.0.113.0/24")
    lists.add("block", "emails", "bad@example.org")
    by_term = post(client, body="Buy CHEAP pills today")
    by_domain = post(client, author_url="https://www.spam.example/x")
    by_email = post(client, author_email="Bad@Example.org")
    by_ip = client.post(
        "/api/v1/comments", json=new_comment(client), environ_base={"REMOTE_ADDR": "203.0.113.50"}
    ).get_json()["id"]
    clean = post(client, body="cheap pillsbury dough recipes are fine")
    workers.burst(**PUBLISH_ALL)
    for comment_id in (by_term, by_domain, by_email, by_ip):
        stored = redis_client.hgetall(keys.comment(comment_id))
        assert stored[b"status"] == b"spam", comment_id
        assert b"blocklist" in stored[b"reasons"]
    assert redis_client.hget(keys.comment(clean), "status") == b"published"


def test_an_earlier_published_address_alone_is_not_trusted(
    client: FlaskClient, workers: Workers, redis_client: redis.Redis
) -> None:
    # Issue 13: trust follows a commenter token (tests/workers/test_commenter_trust.py),
    # never the bare e-mail address of an earlier published comment.
    first = post(client, author_email="ada@example.org")
    workers.burst(**PUBLISH_ALL)
    assert redis_client.hget(keys.comment(first), "status") == b"published"
    second = post(client, author_email="ADA@example.org", body="a second, unremarkable note")
    workers.burst(COMMENTGATE_PUBLISH_BELOW="0", COMMENTGATE_SPAM_ABOVE="1")
    stored = redis_client.hgetall(keys.comment(second))
    assert stored[b"status"] == b"held"
    assert json.loads(stored[b"reasons"]) == ["model_score"]


def test_too_fast_captcha_is_held(
    client: FlaskClient, workers: Workers, redis_client: redis.Redis
) -> None:
    comment_id = post(client)
    redis_client.hset(keys.comment(comment_id), "too_fast", "1")
    workers.burst(**PUBLISH_ALL)
    stored = redis_client.hgetall(keys.comment(comment_id))
    assert stored[b"status"] == b"held"
    assert b"too_fast" in stored[b"reasons"]


def test_thread_listing_order_and_pagination(
    client: FlaskClient, workers: Workers, redis_client: redis.Redis
) -> None:
    thread = "https://blog.example/posts/paged"
    ids = [post(client, thread=thread, body=f"comment number {i}") for i in range(7)]
    other = post(client, thread="https://blog.example/posts/other")
    workers.burst(**PUBLISH_ALL)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"thread": thread, "limit": 3} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/v1/comments", query_string=query).get_json()
        pages += 1
        for item in body["comments"]:
            assert set(item) == {
                "id",
                "parent_id",
                "author_name",
                "author_url",
                "body",
                "created_at",
            }
        seen += [item["id"] for item in body["comments"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    assert pages == 3
    assert other not in seen


def test_replies_need_a_published_parent_in_the_same_thread(
    client: FlaskClient, workers: Workers
) -> None:
    parent = post(client)
    held_env = {"COMMENTGATE_PUBLISH_BELOW": "0", "COMMENTGATE_SPAM_ABOVE": "1"}
    pending = client.post("/api/v1/comments", json=new_comment(client, parent_id=parent))
    assert pending.status_code == 422  # parent not published yet
    workers.burst(**PUBLISH_ALL)
    reply = client.post("/api/v1/comments", json=new_comment(client, parent_id=parent))
    assert reply.status_code == 202
    other_thread = client.post(
        "/api/v1/comments", json=new_comment(client, parent_id=parent, thread="elsewhere")
    )
    assert other_thread.status_code == 422
    assert "parent_id" in other_thread.get_json()["errors"]
    workers.burst(**held_env)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"thread": ""},
        {"thread": "t", "limit": "0"},
        {"thread": "t", "limit": "1000000"},
        {"thread": "t", "limit": "-5"},
        {"thread": "t", "limit": "ten"},
        {"thread": "t", "cursor": "!!!"},
        {"thread": "t", "cursor": "bm90IGpzb24"},
    ],
)
def test_listing_rejects_bad_queries(client: FlaskClient, query: dict[str, str]) -> None:
    response = client.get("/api/v1/comments", query_string=query)
    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"


def test_unknown_comment_is_404(client: FlaskClient) -> None:
    for comment_id in ("AAAAAAAAAAAAAAAAAAAAAA", "nope", "x" * 500):
        response = client.get(f"/api/v1/comments/{comment_id}")
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"


def test_request_id_is_carried_from_web_to_the_job_log(
    client: FlaskClient, workers: Workers
) -> None:
    payload = new_comment(client)
    response = client.post("/api/v1/comments", json=payload, headers={"X-Request-ID": "trace-77"})
    assert response.status_code == 202
    result = workers.burst(COMMENTGATE_LOG_LEVEL="INFO", COMMENTGATE_LOG_FORMAT="json")
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    job_lines = [line for line in lines if line.get("job") == "process_pending"]
    assert job_lines, result.stderr[-2000:]
    assert job_lines[0]["request_id"] == "trace-77"
    assert job_lines[0]["outcome"] == "finished"
    assert payload["body"] not in result.stderr  # ids are logged, comment text never


def test_a_reworded_copy_of_marked_spam_is_filed_as_spam_at_once(
    client: FlaskClient,
    workers: Workers,
    redis_client: redis.Redis,
    tokens: dict[str, str],
) -> None:
    """Campaign memory: one moderator click catches the campaign's next copies, no retraining."""
    marked = decided(
        redis_client,
        body="Our agency writes guest posts on high authority blogs, order your package "
        "today and watch your ranking climb within a fortnight",
    )
    redis_client.delete(keys.DRAIN_SCHEDULED)  # stored directly: no scoring job was queued
    response = client.post(
        f"/api/v1/moderation/comments/{marked}",
        json={"action": "spam"},
        headers=auth(tokens["moderator"]),
    )
    assert response.status_code == 200
    copy = post(
        client,
        body="Our agency writes guest posts on high authority blogs, so order your package "
        "today and watch your site ranking climb within a fortnight!",
    )
    unrelated = post(client, body="The second half of the article lost me, could you expand?")
    workers.burst(**PUBLISH_ALL)
    assert redis_client.hget(keys.comment(copy), "status") == b"spam"
    assert json.loads(redis_client.hget(keys.comment(copy), "reasons")) == ["campaign"]
    assert redis_client.hget(keys.comment(unrelated), "status") == b"published"
