"""POST /api/v1/comments against a real Redis (no worker runs here)."""

from typing import Any

import pytest
import redis
from flask import Flask, url_for
from flask.testing import FlaskClient

from service.core.store import keys
from tests.conftest import new_comment


def stored_ids(redis_client: redis.Redis) -> list[str]:
    return [k.decode().rsplit(":", 1)[1] for k in redis_client.scan_iter("cg:comment:*")]


def test_json_comment_is_stored_pending_and_queued(
    client: FlaskClient, redis_client: redis.Redis
) -> None:
    response = client.post("/api/v1/comments", json=new_comment(client))
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "pending"
    assert len(body["id"]) >= 20
    assert body["status_url"].endswith(f"/api/v1/comments/{body['id']}")
    assert response.headers["Location"] == body["status_url"]
    assert stored_ids(redis_client) == [body["id"]]
    assert redis_client.zscore(keys.PENDING, body["id"]) is not None
    assert redis_client.llen("rq:queue:commentgate.comments") == 1
    status = client.get(f"/api/v1/comments/{body['id']}").get_json()
    assert status["status"] == "pending"
    assert "author_email" not in status
    assert "ip" not in status


def test_status_url_is_what_url_for_builds_for_each_host(app: Flask, client: FlaskClient) -> None:
    # The intake builds the URL with the request's URL adapter, not url_for: the same URL.
    bases = [
        "http://localhost/",
        "https://localhost/",
        "https://comments.example:8443/",
        "http://Blog.Example.ORG/",
        "http://blog.example.org/mounted/at/",
        "http://[::1]:8000/",
        "http://xn--bcher-kva.example/",
    ]
    for base_url in bases * 2:  # the second time from the cache
        response = client.post("/api/v1/comments", json=new_comment(client), base_url=base_url)
        assert response.status_code == 202
        body = response.get_json()
        with app.test_request_context("/api/v1/comments", method="POST", base_url=base_url):
            expected = url_for("comments.get_one", comment_id=body["id"], _external=True)
        assert body["status_url"] == expected
        assert response.headers["Location"] == expected
        path = expected.removeprefix(base_url.rstrip("/"))
        assert client.get(path, base_url=base_url).get_json()["id"] == body["id"]


def test_one_scoring_job_for_a_burst(client: FlaskClient, redis_client: redis.Redis) -> None:
    for _ in range(5):
        assert client.post("/api/v1/comments", json=new_comment(client)).status_code == 202
    assert redis_client.zcard(keys.PENDING) == 5
    assert redis_client.llen("rq:queue:commentgate.comments") == 1


def test_form_post_from_browser_redirects_back(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/comments",
        data=new_comment(client),
        headers={
            "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
            "Referer": "https://blog.example/posts/hello?x=1",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://blog.example/posts/hello?x=1&comment=")


def test_form_post_from_script_gets_json(client: FlaskClient) -> None:
    response = client.post("/api/v1/comments", data=new_comment(client))
    assert response.status_code == 202
    assert response.get_json()["status"] == "pending"


def test_unknown_fields_are_ignored(client: FlaskClient) -> None:
    assert client.post("/api/v1/comments", json=new_comment(client, extra=1)).status_code == 202


def problem(response: Any) -> dict[str, Any]:
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["status"] == response.status_code
    return body


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "malformed_body"),
        (b"[1, 2]", "application/json", 400, "malformed_body"),
        (b'{"a": 1, "a": 2}', "application/json", 400, "malformed_body"),
        (b"\xff\xfe{}", "application/json", 400, "malformed_body"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 413, "payload_too_large"),
        (b"[" * 5_000 + b"]" * 5_000, "application/json", 400, "malformed_body"),
        (b'{"x": NaN}', "application/json", 400, "malformed_body"),
        (b"thread=a", "text/plain", 415, "unsupported_media_type"),
        (b"", "", 415, "unsupported_media_type"),
        (b"x" * (1024 * 1024), "application/json", 413, "payload_too_large"),
    ],
)
def test_malformed_bodies(
    client: FlaskClient,
    redis_client: redis.Redis,
    data: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    response = client.post("/api/v1/comments", data=data, content_type=content_type)
    assert response.status_code == status
    assert problem(response)["code"] == code
    assert stored_ids(redis_client) == []


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"thread": ""}, "thread"),
        ({"thread": "x" * 513}, "thread"),
        ({"body": ""}, "body"),
        ({"body": "   "}, "body"),
        ({"body": "x" * 5001}, "body"),
        ({"body": 42}, "body"),
        ({"body": "hi\x00there"}, "body"),
        ({"body": "evil \u202egnp.exe"}, "body"),
        ({"author_name": ""}, "author_name"),
        ({"author_name": "x" * 101}, "author_name"),
        ({"author_name": "Ada\u200b"}, "author_name"),
        ({"author_email": "not-an-email"}, "author_email"),
        ({"author_url": "javascript:alert(1)"}, "author_url"),
        ({"author_url": "data:text/html,hi"}, "author_url"),
        ({"author_url": "https://"}, "author_url"),
        ({"author_url": "https://ok.example/\r\nSet-Cookie: x"}, "author_url"),
        ({"parent_id": "../../etc"}, "parent_id"),
        ({"parent_id": "AAAAAAAAAAAAAAAAAAAAAA"}, "parent_id"),
    ],
)
def test_invalid_fields(
    client: FlaskClient, redis_client: redis.Redis, fields: dict[str, Any], bad_field: str
) -> None:
    payload = new_comment(client)
    payload.update(fields)
    response = client.post("/api/v1/comments", json=payload)
    assert response.status_code == 422
    body = problem(response)
    assert body["code"] == "validation_failed"
    assert bad_field in body["errors"]
    assert stored_ids(redis_client) == []


def test_missing_required_fields(client: FlaskClient) -> None:
    response = client.post("/api/v1/comments", json={})
    body = problem(response)
    assert response.status_code == 422
    assert {"thread", "body"} <= body["errors"].keys()


@pytest.mark.parametrize("answer", ["wrong", "999", ""])
def test_wrong_captcha_gets_a_fresh_challenge(
    client: FlaskClient, redis_client: redis.Redis, answer: str
) -> None:
    response = client.post("/api/v1/comments", json=new_comment(client, captcha_answer=answer))
    assert response.status_code == 422
    body = problem(response)
    assert body["code"] == "captcha_invalid"
    assert {"token", "question", "prompt", "expires_in"} <= body["captcha"].keys()
    assert stored_ids(redis_client) == []


def test_captcha_is_single_use(client: FlaskClient, redis_client: redis.Redis) -> None:
    payload = new_comment(client)
    assert client.post("/api/v1/comments", json=payload).status_code == 202
    again = client.post("/api/v1/comments", json=payload | {"body": "second try"})
    assert again.status_code == 422
    assert problem(again)["reason"] == "reused"
    assert len(stored_ids(redis_client)) == 1


def test_forged_captcha(client: FlaskClient) -> None:
    response = client.post("/api/v1/comments", json=new_comment(client, captcha_token="x.y.z"))
    assert problem(response)["reason"] == "forged"


def test_honeypot_is_accepted_and_flagged(client: FlaskClient, redis_client: redis.Redis) -> None:
    response = client.post("/api/v1/comments", json=new_comment(client, hp_website="http://x"))
    assert response.status_code == 202
    stored = redis_client.hgetall(f"cg:comment:{response.get_json()['id']}")
    assert stored[b"honeypot"] == b"1"


def test_too_fast_answer_is_flagged(make_settings: Any, redis_client: redis.Redis) -> None:
    from service.web.app import create_app

    client = create_app(make_settings(captcha_min_solve_seconds=60)).test_client()
    response = client.post("/api/v1/comments", json=new_comment(client))
    stored = redis_client.hgetall(f"cg:comment:{response.get_json()['id']}")
    assert stored[b"too_fast"] == b"1"


def test_client_ip_and_user_agent_recorded(make_settings: Any, redis_client: redis.Redis) -> None:
    from service.web.app import create_app

    app = create_app(make_settings(trusted_proxies=["127.0.0.0/8"]))
    client = app.test_client()
    response = client.post(
        "/api/v1/comments",
        json=new_comment(client),
        headers={"X-Forwarded-For": "198.51.100.7", "User-Agent": "TestBrowser/1.0"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    stored = redis_client.hgetall(f"cg:comment:{response.get_json()['id']}")
    assert stored[b"ip"] == b"198.51.100.7"
    assert stored[b"user_agent"] == b"TestBrowser/1.0"


def test_forwarded_for_ignored_from_untrusted_peer(
    client: FlaskClient, redis_client: redis.Redis
) -> None:
    response = client.post(
        "/api/v1/comments",
        json=new_comment(client),
        headers={"X-Forwarded-For": "198.51.100.7"},
        environ_base={"REMOTE_ADDR": "203.0.113.5"},
    )
    stored = redis_client.hgetall(f"cg:comment:{response.get_json()['id']}")
    assert stored[b"ip"] == b"203.0.113.5"


def test_cors_closed_by_default(client: FlaskClient) -> None:
    response = client.options(
        "/api/v1/comments",
        headers={"Origin": "https://blog.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_preflight_for_allowed_origin(make_settings: Any) -> None:
    from service.web.app import create_app

    client = create_app(make_settings(allowed_origins=["https://blog.example"])).test_client()
    response = client.options(
        "/api/v1/comments",
        headers={
            "Origin": "https://blog.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert response.headers["Access-Control-Allow-Origin"] == "https://blog.example"
    other = client.options(
        "/api/v1/comments",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in other.headers


def test_redis_down_gives_503(make_settings: Any) -> None:
    from service.web.app import create_app

    client = create_app(make_settings(redis_url="redis://127.0.0.1:1/0")).test_client()
    challenge = client.get("/api/v1/captcha").get_json()
    from tests.conftest import solve

    response = client.post(
        "/api/v1/comments",
        json={
            "thread": "t",
            "body": "b",
            "author_name": "a",
            "captcha_token": challenge["token"],
            "captcha_answer": solve(challenge["question"]),
        },
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert problem(response)["code"] == "unavailable"


def test_captcha_allows_a_few_wrong_answers_then_is_spent(make_settings: Any) -> None:
    from service.web.app import create_app
    from tests.conftest import solve

    client = create_app(make_settings(captcha_max_attempts=3)).test_client()
    payload = new_comment(client)
    right = payload["captcha_answer"]
    wrong = str(int(right) + 1)
    reasons = []
    for _ in range(3):
        response = client.post("/api/v1/comments", json=payload | {"captcha_answer": wrong})
        reasons.append(problem(response)["reason"])
    assert reasons == ["wrong_answer", "wrong_answer", "too_many_attempts"]
    late = client.post("/api/v1/comments", json=payload | {"captcha_answer": right})
    assert problem(late)["reason"] == "reused"
    fresh = late.get_json()["captcha"]
    ok = client.post(
        "/api/v1/comments",
        json=payload
        | {"captcha_token": fresh["token"], "captcha_answer": solve(fresh["question"])},
    )
    assert ok.status_code == 202


def test_captcha_failures_are_counted_in_metrics(client: FlaskClient) -> None:
    client.post("/api/v1/comments", json=new_comment(client, captcha_answer="999"))
    client.post("/api/v1/comments", json=new_comment(client, captcha_token="forged.token.x"))
    text = client.get("/metrics").get_data(as_text=True)
    assert 'commentgate_captcha_failures_total{reason="wrong_answer"} 1.0' in text
    assert 'commentgate_captcha_failures_total{reason="forged"} 1.0' in text
    received = 'commentgate_comments_received_total{outcome="captcha_invalid",site="default"} 2.0'
    assert received in text
