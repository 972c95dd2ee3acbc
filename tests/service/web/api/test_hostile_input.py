"""A corpus of hostile requests: each gets a 4xx problem (or error page), and nothing is stored.

The corpus is in ``hostile_corpus.py``. Rate limits are off: it comes from one client.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from service.core.accounts import ModeratorStore, Role
from service.core.store import keys
from service.web.api.models import Problem
from tests.conftest import decided, new_comment
from tests.service.web.api.hostile_corpus import API, BROWSER, INTAKE, UNKNOWN_ID, Hostile, corpus

#: Keys a refused request may still touch: counters, captcha attempts, rate limits.
VOLATILE = (b"cg:metrics:", b"cg:captcha:attempts:", b"cg:ratelimit")


@pytest.fixture
def hostile_app(make_settings: Any) -> Flask:
    from service.web.app import create_app

    return create_app(make_settings(rate_limits_enabled=False))


@pytest.fixture
def admin(redis_client: redis.Redis) -> dict[str, str]:
    store = ModeratorStore(redis_client)
    return {"Authorization": f"Bearer {store.add('ada', Role.ADMIN)}"}


def snapshot(client: redis.Redis) -> dict[bytes, str]:
    """A digest of every key a refused request must leave alone."""
    return {
        key: hashlib.sha256(client.dump(key) or b"").hexdigest()
        for key in client.scan_iter("*")
        if not key.startswith(VOLATILE)
    }


def with_held(value: Any, held: str) -> Any:
    """``value`` with every ``"{held}"`` replaced by the id of the held comment."""
    if isinstance(value, str):
        return value.replace("{held}", held)
    if isinstance(value, list):
        return [with_held(item, held) for item in value]
    if isinstance(value, dict):
        return {key: with_held(item, held) for key, item in value.items()}
    return value


def send(client: FlaskClient, case: Hostile, admin: dict[str, str], held: str) -> Any:
    kwargs = case.build(client)
    if "json" in kwargs:
        kwargs["json"] = with_held(kwargs["json"], held)
    headers = dict(kwargs.pop("headers", {}))
    if case.url.startswith(API):
        headers |= admin
    return client.open(with_held(case.url, held), method=case.method, headers=headers, **kwargs)


@pytest.mark.parametrize("case", corpus())
def test_hostile_request_is_refused_and_nothing_is_stored(
    hostile_app: Flask, redis_client: redis.Redis, admin: dict[str, str], case: Hostile
) -> None:
    held = decided(redis_client, "held")
    client = hostile_app.test_client()
    before = snapshot(redis_client)
    response = send(client, case, admin, held)
    assert response.status_code == case.status, response.get_data(as_text=True)[:300]
    if case.html:
        assert response.mimetype == "text/html"
        assert "<html" in response.get_data(as_text=True).lower()
    else:
        assert response.mimetype == "application/problem+json"
        problem = Problem.model_validate(response.get_json())
        assert problem.status == case.status
    assert snapshot(redis_client) == before
    assert list(redis_client.scan_iter("cg:comment:*")) == [keys.comment(held).encode()]
    assert redis_client.zcard(keys.PENDING) == 0
    assert redis_client.llen("rq:queue:commentgate.comments") == 0


def test_the_corpus_names_are_unique() -> None:
    names = [param.id for param in corpus()]
    assert len(names) == len(set(names))
    assert len(names) > 200


# -- hostile headers: tolerated, never reflected -----------------------------------------------


HOSTILE_HEADERS = {
    "HTTP_X_REQUEST_ID": "abc\r\nSet-Cookie: stolen=1",
    "HTTP_USER_AGENT": "Mozilla\r\nX-Injected: 1\x00",
    "HTTP_X_FORWARDED_FOR": "1.2.3.4\r\nX-Injected: 1",
    "HTTP_REFERER": "https://blog.example/post\r\nSet-Cookie: stolen=1",
    "HTTP_ACCEPT": "text/html\r\nX-Injected: 1",
}


def assert_not_injected(response: Any) -> None:
    assert response.status_code < 500
    assert "X-Injected" not in response.headers
    assert "stolen" not in response.headers.get("Set-Cookie", "")
    for name, value in response.headers.items():
        assert "\r" not in value, name
        assert "\n" not in value, name
    assert "\r" not in response.headers["X-Request-ID"]


@pytest.mark.parametrize("header", sorted(HOSTILE_HEADERS))
def test_crlf_in_headers_is_never_reflected(
    hostile_app: Flask, redis_client: redis.Redis, admin: dict[str, str], header: str
) -> None:
    client = hostile_app.test_client()
    environ = {header: HOSTILE_HEADERS[header]}
    challenge = client.get("/api/v1/captcha", environ_base=environ)
    assert challenge.status_code == 200
    assert_not_injected(challenge)
    assert challenge.headers["X-Request-ID"] != HOSTILE_HEADERS["HTTP_X_REQUEST_ID"]
    for url in (f"{INTAKE}?thread=t", f"{INTAKE}/{UNKNOWN_ID}", f"{API}/me"):
        assert_not_injected(client.get(url, headers=admin, environ_base=environ))
    refused = client.post(INTAKE, json={}, environ_base=environ)
    assert refused.status_code == 422
    assert_not_injected(refused)
    # A valid comment is accepted whatever its headers say; they never reach a header.
    posted = client.post(INTAKE, data=new_comment(client), headers=BROWSER, environ_base=environ)
    assert posted.status_code in (202, 303)
    assert_not_injected(posted)


def test_a_hostile_referer_never_becomes_a_script_redirect(hostile_app: Flask) -> None:
    client = hostile_app.test_client()
    for referer in ("javascript:alert(1)", "data:text/html,x", "vbscript:x"):
        response = client.post(
            INTAKE, data=new_comment(client), headers={**BROWSER, "Referer": referer}
        )
        assert response.status_code == 303
        location = response.headers["Location"]
        assert location.startswith(("/", "http://", "https://")), location


@pytest.mark.parametrize(
    "body",
    [
        "\U0001f469\u200d\U0001f4bb ships it",  # woman technologist: a ZWJ sequence
        "\U0001f3f3\ufe0f\u200d\U0001f308",  # rainbow flag: a variation selector and a ZWJ
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian with a ZWNJ
        "\u0928\u092e\u0938\u094d\u0924\u0947",  # Devanagari with combining marks
        "caf\u0065\u0301 cr\u00e8me",  # a combining accent after a letter
    ],
)
def test_text_that_needs_invisible_characters_is_accepted(hostile_app: Flask, body: str) -> None:
    client = hostile_app.test_client()
    response = client.post(INTAKE, json=new_comment(client, body=body))
    assert response.status_code == 202, response.get_json()
    stored = client.get(response.get_json()["status_url"]).get_json()
    assert stored["body"] == body
