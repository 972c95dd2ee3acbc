"""Keys on the Akismet endpoints: one look-up as at intake, Akismet-shaped aliases.

The WordPress plugin's settings page keeps of a typed key only ``[a-f0-9]`` (any case),
refuses anything but 12 such characters without asking (``Akismet::verify_key``), then
asks ``verify-key`` and ``get-subscription`` (``Akismet_Admin::save_key``) and keeps the
key while the subscription is ``active``. These tests send those requests as the plugin
does: form-encoded with the blog's charset, ``Host: rest.akismet.com``, the previous key
(if any) added as ``api_key``.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from service.core.sites import SiteRegistry
from service.core.store import CommentStore
from tests.service.web.test_akismet import BLOG, GENUINE, WP_HEADERS, check

WP_FORM = WP_HEADERS | {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
ACTIVE = ("active", "active-dunning", "no-sub")  # the statuses save_key keeps a key with


@pytest.fixture
def keys_of_blog(redis_client: redis.Redis) -> tuple[str, str]:
    """Site ``blog``'s key and Akismet key."""
    registry = SiteRegistry(redis_client)
    _, key = registry.add("blog", url=BLOG)
    return key, registry.issue_akismet_key("blog")


def kept_by_wordpress(typed: str) -> str | None:
    """What the plugin's settings page keeps of a typed key, or ``None`` if it refuses it.

    ``Akismet_Admin::enter_api_key``: ``preg_replace( '/[^a-f0-9]/i', '', $_POST['key'] )``;
    ``Akismet::verify_key``: ``if ( strlen( $key ) != 12 ) return 'invalid';``.
    """
    kept = re.sub(r"[^a-f0-9]", "", typed, flags=re.IGNORECASE)
    return kept if len(kept) == 12 else None


def plugin_post(client: FlaskClient, path: str, previous_key: str = "", **fields: str) -> Any:
    """A request as ``Akismet::http_post`` sends it (the saved key added as ``api_key``)."""
    body = dict(fields, api_key=previous_key) if previous_key else fields
    return client.post(f"/1.1/{path}", data=body, headers=WP_FORM)


def test_the_settings_page_keeps_an_akismet_key_and_refuses_a_site_key(
    client: FlaskClient, keys_of_blog: tuple[str, str], redis_client: redis.Redis
) -> None:
    key, alias = keys_of_blog
    # A site key cannot be pasted there: the page refuses it, or keeps the 12 of its
    # characters that are hexadecimal (when just 12 are), which are no key.
    stripped = kept_by_wordpress(key)
    if stripped is not None:
        refused = plugin_post(client, "verify-key", key=stripped, blog=BLOG)
        assert refused.get_data(as_text=True) == "invalid"
    typed = f"  {alias.upper()} "  # pasted with spaces, in capitals
    kept = kept_by_wordpress(typed)
    assert kept == alias.upper()
    # save_key: verify-key, then get-subscription, with the new key as `key`; a key
    # saved before goes along as `api_key` and must not decide.
    verified = plugin_post(client, "verify-key", "0123456789ab", key=kept, blog=BLOG)
    assert (verified.status_code, verified.get_data(as_text=True)) == (200, "valid")
    subscription = plugin_post(client, "get-subscription", "0123456789ab", key=kept, blog=BLOG)
    assert subscription.mimetype == "application/json"
    account = subscription.get_json()
    assert account["status"] in ACTIVE
    assert account["account_name"] == "commentgate"
    assert account["next_billing_date"] is False
    # The configuration page, with the key saved: its account, and the connectivity test.
    again = plugin_post(client, "get-subscription", kept, key=kept, blog=BLOG)
    assert again.get_json()["status"] == "active"
    connected = client.get("/1.1/test", headers=WP_HEADERS)
    assert (connected.status_code, connected.get_data(as_text=True)) == (200, "connected")
    # Comments are checked with it as with the site key.
    checked = check(client, kept, GENUINE)
    assert checked.get_data(as_text=True) == "false"
    comment = CommentStore(redis_client).get(checked.headers["X-akismet-guid"])
    assert comment is not None
    assert comment.site == "blog"


def test_an_unknown_key_has_no_subscription(client: FlaskClient) -> None:
    for key in ("0123456789ab", "cgs_not-a-key", ""):
        answer = plugin_post(client, "get-subscription", key=key, blog=BLOG)
        assert (answer.status_code, answer.get_data(as_text=True)) == (200, "invalid")
        assert answer.headers["X-akismet-debug-help"]


def test_the_akismet_key_may_come_in_a_header_or_the_host(
    client: FlaskClient, keys_of_blog: tuple[str, str]
) -> None:
    _, alias = keys_of_blog
    form = {"blog": BLOG, "user_ip": "203.0.113.7", "comment_content": GENUINE}
    host = client.post(
        "/1.1/comment-check", data=form, headers={"Host": f"{alias}.rest.akismet.com"}
    )
    assert host.get_data(as_text=True) == "false"
    bearer = client.post(
        "/1.1/comment-check", data=form, headers={"Authorization": f"Bearer {alias}"}
    )
    assert bearer.get_data(as_text=True) == "false"


def test_the_akismet_key_is_valid_on_the_akismet_endpoints_only(
    client: FlaskClient, keys_of_blog: tuple[str, str]
) -> None:
    _, alias = keys_of_blog
    posted = client.post(
        "/api/v1/comments",
        json={"thread": "/t", "body": "hello", "author_name": "Al", "user_ip": "198.51.100.1"},
        headers={"Authorization": f"Bearer {alias}"},
    )
    assert posted.status_code == 401
    assert posted.get_json()["code"] == "unauthorized"


def test_a_revocation_counts_at_once_for_both_keys(
    client: FlaskClient, keys_of_blog: tuple[str, str], redis_client: redis.Redis
) -> None:
    key, alias = keys_of_blog
    for each in (key, alias):
        assert check(client, each, GENUINE).get_data(as_text=True) == "false"
    SiteRegistry(redis_client).revoke("blog")  # no cache to wait for, in this process
    for each in (key, alias):
        assert check(client, each, GENUINE).get_data(as_text=True) == "invalid"
        verified = plugin_post(client, "verify-key", key=each, blog=BLOG)
        assert verified.get_data(as_text=True) == "invalid"
        subscription = plugin_post(client, "get-subscription", key=each, blog=BLOG)
        assert subscription.get_data(as_text=True) == "invalid"
        report = client.post(
            "/1.1/submit-spam",
            data={"api_key": each, "blog": BLOG, "user_ip": "203.0.113.7", "comment_content": "x"},
        )
        assert report.get_data(as_text=True) == "invalid"


def test_a_rotated_akismet_key_stops_at_once(
    client: FlaskClient, keys_of_blog: tuple[str, str], redis_client: redis.Redis
) -> None:
    key, alias = keys_of_blog
    rotated = SiteRegistry(redis_client).issue_akismet_key("blog")
    assert check(client, alias, GENUINE).get_data(as_text=True) == "invalid"
    assert check(client, rotated, GENUINE).get_data(as_text=True) == "false"
    assert check(client, key, GENUINE).get_data(as_text=True) == "false"  # untouched


def test_a_checked_comment_goes_to_the_sites_own_webhook_receivers(
    client: FlaskClient, keys_of_blog: tuple[str, str], redis_client: redis.Redis
) -> None:
    """The directory's sites carry their receivers, as the key's site did before."""
    from rq import Queue

    from service.core.queues import WEBHOOKS

    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    SiteRegistry(redis_client).set_webhook("blog", "https://hooks.blog.example/in", secret)
    _, alias = keys_of_blog
    assert check(client, alias, GENUINE).get_data(as_text=True) == "false"
    assert Queue(WEBHOOKS, connection=redis_client).count == 1
