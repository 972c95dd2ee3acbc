"""Done when: two sites side by side do not see each other's comments, threads, lists or
moderators, unless a moderator is allowed both."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from service.core.accounts import ModeratorStore, Role
from service.core.sites import SiteRegistry
from service.core.store import CommentStatus, CommentStore, Decision
from tests.conftest import auth, new_comment

THREAD = "/posts/launch"  # the same thread id on both sites


@dataclass
class TwoSites:
    blog_key: str
    tokens: dict[str, str]
    ids: dict[str, str]  # label -> comment id


def _decide(redis_client: redis.Redis, comment_id: str, status: CommentStatus) -> None:
    store = CommentStore(redis_client)
    comment = store.get(comment_id)
    assert comment is not None
    store.record_decisions([Decision(comment, status, 0.5, "cg-test", ("model_score",))])


@pytest.fixture
def two(client: FlaskClient, redis_client: redis.Redis) -> TwoSites:
    registry = SiteRegistry(redis_client)
    _, blog_key = registry.add("blog", url="https://blog.example/")
    registry.add("news", url="https://news.example/")
    accounts = ModeratorStore(redis_client)
    tokens = {
        "blog": accounts.add("bea", sites=["blog"]),
        "news": accounts.add("ned", sites=["news"]),
        "both": accounts.add("bo", sites=["blog", "news"]),
        "admin": accounts.add("ada", Role.ADMIN),
        "blog_admin": accounts.add("bill", Role.ADMIN, sites=["blog"]),
    }
    ids: dict[str, str] = {}

    def post(label: str, **how: Any) -> None:
        response = client.post(
            "/api/v1/comments",
            json=new_comment(client, thread=THREAD, body=f"A comment for {label}."),
            **how,
        )
        assert response.status_code == 202, response.get_json()
        ids[label] = response.get_json()["id"]

    key = {"headers": {"Authorization": f"Bearer {blog_key}"}}
    post("blog_published", **key)
    post("blog_held", **key)
    # The news site's page posts from its readers' browsers.
    for label in ("news_published", "news_held"):
        response = client.post(
            "/api/v1/comments",
            json=new_comment(client, thread=THREAD, body=f"A comment for {label}.", site="news"),
            headers={"Origin": "https://news.example"},
        )
        assert response.status_code == 202, response.get_json()
        ids[label] = response.get_json()["id"]
    for label, comment_id in ids.items():
        status = CommentStatus.PUBLISHED if label.endswith("published") else CommentStatus.HELD
        _decide(redis_client, comment_id, status)
    return TwoSites(blog_key, tokens, ids)


def _queue(client: FlaskClient, token: str, **query: str) -> dict[str, Any]:
    response = client.get("/api/v1/moderation/queue", query_string=query, headers=auth(token))
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_each_sites_thread_shows_only_its_comments(client: FlaskClient, two: TwoSites) -> None:
    def thread(site: str) -> list[str]:
        page = client.get("/api/v1/comments", query_string={"thread": THREAD, "site": site})
        return [c["id"] for c in page.get_json()["comments"]]

    assert thread("blog") == [two.ids["blog_published"]]
    assert thread("news") == [two.ids["news_published"]]
    assert thread("default") == []


def test_moderators_see_only_their_sites(client: FlaskClient, two: TwoSites) -> None:
    blog = _queue(client, two.tokens["blog"])
    assert [c["id"] for c in blog["comments"]] == [two.ids["blog_held"]]
    assert blog["comments"][0]["site"] == "blog"
    assert blog["counts"]["held"] == 1
    assert blog["counts"]["published"] == 1
    news = _queue(client, two.tokens["news"], status="published")
    assert [c["id"] for c in news["comments"]] == [two.ids["news_published"]]
    # A moderator allowed both sees both, and may narrow to one.
    both = _queue(client, two.tokens["both"])
    assert {c["id"] for c in both["comments"]} == {two.ids["blog_held"], two.ids["news_held"]}
    assert both["counts"]["held"] == 2
    narrowed = _queue(client, two.tokens["both"], site="news")
    assert [c["id"] for c in narrowed["comments"]] == [two.ids["news_held"]]
    assert narrowed["counts"]["held"] == 1
    # Asking for a site one may not see shows nothing.
    hidden = _queue(client, two.tokens["blog"], site="news")
    assert hidden["comments"] == []
    assert hidden["counts"]["held"] == 0
    # An unlimited admin sees everything.
    assert _queue(client, two.tokens["admin"])["counts"]["held"] == 2


def test_acting_on_another_sites_comment_is_404(
    client: FlaskClient, two: TwoSites, redis_client: redis.Redis
) -> None:
    news_held = two.ids["news_held"]
    refused = client.post(
        f"/api/v1/moderation/comments/{news_held}",
        json={"action": "approve"},
        headers=auth(two.tokens["blog"]),
    )
    assert refused.status_code == 404
    bulk = client.post(
        "/api/v1/moderation/bulk",
        json={"action": "spam", "ids": [two.ids["blog_held"], news_held]},
        headers=auth(two.tokens["blog"]),
    )
    assert bulk.status_code == 404  # all or nothing: the blog's comment did not change either
    store = CommentStore(redis_client)
    assert store.get(news_held).status is CommentStatus.HELD  # type: ignore[union-attr]
    assert store.get(two.ids["blog_held"]).status is CommentStatus.HELD  # type: ignore[union-attr]
    approved = client.post(
        f"/api/v1/moderation/comments/{news_held}",
        json={"action": "approve"},
        headers=auth(two.tokens["news"]),
    )
    assert approved.status_code == 200
    assert approved.get_json()["site"] == "news"
    page = client.get("/api/v1/comments", query_string={"thread": THREAD, "site": "news"})
    assert news_held in [c["id"] for c in page.get_json()["comments"]]
    # The blog's moderator now sees news's decision nowhere.
    blog = _queue(client, two.tokens["blog"], status="published")
    assert news_held not in [c["id"] for c in blog["comments"]]
    assert blog["counts"]["published"] == 1


def test_audit_and_export_are_per_site(client: FlaskClient, two: TwoSites) -> None:
    for token, comment_id in (
        (two.tokens["blog"], two.ids["blog_held"]),
        (two.tokens["news"], two.ids["news_held"]),
    ):
        response = client.post(
            f"/api/v1/moderation/comments/{comment_id}",
            json={"action": "reject"},
            headers=auth(token),
        )
        assert response.status_code == 200

    def audited(token: str, **query: str) -> list[str]:
        response = client.get("/api/v1/moderation/audit", query_string=query, headers=auth(token))
        return [e["comment_id"] for e in response.get_json()["entries"]]

    assert audited(two.tokens["blog"]) == [two.ids["blog_held"]]
    assert audited(two.tokens["news"]) == [two.ids["news_held"]]
    assert audited(two.tokens["both"]) == [two.ids["news_held"], two.ids["blog_held"]]
    assert audited(two.tokens["admin"], site="blog") == [two.ids["blog_held"]]

    def exported(token: str) -> set[str]:
        response = client.get("/api/v1/moderation/export", headers=auth(token))
        return {json.loads(line)["id"] for line in response.get_data(as_text=True).splitlines()}

    assert exported(two.tokens["blog"]) == {two.ids["blog_held"], two.ids["blog_published"]}
    assert exported(two.tokens["news"]) == {two.ids["news_held"], two.ids["news_published"]}
    assert len(exported(two.tokens["admin"])) == 4


def test_lists_are_per_site(client: FlaskClient, two: TwoSites) -> None:
    added = client.post(
        "/api/v1/moderation/lists/block/terms",
        json={"value": "casino", "site": "blog"},
        headers=auth(two.tokens["blog_admin"]),
    )
    assert added.status_code == 201

    def terms(token: str, site: str) -> Any:
        return client.get(
            "/api/v1/moderation/lists", query_string={"site": site}, headers=auth(token)
        )

    assert terms(two.tokens["admin"], "blog").get_json()["block"]["terms"] == ["casino"]
    assert terms(two.tokens["admin"], "news").get_json()["block"]["terms"] == []
    assert terms(two.tokens["admin"], "default").get_json()["block"]["terms"] == []
    assert terms(two.tokens["blog_admin"], "news").status_code == 404
    refused = client.post(
        "/api/v1/moderation/lists/block/terms",
        json={"value": "lottery", "site": "news"},
        headers=auth(two.tokens["blog_admin"]),
    )
    assert refused.status_code == 404
    removed = client.delete(
        "/api/v1/moderation/lists/block/terms",
        query_string={"value": "casino", "site": "blog"},
        headers=auth(two.tokens["admin"]),
    )
    assert removed.status_code == 200


def test_moderator_accounts_name_their_sites(client: FlaskClient, two: TwoSites) -> None:
    me = client.get("/api/v1/moderation/me", headers=auth(two.tokens["blog"])).get_json()
    assert me["sites"] == ["blog"]
    listed = client.get("/api/v1/moderation/moderators", headers=auth(two.tokens["admin"]))
    by_name = {m["name"]: m["sites"] for m in listed.get_json()["moderators"]}
    assert by_name["ada"] is None
    assert by_name["bo"] == ["blog", "news"]
    created = client.post(
        "/api/v1/moderation/moderators",
        json={"name": "nina", "sites": ["news"]},
        headers=auth(two.tokens["admin"]),
    )
    assert created.status_code == 201
    assert created.get_json()["sites"] == ["news"]
    # An admin limited to the blog cannot make an account that sees more.
    for body in ({"name": "x1"}, {"name": "x2", "sites": ["news"]}):
        response = client.post(
            "/api/v1/moderation/moderators", json=body, headers=auth(two.tokens["blog_admin"])
        )
        assert response.status_code == 403
    bad = client.post(
        "/api/v1/moderation/moderators",
        json={"name": "x3", "sites": ["Not A Site"]},
        headers=auth(two.tokens["admin"]),
    )
    assert bad.status_code == 422
