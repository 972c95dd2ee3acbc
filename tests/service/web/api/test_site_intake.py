"""Sites at intake: site keys, forwarded commenter fields, captcha, origins, rate limits, CORS."""

from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from service.core.sites import SiteRegistry
from service.core.store import CommentStatus, CommentStore
from tests.conftest import new_comment
from tests.service.core.test_metrics import received

BLOG = "https://blog.example"


@pytest.fixture
def blog_key(redis_client: redis.Redis) -> str:
    """The key of site ``blog`` (origin https://blog.example), added before the app runs."""
    _, key = SiteRegistry(redis_client).add("blog", url=BLOG + "/")
    return key


def site_post(client: FlaskClient, key: str, **fields: Any) -> Any:
    return client.post(
        "/api/v1/comments",
        json=new_comment(client, **fields),
        headers={"Authorization": f"Bearer {key}"},
        environ_base={"REMOTE_ADDR": "192.0.2.10"},  # the site's server
    )


def stored(redis_client: redis.Redis, response: Any) -> Any:
    assert response.status_code == 202, response.get_json()
    comment = CommentStore(redis_client).get(response.get_json()["id"])
    assert comment is not None
    return comment


def test_a_sites_server_posts_for_its_commenter(
    client: FlaskClient, blog_key: str, redis_client: redis.Redis
) -> None:
    response = site_post(
        client,
        blog_key,
        user_ip="2001:db8::7",
        user_agent="Mozilla/5.0 (reader)",
        referrer="https://blog.example/posts/hello",
    )
    comment = stored(redis_client, response)
    assert comment.site == "blog"
    assert comment.ip == "2001:db8::7"  # the commenter's, not the server's
    assert comment.user_agent == "Mozilla/5.0 (reader)"
    assert comment.referrer == "https://blog.example/posts/hello"
    assert comment.status is CommentStatus.PENDING


def test_forwarded_fields_without_a_site_key_are_refused(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/comments",
        json=new_comment(client, user_ip="198.51.100.9", referrer="https://x.example/"),
    )
    assert response.status_code == 422
    problem = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert set(problem["errors"]) == {"user_ip", "referrer"}


@pytest.mark.parametrize("header", ["Bearer cgs_not-a-key", "Bearer cgm_a-moderator", "Basic x"])
def test_a_bad_site_key_is_401(client: FlaskClient, header: str, blog_key: str) -> None:
    response = client.post(
        "/api/v1/comments",
        json=new_comment(client, user_ip="198.51.100.9"),
        headers={"Authorization": header},
    )
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"


def test_a_revoked_key_is_401_at_once(
    client: FlaskClient, blog_key: str, redis_client: redis.Redis
) -> None:
    assert site_post(client, blog_key).status_code == 202
    SiteRegistry(redis_client).revoke("blog")
    assert site_post(client, blog_key).status_code == 401


def test_a_revoked_site_takes_no_new_comment_at_once_and_keeps_its_own(
    client: FlaskClient, blog_key: str, redis_client: redis.Redis
) -> None:
    from service.core.accounts import ModeratorStore
    from service.core.store import Decision
    from tests.conftest import auth

    def browser_post() -> Any:
        return client.post(
            "/api/v1/comments", json=new_comment(client, site="blog"), headers={"Origin": BLOG}
        )

    kept = stored(redis_client, browser_post())
    CommentStore(redis_client).record_decisions(
        [Decision(kept, CommentStatus.HELD, 0.5, "cg-test", ("model_score",))]
    )
    SiteRegistry(redis_client).revoke("blog")  # the app's directory of sites is not told

    # The widget's (a browser's) post naming the site, from its own page.
    refused = browser_post()
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert problem["code"] == "site_revoked"
    assert problem["type"] == "https://commentgate.dev/problems/site_revoked"
    assert problem["site"] == "blog"
    # A plain form from the site's page gets a page saying so.
    form = client.post(
        "/api/v1/comments",
        data=new_comment(client, site="blog"),
        headers={"Origin": BLOG, "Accept": "text/html,*/*;q=0.8"},
    )
    assert (form.status_code, form.mimetype) == (403, "text/html")
    # The site's server, with its key.
    assert site_post(client, blog_key).status_code == 401
    # Another origin still learns only that its origin is not allowed.
    other = client.post(
        "/api/v1/comments",
        json=new_comment(client, site="blog"),
        headers={"Origin": "https://evil.example"},
    )
    assert other.get_json()["code"] == "forbidden"

    # Its moderators still see its comments and decide them; they are still shown.
    token = ModeratorStore(redis_client).add("bea", sites=["blog"])
    queue = client.get(
        "/api/v1/moderation/queue", query_string={"status": "held"}, headers=auth(token)
    ).get_json()
    assert [c["id"] for c in queue["comments"]] == [kept.id]
    approved = client.post(
        f"/api/v1/moderation/comments/{kept.id}", json={"action": "approve"}, headers=auth(token)
    )
    assert approved.status_code == 200
    page = client.get("/api/v1/comments", query_string={"thread": kept.thread, "site": "blog"})
    assert [c["id"] for c in page.get_json()["comments"]] == [kept.id]
    # Other sites are untouched.
    assert stored(redis_client, client.post("/api/v1/comments", json=new_comment(client)))


def test_revoking_the_default_site_removes_its_key_only(
    client: FlaskClient, redis_client: redis.Redis
) -> None:
    registry = SiteRegistry(redis_client)
    _, key = registry.add("default")
    registry.revoke("default")
    assert site_post(client, key).status_code == 401
    posted = client.post("/api/v1/comments", json=new_comment(client))  # needs no key
    assert stored(redis_client, posted).site == "default"


def test_invalid_forwarded_fields_are_422(client: FlaskClient, blog_key: str) -> None:
    for fields in ({"user_ip": "not-an-ip"}, {"referrer": "javascript:alert(1)"}):
        response = site_post(client, blog_key, **fields)
        assert response.status_code == 422
        assert set(response.get_json()["errors"]) == set(fields)


def test_the_key_decides_the_site(client: FlaskClient, blog_key: str) -> None:
    response = site_post(client, blog_key, site="default")
    assert response.status_code == 422
    assert "site" in response.get_json()["errors"]


def test_a_site_relays_the_captcha_unless_it_verifies_its_own(
    client: FlaskClient, app: Flask, blog_key: str, redis_client: redis.Redis
) -> None:
    no_captcha = {"thread": "/t", "body": "Posted by the blog's server.", "author_name": "Bo"}
    headers = {"Authorization": f"Bearer {blog_key}"}
    refused = client.post("/api/v1/comments", json=no_captcha, headers=headers)
    assert refused.status_code == 422
    assert refused.get_json()["code"] == "captcha_invalid"
    assert site_post(client, blog_key).status_code == 202  # relayed
    SiteRegistry(redis_client).configure("blog", verifies_own_challenge=True)
    app.extensions["commentgate"].sites.forget()
    accepted = client.post("/api/v1/comments", json=no_captcha, headers=headers)
    comment = stored(redis_client, accepted)
    assert (comment.site, comment.too_fast) == ("blog", False)
    # A browser's post still needs the captcha, to the same site too.
    browser = client.post(
        "/api/v1/comments", json=no_captcha | {"site": "blog"}, headers={"Origin": BLOG}
    )
    assert browser.get_json()["code"] == "captcha_invalid"


def test_a_browser_names_a_site_from_its_origins(
    client: FlaskClient, blog_key: str, redis_client: redis.Redis
) -> None:
    def post(origin: str | None, site: str = "blog") -> Any:
        headers = {"Origin": origin} if origin else {}
        return client.post("/api/v1/comments", json=new_comment(client, site=site), headers=headers)

    assert stored(redis_client, post(BLOG)).site == "blog"
    for origin in ("https://evil.example", None):
        refused = post(origin)
        assert refused.status_code == 403
        assert refused.mimetype == "application/problem+json"
    unknown = post(BLOG, site="nosuchsite")
    assert unknown.status_code == 422
    assert "site" in unknown.get_json()["errors"]
    plain = client.post("/api/v1/comments", json=new_comment(client))
    assert stored(redis_client, plain).site == "default"


def test_a_reply_must_be_to_a_comment_of_the_same_site(
    client: FlaskClient, blog_key: str, redis_client: redis.Redis
) -> None:
    from service.core.store import Decision

    store = CommentStore(redis_client)
    parent = stored(redis_client, client.post("/api/v1/comments", json=new_comment(client)))
    store.record_decisions([Decision(parent, CommentStatus.PUBLISHED, 0.1, "t", ())])
    reply = site_post(client, blog_key, thread=parent.thread, parent_id=parent.id)
    assert reply.status_code == 422
    assert "parent_id" in reply.get_json()["errors"]


def test_site_posts_are_limited_per_commenter_and_per_site(
    make_settings: Any, redis_client: redis.Redis
) -> None:
    from service.web.app import create_app

    _, key = SiteRegistry(redis_client).add("blog", url=BLOG)
    SiteRegistry(redis_client).configure("blog", verifies_own_challenge=True)
    client = create_app(
        make_settings(rate_limit_comments="2/minute", rate_limit_site="5/minute")
    ).test_client()

    def post(user_ip: str) -> int:
        return int(
            client.post(
                "/api/v1/comments",
                json={
                    "thread": "/t",
                    "body": "hello there",
                    "author_name": "Al",
                    "user_ip": user_ip,
                },
                headers={"Authorization": f"Bearer {key}"},
            ).status_code
        )

    # Each commenter has their own budget, though all come from the site's server.
    assert [post("198.51.100.1") for _ in range(3)] == [202, 202, 429]
    assert [post("2001:db8:1:2::1"), post("2001:db8:1:2::2")] == [202, 202]  # one /64
    assert post("2001:db8:1:2::3") == 429
    # The site's ceiling: 5 accepted so far... the 6th post from anyone is refused.
    assert post("198.51.100.3") == 202
    assert post("198.51.100.4") == 429
    # The server's own address was never counted as a commenter: browsers still post.
    browser = client.post("/api/v1/comments", json=new_comment(client))
    assert browser.status_code == 202


def test_a_sites_own_ceiling_overrides_the_global_one(
    make_settings: Any, redis_client: redis.Redis
) -> None:
    from service.web.app import create_app

    _, key = SiteRegistry(redis_client).add("blog", url=BLOG)
    SiteRegistry(redis_client).configure(
        "blog", verifies_own_challenge=True, rate_limit_site="1/minute"
    )
    client = create_app(make_settings()).test_client()
    codes = [
        client.post(
            "/api/v1/comments",
            json={"thread": "/t", "body": "hi", "author_name": "Al", "user_ip": f"198.51.100.{i}"},
            headers={"Authorization": f"Bearer {key}"},
        ).status_code
        for i in (1, 2)
    ]
    assert codes == [202, 429]


def test_cors_allows_every_sites_origins(make_settings: Any, redis_client: redis.Redis) -> None:
    from service.web.app import create_app

    SiteRegistry(redis_client).add("blog", url=BLOG + "/")
    SiteRegistry(redis_client).add("news", origins=("https://news.example",))
    app = create_app(make_settings(allowed_origins=["https://www.example"]))
    client = app.test_client()

    def preflight(origin: str) -> Any:
        return client.options(
            "/api/v1/comments",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "Content-Type, X-Request-ID",
            },
        )

    for origin in ("https://www.example", BLOG, "https://news.example"):
        response = preflight(origin)
        assert response.headers["Access-Control-Allow-Origin"] == origin
        assert response.headers["Access-Control-Max-Age"] == "600"
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
        assert response.headers["Access-Control-Allow-Headers"] == "Content-Type, X-Request-ID"
        assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Origin" not in preflight("https://evil.example").headers
    # A site added later is allowed once the process reads the sites again.
    SiteRegistry(redis_client).add("later", url="https://later.example")
    app.extensions["commentgate"].sites.forget()
    assert preflight("https://later.example").headers["Access-Control-Allow-Origin"]
    # The actual request exposes the headers a script reads.
    got = client.get("/api/v1/captcha", headers={"Origin": BLOG})
    assert got.headers["Access-Control-Allow-Origin"] == BLOG
    assert "Location" in got.headers["Access-Control-Expose-Headers"]
    # Not on the moderation API.
    moderation = client.get("/api/v1/moderation/me", headers={"Origin": BLOG})
    assert "Access-Control-Allow-Origin" not in moderation.headers


def test_threads_are_per_site(
    client: FlaskClient, blog_key: str, redis_client: redis.Redis
) -> None:
    from service.core.store import Decision

    store = CommentStore(redis_client)
    same_thread = "/posts/hello"
    ours = stored(
        redis_client, client.post("/api/v1/comments", json=new_comment(client, thread=same_thread))
    )
    theirs = stored(redis_client, site_post(client, blog_key, thread=same_thread))
    store.record_decisions(
        [Decision(c, CommentStatus.PUBLISHED, 0.1, "t", ()) for c in (ours, theirs)]
    )

    def listed(**query: str) -> list[str]:
        page = client.get("/api/v1/comments", query_string={"thread": same_thread, **query})
        assert page.status_code == 200
        return [c["id"] for c in page.get_json()["comments"]]

    assert listed() == [ours.id]
    assert listed(site="default") == [ours.id]
    assert listed(site="blog") == [theirs.id]
    assert listed(site="nosuchsite") == []
    assert (
        client.get("/api/v1/comments", query_string={"thread": "/t", "site": "Bad!"}).status_code
        == 422
    )


def test_submissions_are_counted_per_site(
    client: FlaskClient, blog_key: str, redis_client: redis.Redis
) -> None:
    assert site_post(client, blog_key).status_code == 202  # its server, with the key
    browser = client.post(
        "/api/v1/comments", json=new_comment(client, site="blog"), headers={"Origin": BLOG}
    )
    assert browser.status_code == 202
    assert site_post(client, blog_key, captcha_answer="999").status_code == 422
    assert client.post("/api/v1/comments", json=new_comment(client)).status_code == 202
    named = new_comment(client, site="no-such-site")
    assert client.post("/api/v1/comments", json=named).status_code == 422
    assert received(redis_client) == {
        ("blog", "accepted"): 2,
        ("blog", "captcha_invalid"): 1,
        ("default", "accepted"): 1,
        ("", "invalid"): 1,  # a name nothing checked is never a label
    }
