"""Per-client rate limits, kept in Redis."""

from typing import Any

import pytest

from service.core.exceptions import ConfigurationError
from service.core.settings import load_settings
from tests.conftest import new_comment


def test_captcha_limit_gives_429_with_retry_after(make_settings: Any) -> None:
    from service.web.app import create_app

    client = create_app(make_settings(rate_limit_captcha="3/minute")).test_client()
    codes = [client.get("/api/v1/captcha").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = client.get("/api/v1/captcha")
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0


def test_comment_limit_counts_posts_per_client_ip(make_settings: Any) -> None:
    from service.web.app import create_app

    app = create_app(make_settings(rate_limit_comments="2/minute", trusted_proxies=["127.0.0.1"]))
    client = app.test_client()

    def post(ip: str) -> int:
        payload = new_comment(client)
        return client.post(
            "/api/v1/comments",
            json=payload,
            headers={"X-Forwarded-For": ip},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        ).status_code

    assert [post("198.51.100.1") for _ in range(3)] == [202, 202, 429]
    assert post("198.51.100.2") == 202  # another client behind the same proxy
    # Reading is not limited.
    assert client.get("/api/v1/comments?thread=t").status_code == 200


def test_limits_are_shared_through_redis(make_settings: Any) -> None:
    """Two app instances (two gunicorn workers, or replicas) share one budget."""
    from service.web.app import create_app

    settings = make_settings(rate_limit_captcha="2/minute")
    first, second = create_app(settings).test_client(), create_app(settings).test_client()
    assert first.get("/api/v1/captcha").status_code == 200
    assert second.get("/api/v1/captcha").status_code == 200
    assert first.get("/api/v1/captcha").status_code == 429


def test_limits_can_be_disabled(make_settings: Any) -> None:
    from service.web.app import create_app

    client = create_app(
        make_settings(rate_limit_captcha="1/minute", rate_limits_enabled=False)
    ).test_client()
    assert {client.get("/api/v1/captcha").status_code for _ in range(3)} == {200}


def test_invalid_limit_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMENTGATE_SECRET_KEY", "s")
    monkeypatch.setenv("COMMENTGATE_RATE_LIMIT_COMMENTS", "lots")
    with pytest.raises(ConfigurationError, match="COMMENTGATE_RATE_LIMIT_COMMENTS"):
        load_settings()


def test_ipv6_clients_are_limited_by_their_64(make_settings: Any) -> None:
    """One host holds a whole /64: a new address per request must not reset its budget."""
    from service.web.app import create_app

    app = create_app(make_settings(rate_limit_comments="3/minute", trusted_proxies=["::1"]))
    client = app.test_client()

    def post(ip: str) -> int:
        return client.post(
            "/api/v1/comments",
            json=new_comment(client),
            headers={"X-Forwarded-For": ip},
            environ_base={"REMOTE_ADDR": "::1"},
        ).status_code

    rotating = [f"2001:db8:1:2:{n:x}:{n * 7:x}::{n + 1:x}" for n in range(5)]
    assert [post(ip) for ip in rotating] == [202, 202, 202, 429, 429]
    assert post("2001:db8:1:3::1") == 202  # the next /64: another subscriber
    # IPv4 clients, also written IPv4-mapped, keep their own per-address budget.
    assert [post(ip) for ip in ("198.51.100.9", "::ffff:198.51.100.9")] == [202, 202]
    assert [post("::ffff:198.51.100.9"), post("198.51.100.9")] == [202, 429]
