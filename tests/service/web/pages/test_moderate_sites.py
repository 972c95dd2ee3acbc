"""The moderation UI with several sites: a site filter, and a moderator's own sites only."""

from __future__ import annotations

import re

import redis
from flask import Flask
from flask.testing import FlaskClient

from service.core.accounts import ModeratorStore
from service.core.sites import SiteRegistry
from service.core.store import CommentStatus
from tests.service.web.pages.conftest import store_comment
from tests.service.web.pages.test_moderate import BROWSER, csrf_of, logged_in


def _site_options(html: str) -> list[str]:
    select = re.search(r'<select id="filter-site".*?</select>', html, re.S)
    return re.findall(r'<option value="([^"]*)"', select.group(0)) if select else []


def test_no_site_filter_with_one_site(
    app: Flask, client: FlaskClient, redis_client: redis.Redis
) -> None:
    logged_in(client, ModeratorStore(redis_client).add("mia"))
    assert _site_options(client.get("/moderate").get_data(as_text=True)) == []


def test_the_queue_filters_by_site_and_shows_only_the_moderators_sites(
    app: Flask, client: FlaskClient, redis_client: redis.Redis
) -> None:
    registry = SiteRegistry(redis_client)
    registry.add("blog")
    registry.add("news")
    ours = store_comment(app, status=CommentStatus.HELD, site="blog", body="On the blog.")
    theirs = store_comment(app, status=CommentStatus.HELD, site="news", body="On the news.")
    other = FlaskClient(app, app.response_class)
    logged_in(other, ModeratorStore(redis_client).add("ada"))
    everything = other.get("/moderate").get_data(as_text=True)
    assert _site_options(everything) == ["", "default", "blog", "news"]
    assert ours.id in everything
    assert theirs.id in everything
    news_only = other.get("/moderate?site=news").get_data(as_text=True)
    assert theirs.id in news_only
    assert ours.id not in news_only

    csrf = logged_in(client, ModeratorStore(redis_client).add("bea", sites=["blog", "default"]))
    page = client.get("/moderate").get_data(as_text=True)
    assert _site_options(page) == ["", "default", "blog"]
    assert ours.id in page
    assert theirs.id not in page
    assert theirs.id not in client.get("/moderate?site=news").get_data(as_text=True)
    # Acting on another site's comment: as if it did not exist.
    response = client.post(
        f"/moderate/comments/{theirs.id}",
        data={"csrf_token": csrf, "action": "approve", "next": "/moderate"},
        headers=BROWSER,
        follow_redirects=True,
    )
    assert "no longer exists" in response.get_data(as_text=True)
    assert csrf_of(response.get_data(as_text=True))
