"""CommentStore.accept: the comment's fields reach Redis intact, in one packed argument."""

import time

import pytest
import redis

from service.core.store import Comment, CommentStatus, CommentStore, NonceSpentError, keys


def comment(**fields: object) -> Comment:
    values: dict[str, object] = {
        "id": f"c{time.monotonic_ns()}",
        "thread": "https://blog.example/posts/hello",
        "body": "Thanks!",
        "author_name": "Ada",
        "created_at": 1_700_000_000.25,
        "status": CommentStatus.PENDING,
    }
    values.update(fields)
    return Comment(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        'quotes " and \\ backslashes',
        "lines\nand\ttabs",
        "\U0001f469\u200d\U0001f4bb and \U0001d518, outside the BMP",
        "\u2028\u2029 JSON's line separators",
        '{"looks": ["like", "json"]}',
        "\\u0041 an escape, as text",
        "null",
        "0",
        "",
        "x" * 20_000,
    ],
)
def test_text_survives_the_packed_argument(redis_client: redis.Redis, text: str) -> None:
    store = CommentStore(redis_client)
    stored = comment(body=text, author_name=text, thread=f"t/{text[:20]}", user_agent="UA/1")
    store.accept(stored, nonce="n1", nonce_ttl=60)
    assert store.get(stored.id) == stored
    assert redis_client.hget(keys.comment(stored.id), "body") == text.encode()


def test_fields_at_their_default_are_not_stored(redis_client: redis.Redis) -> None:
    store = CommentStore(redis_client)
    plain = comment()
    flagged = comment(honeypot=True, author_url="https://ada.example", score=0.0)
    for each in (plain, flagged):
        store.accept(each, nonce=None, nonce_ttl=60)
    assert set(redis_client.hgetall(keys.comment(plain.id))) == {
        b"id",
        b"thread",
        b"body",
        b"author_name",
        b"created_at",
        b"status",
    }
    stored = redis_client.hgetall(keys.comment(flagged.id))
    assert stored[b"honeypot"] == b"1"
    assert stored[b"score"] == b"0.0"
    assert store.get(plain.id) == plain
    assert store.get(flagged.id) == flagged


def test_a_hash_with_every_field_still_loads(redis_client: redis.Redis) -> None:
    full = comment(ip="198.51.100.4")
    every = {
        "id": full.id,
        "thread": full.thread,
        "body": full.body,
        "author_name": full.author_name,
        "created_at": str(full.created_at),
        "status": "pending",
        "author_email": "",
        "author_url": "",
        "parent_id": "",
        "ip": "198.51.100.4",
        "user_agent": "",
        "request_id": "",
        "honeypot": "0",
        "too_fast": "0",
        "model_version": "",
        "reasons": "[]",
        "moderated_by": "",
    }
    redis_client.hset(keys.comment(full.id), mapping=every)
    assert CommentStore(redis_client).get(full.id) == full


def test_a_spent_nonce_stores_nothing(redis_client: redis.Redis) -> None:
    store = CommentStore(redis_client)
    store.accept(comment(), nonce="once", nonce_ttl=60)
    second = comment()
    with pytest.raises(NonceSpentError):
        store.accept(second, nonce="once", nonce_ttl=60)
    assert store.get(second.id) is None
    assert redis_client.zscore(keys.PENDING, second.id) is None
