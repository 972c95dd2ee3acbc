"""The moderation API against a real Redis."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from service.core.accounts import ModeratorStore, Role
from service.core.store import keys
from tests.conftest import THREAD, auth, decided


def act(client: FlaskClient, token: str, comment_id: str, action: str, **extra: Any) -> Any:
    return client.post(
        f"/api/v1/moderation/comments/{comment_id}",
        json={"action": action, **extra},
        headers=auth(token),
    )


def moderation_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(method, url, endpoint) of every moderation route, from the URL map."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/moderation"):
            continue
        url = rule.rule
        for argument in rule.arguments:
            url = url.replace(
                f"<{argument}>",
                {"comment_id": "AAAAAAAAAAAAAAAAAAAAAA", "name": "block", "kind": "terms"}.get(
                    argument, "x"
                ),
            )
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, url, rule.endpoint))
    return routes


def test_every_moderation_route_needs_a_token(app: Flask, client: FlaskClient) -> None:
    routes = moderation_routes(app)
    assert len(routes) >= 12
    for method, url, _ in routes:
        for headers in ({}, auth("cgm_not-a-real-token"), {"Authorization": "Basic abc"}):
            response = client.open(url, method=method, headers=headers, json={})
            assert response.status_code == 401, (method, url)
            assert response.mimetype == "application/problem+json"
            assert response.get_json()["code"] == "unauthorized"


def test_admin_routes_refuse_moderators(
    app: Flask, client: FlaskClient, tokens: dict[str, str]
) -> None:
    from service.web.auth import required_role

    with app.test_request_context():
        admin_only = [r for r in moderation_routes(app) if required_role(r[2]) is Role.ADMIN]
    assert {e for _, _, e in admin_only} >= {
        "moderation.add_entry",
        "moderation.remove_entry",
        "moderation.moderators",
        "moderation.add_moderator",
        "moderation.revoke_moderator",
    }
    for method, url, _ in admin_only:
        response = client.open(url, method=method, headers=auth(tokens["moderator"]), json={})
        assert response.status_code == 403, (method, url)
        assert response.get_json()["code"] == "forbidden"


def test_revoked_token_stops_working(
    client: FlaskClient, tokens: dict[str, str], redis_client: redis.Redis
) -> None:
    assert client.get("/api/v1/moderation/me", headers=auth(tokens["moderator"])).status_code == 200
    ModeratorStore(redis_client).revoke("mia")
    assert client.get("/api/v1/moderation/me", headers=auth(tokens["moderator"])).status_code == 401


def test_queue_lists_newest_first_with_counts_and_private_fields(
    client: FlaskClient, tokens: dict[str, str], redis_client: redis.Redis
) -> None:
    now = time.time()
    older = decided(redis_client, created_at=now - 10, email="sam@example.org")
    newer = decided(redis_client, created_at=now - 5)
    decided(redis_client, "spam")
    body = client.get(
        "/api/v1/moderation/queue?status=held", headers=auth(tokens["moderator"])
    ).get_json()
    assert [c["id"] for c in body["comments"]] == [newer, older]
    assert body["counts"] == {"pending": 0, "published": 0, "held": 2, "spam": 1, "rejected": 0}
    first = body["comments"][1]
    assert first["author_email"] == "sam@example.org"
    assert first["ip"] == "198.51.100.4"
    assert first["score"] == 0.5
    assert first["reasons"] == ["model_score"]
    assert first["model_version"] == "cg-test"


def test_queue_filters_search_and_pages(
    client: FlaskClient, tokens: dict[str, str], redis_client: redis.Redis
) -> None:
    now = time.time()
    ids = [decided(redis_client, body=f"note {i}", created_at=now - i) for i in range(5)]
    decided(redis_client, body="Buy CHEAP watches", thread="other", created_at=now - 10)
    headers = auth(tokens["moderator"])
    found = client.get("/api/v1/moderation/queue?q=cheap", headers=headers).get_json()
    assert [c["body"] for c in found["comments"]] == ["Buy CHEAP watches"]
    by_thread = client.get(
        "/api/v1/moderation/queue", query_string={"thread": THREAD, "limit": 2}, headers=headers
    ).get_json()
    seen = [c["id"] for c in by_thread["comments"]]
    while by_thread["next_cursor"]:
        by_thread = client.get(
            "/api/v1/moderation/queue",
            query_string={"thread": THREAD, "limit": 2, "cursor": by_thread["next_cursor"]},
            headers=headers,
        ).get_json()
        seen += [c["id"] for c in by_thread["comments"]]
    assert seen == ids


@pytest.mark.parametrize(
    ("start", "action", "end", "label"),
    [
        ("held", "approve", "published", "ham"),
        ("held", "spam", "spam", "spam"),
        ("held", "reject", "rejected", None),
        ("published", "spam", "spam", "spam"),
        ("spam", "approve", "published", "ham"),
        ("rejected", "approve", "published", "ham"),
        ("published", "reject", "rejected", None),
    ],
)
def test_actions_from_any_state(
    client: FlaskClient,
    tokens: dict[str, str],
    redis_client: redis.Redis,
    start: str,
    action: str,
    end: str,
    label: str | None,
) -> None:
    comment_id = decided(redis_client, start)
    response = act(client, tokens["moderator"], comment_id, action)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == end
    assert body["previous_status"] == start
    assert body["moderated_by"] == "mia"
    listing = client.get("/api/v1/comments", query_string={"thread": THREAD}).get_json()
    assert (comment_id in [c["id"] for c in listing["comments"]]) == (end == "published")
    counts = client.get("/api/v1/moderation/queue", headers=auth(tokens["moderator"])).get_json()[
        "counts"
    ]
    assert counts[end] == 1
    assert sum(counts.values()) == 1
    feedback = redis_client.xrange(keys.feedback(keys.DEFAULT_SITE))
    if label is None:
        assert feedback == []
    else:
        [(_, fields)] = feedback
        assert fields[b"label"].decode() == label
        assert fields[b"comment_id"].decode() == comment_id
    [entry] = client.get("/api/v1/moderation/audit", headers=auth(tokens["moderator"])).get_json()[
        "entries"
    ]
    assert (
        entry["moderator"],
        entry["comment_id"],
        entry["action"],
        entry["from"],
        entry["to"],
    ) == ("mia", comment_id, action, start, end)


def test_approve_enqueues_learning_and_a_webhook_event(
    make_settings: Any, tokens: dict[str, str], redis_client: redis.Redis
) -> None:
    from service.web.app import create_app

    client = create_app(
        make_settings(webhooks={"http://127.0.0.1:9/hook": "whsec_" + "A" * 32})
    ).test_client()
    comment_id = decided(redis_client)
    assert act(client, tokens["moderator"], comment_id, "approve").status_code == 200
    assert redis_client.llen("rq:queue:commentgate.learning") == 1
    [job_id] = [j.decode() for j in redis_client.lrange("rq:queue:commentgate.webhooks", 0, -1)]
    from rq.job import Job

    event_id, _url, site = Job.fetch(job_id, connection=redis_client).args
    assert site == "default"
    event = json.loads(redis_client.get(f"cg:event:{event_id}") or b"{}")
    assert event["type"] == "comment.moderated"
    assert event["data"]["id"] == comment_id
    assert event["data"]["action"] == "approve"


def test_two_moderators_at_once_one_wins_the_other_gets_409(
    app: Flask, tokens: dict[str, str], redis_client: redis.Redis
) -> None:
    comment_id = decided(redis_client)
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def moderate(action: str) -> None:
        client = app.test_client()
        barrier.wait()
        response = act(client, tokens["moderator"], comment_id, action, expected_status="held")
        results[action] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=moderate, args=(a,)) for a in ("approve", "spam")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(code for code, _ in results.values())
    assert statuses == [200, 409]
    [(_winner, (_, won))] = [(a, r) for a, r in results.items() if r[0] == 200]
    [(_, lost)] = [r for r in results.values() if r[0] == 409]
    assert lost["code"] == "conflict"
    assert lost["current_status"] == won["status"]
    assert redis_client.hget(keys.comment(comment_id), "status").decode() == won["status"]
    assert len(redis_client.xrange(keys.AUDIT)) == 1


def test_stale_expected_status_is_409(
    client: FlaskClient, tokens: dict[str, str], redis_client: redis.Redis
) -> None:
    comment_id = decided(redis_client, "published")
    response = act(client, tokens["moderator"], comment_id, "spam", expected_status="held")
    assert response.status_code == 409
    assert response.get_json()["current_status"] == "published"


def test_bulk_is_all_or_nothing(
    client: FlaskClient, tokens: dict[str, str], redis_client: redis.Redis
) -> None:
    headers = auth(tokens["moderator"])
    ids = [decided(redis_client) for _ in range(3)]
    published = decided(redis_client, "published")
    missing = "AAAAAAAAAAAAAAAAAAAAAA"
    unknown = client.post(
        "/api/v1/moderation/bulk", json={"ids": [*ids, missing], "action": "spam"}, headers=headers
    )
    assert unknown.status_code == 404
    conflict = client.post(
        "/api/v1/moderation/bulk",
        json={"ids": [*ids, published], "action": "spam", "expected_status": "held"},
        headers=headers,
    )
    assert conflict.status_code == 409
    assert conflict.get_json()["id"] == published
    assert {redis_client.hget(keys.comment(i), "status") for i in ids} == {b"held"}
    assert redis_client.xlen(keys.AUDIT) == 0
    done = client.post(
        "/api/v1/moderation/bulk", json={"ids": ids, "action": "spam"}, headers=headers
    )
    assert done.status_code == 200
    assert [r["status"] for r in done.get_json()["results"]] == ["spam"] * 3
    assert redis_client.xlen(keys.AUDIT) == 3


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"action": "delete"},
        {"ids": [], "action": "spam"},
        {"ids": ["../x"], "action": "spam"},
        {"ids": ["AAAAAAAAAAAAAAAAAAAAAA"] * 2, "action": "spam"},
        {"ids": "AAAAAAAAAAAAAAAAAAAAAA", "action": "spam"},
    ],
)
def test_bulk_rejects_bad_bodies(
    client: FlaskClient, tokens: dict[str, str], payload: dict[str, Any]
) -> None:
    response = client.post(
        "/api/v1/moderation/bulk", json=payload, headers=auth(tokens["moderator"])
    )
    assert response.status_code == 422


def test_unknown_comment_is_404(client: FlaskClient, tokens: dict[str, str]) -> None:
    for comment_id in ("AAAAAAAAAAAAAAAAAAAAAA", "bad"):
        assert act(client, tokens["moderator"], comment_id, "approve").status_code == 404


def test_audit_pagination(
    client: FlaskClient, tokens: dict[str, str], redis_client: redis.Redis
) -> None:
    headers = auth(tokens["moderator"])
    for _ in range(5):
        act(client, tokens["moderator"], decided(redis_client), "reject")
    page = client.get("/api/v1/moderation/audit?limit=2", headers=headers).get_json()
    seen = [e["id"] for e in page["entries"]]
    while page["next_cursor"]:
        page = client.get(
            f"/api/v1/moderation/audit?limit=2&cursor={page['next_cursor']}", headers=headers
        ).get_json()
        seen += [e["id"] for e in page["entries"]]
    assert len(seen) == len(set(seen)) == 5
    assert client.get("/api/v1/moderation/audit?cursor=nope", headers=headers).status_code == 422


def test_lists_are_managed_by_admins(client: FlaskClient, tokens: dict[str, str]) -> None:
    admin = auth(tokens["admin"])
    created = client.post(
        "/api/v1/moderation/lists/block/domains", json={"value": "*.Spam.Example"}, headers=admin
    )
    assert created.status_code == 201
    assert created.get_json()["value"] == "spam.example"
    client.post("/api/v1/moderation/lists/allow/ips", json={"value": "10.0.0.0/8"}, headers=admin)
    lists = client.get("/api/v1/moderation/lists", headers=auth(tokens["moderator"])).get_json()
    assert lists["block"]["domains"] == ["spam.example"]
    assert lists["allow"]["ips"] == ["10.0.0.0/8"]
    bad = client.post(
        "/api/v1/moderation/lists/block/ips", json={"value": "not-an-ip"}, headers=admin
    )
    assert bad.status_code == 422
    assert (
        client.post(
            "/api/v1/moderation/lists/grey/ips", json={"value": "1.2.3.4"}, headers=admin
        ).status_code
        == 404
    )
    removed = client.delete(
        "/api/v1/moderation/lists/block/domains?value=spam.example", headers=admin
    )
    assert removed.status_code == 200
    again = client.delete(
        "/api/v1/moderation/lists/block/domains?value=spam.example", headers=admin
    )
    assert again.status_code == 404


def test_admins_manage_moderators(client: FlaskClient, tokens: dict[str, str]) -> None:
    admin = auth(tokens["admin"])
    created = client.post("/api/v1/moderation/moderators", json={"name": "new.mod"}, headers=admin)
    assert created.status_code == 201
    token = created.get_json()["token"]
    assert client.get("/api/v1/moderation/me", headers=auth(token)).get_json()["name"] == "new.mod"
    names = [
        m["name"]
        for m in client.get("/api/v1/moderation/moderators", headers=admin).get_json()["moderators"]
    ]
    assert names == ["ada", "mia", "new.mod"]
    assert (
        client.post(
            "/api/v1/moderation/moderators", json={"name": "mia"}, headers=admin
        ).status_code
        == 422
    )
    assert client.delete("/api/v1/moderation/moderators/new.mod", headers=admin).status_code == 200
    assert client.get("/api/v1/moderation/me", headers=auth(token)).status_code == 401
    assert client.delete("/api/v1/moderation/moderators/nobody", headers=admin).status_code == 404


def test_export_jsonl_and_csv(
    client: FlaskClient, tokens: dict[str, str], redis_client: redis.Redis
) -> None:
    headers = auth(tokens["moderator"])
    ids = {decided(redis_client, s) for s in ("held", "spam", "published")}
    jsonl = client.get("/api/v1/moderation/export?format=jsonl", headers=headers)
    assert jsonl.mimetype == "application/x-ndjson"
    rows = [json.loads(line) for line in jsonl.get_data(as_text=True).splitlines()]
    assert {r["id"] for r in rows} == ids
    assert {r["status"] for r in rows} == {"held", "spam", "published"}
    exported = client.get("/api/v1/moderation/export?format=csv", headers=headers)
    assert exported.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert {r["id"].removeprefix("'") for r in table} == ids  # "'-abc": see spreadsheet_safe
    assert client.get("/api/v1/moderation/export?format=xml", headers=headers).status_code == 422
