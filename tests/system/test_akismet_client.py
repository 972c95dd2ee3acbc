"""The real ``akismet`` client library (PyPI) against a running ``commentgate web``.

The client always calls ``https://rest.akismet.com/1.1/...``; an ``httpx`` transport
sends each of its requests to the local server instead, unchanged otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import akismet
import httpx
import pytest
import redis

from service.core.sites import SiteRegistry
from service.core.store import CommentStore, keys
from tests.system.conftest import LiveServer

BLOG = "https://garden-notes.example/"
POST = "https://garden-notes.example/2026/compost-in-winter/"
GENUINE = "Great explanation of the migration steps, it saved me an afternoon of debugging."
SPAMMY = (
    "CHEAP PILLS!!! buy now http://pills.example http://pills.example/buy click here "
    "best price casino win money fast"
)


class ToLocalServer(httpx.BaseTransport):
    """Sends requests meant for rest.akismet.com to a local server."""

    def __init__(self, base: str) -> None:
        self.base = httpx.URL(base)
        self.inner = httpx.HTTPTransport()
        self.hosts: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        assert request.url.host == "rest.akismet.com", request.url
        request.url = request.url.copy_with(
            scheme=self.base.scheme, host=self.base.host, port=self.base.port
        )
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def server(redis_url: str, web_factory: Callable[..., LiveServer]) -> LiveServer:
    return web_factory(redis_url)


@pytest.fixture
def site_key(redis_client: redis.Redis) -> str:
    _, key = SiteRegistry(redis_client).add("garden", url=BLOG)
    return key


@pytest.fixture
def client(server: LiveServer, site_key: str) -> Iterator[akismet.SyncClient]:
    # Generous timeout: the server loads its model on the first check.
    http = httpx.Client(transport=ToLocalServer(server.url), timeout=60.0)
    with akismet.SyncClient.validated_client(
        config=akismet.Config(key=site_key, url=BLOG), http_client=http
    ) as found:
        yield found


def test_verify_key(server: LiveServer, site_key: str) -> None:
    http = httpx.Client(transport=ToLocalServer(server.url), timeout=60.0)
    with akismet.SyncClient(akismet.Config(key=site_key, url=BLOG), http_client=http) as c:
        assert c.verify_key() is True
        assert c.verify_key("cgs_not-a-key", BLOG) is False
    with pytest.raises(akismet.APIKeyError):
        akismet.SyncClient.validated_client(
            config=akismet.Config(key="cgs_not-a-key", url=BLOG),
            http_client=httpx.Client(transport=ToLocalServer(server.url), timeout=60.0),
        )


def test_the_clients_own_calls_get_the_right_verdicts(
    client: akismet.SyncClient, redis_client: redis.Redis
) -> None:
    genuine = client.comment_check(
        user_ip="198.51.100.23",
        comment_content=GENUINE,
        comment_type="comment",
        comment_author="Ines",
        comment_author_email="ines@mail.example",
        permalink=POST,
        user_agent="Mozilla/5.0 (Macintosh) Safari/605",
    )
    assert genuine == akismet.CheckResponse.HAM
    spam = client.comment_check(
        user_ip="192.0.2.200",
        comment_content=SPAMMY,
        comment_type="comment",
        comment_author="best deals",
        permalink=POST,
    )
    assert spam == akismet.CheckResponse.DISCARD  # blatant: true with the pro tip
    statuses = sorted(
        (c.body, c.status.value)
        for c in CommentStore(redis_client).get_many(
            [
                k.decode().removeprefix(keys.comment(""))
                for k in redis_client.keys(keys.comment("*"))
            ]
        )
    )
    assert statuses == sorted([(GENUINE, "published"), (SPAMMY, "spam")])
    test_call = client.comment_check(user_ip="192.0.2.1", comment_content=SPAMMY, is_test=True)
    assert test_call  # answered as spam, not stored
    assert len(redis_client.keys(keys.comment("*"))) == 2


def test_submit_spam_and_ham_relabel_the_comments(
    client: akismet.SyncClient, redis_client: redis.Redis
) -> None:
    genuine = {"user_ip": "198.51.100.23", "comment_content": GENUINE, "comment_author": "Ines"}
    spam = {"user_ip": "192.0.2.200", "comment_content": SPAMMY, "comment_author": "best deals"}
    assert client.comment_check(permalink=POST, **genuine) == akismet.CheckResponse.HAM
    assert client.comment_check(permalink=POST, **spam)
    # The moderators of the site disagree with both verdicts.
    assert client.submit_spam(**genuine) is True
    assert client.submit_ham(**spam) is True
    labels = {
        fields[b"label"].decode(): fields[b"moderator"].decode()
        for _, fields in redis_client.xrange(keys.feedback("garden"))
    }
    assert labels == {"spam": "site:garden", "ham": "site:garden"}
    by_body = {
        c.body: c.status.value
        for c in CommentStore(redis_client).get_many(
            [
                k.decode().removeprefix(keys.comment(""))
                for k in redis_client.keys(keys.comment("*"))
            ]
        )
    }
    assert by_body == {GENUINE: "spam", SPAMMY: "published"}


def test_an_akismet_shaped_key_works_like_the_site_key(
    server: LiveServer, site_key: str, redis_client: redis.Redis
) -> None:
    """A site's Akismet key (12 hexadecimal characters) on every call the client makes."""
    registry = SiteRegistry(redis_client)
    alias = registry.issue_akismet_key("garden")
    http = httpx.Client(transport=ToLocalServer(server.url), timeout=60.0)
    with akismet.SyncClient.validated_client(
        config=akismet.Config(key=alias, url=BLOG), http_client=http
    ) as client:
        genuine = {"user_ip": "198.51.100.23", "comment_content": GENUINE, "comment_author": "Ines"}
        assert client.comment_check(permalink=POST, **genuine) == akismet.CheckResponse.HAM
        assert client.submit_spam(**genuine) is True
        labels = [f[b"moderator"] for _, f in redis_client.xrange(keys.feedback("garden"))]
        assert labels == [b"site:garden"]
        registry.revoke("garden")  # at once, for both keys
        assert client.verify_key() is False
        assert client.verify_key(site_key, BLOG) is False
        with pytest.raises(akismet.APIKeyError):
            client.comment_check(permalink=POST, **genuine)
