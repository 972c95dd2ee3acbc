"""The OpenAPI document: complete, valid, and true of the responses the app sends."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import redis
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from werkzeug.routing import Map
from werkzeug.test import TestResponse

from service.core.commenter_tokens import CommenterTokens
from service.web.apidoc import Reply, build_document, doc, openapi_path, undocumented
from service.web.apidoc.spec import NOT_JSON_API
from service.web.embed import assets
from tests.conftest import TEST_SECRET, THREAD, auth, decided, new_comment

JSON_TYPES = ("application/json", "application/problem+json")
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
REDIS_DOWN = "redis://127.0.0.1:1/0"
FORM = "application/x-www-form-urlencoded"
UNKNOWN = "AAAAAAAAAAAAAAAAAAAAAA"


def refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` in a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


# -- the document ----------------------------------------------------------------------------


def test_every_route_of_the_url_map_is_documented(app: Flask) -> None:
    # A new route fails here until its view has a doc(...) declaration (service.web.apidoc).
    assert undocumented(app) == []


def test_a_route_without_a_declaration_is_reported(app: Flask) -> None:
    app.add_url_rule("/plain", "plain", lambda: "", methods=["GET", "POST"])

    def half() -> str:
        return ""

    doc("operations", responses={200: Reply("Fine.")}, method="GET")(half)
    app.add_url_rule("/half", "half", half, methods=["GET", "PUT"])
    assert undocumented(app) == [
        ("PUT", "/half", "half"),
        ("GET", "/plain", "plain"),
        ("POST", "/plain", "plain"),
    ]
    paths = build_document(app)["paths"]
    assert "/plain" not in paths
    assert set(paths["/half"]) == {"get"}


def test_documentation_adds_nothing_to_a_request(app: Flask) -> None:
    # doc(...) hands SpecTree a stand-in and returns the view itself: no request goes
    # through SpecTree, the intake's least of all.
    from service.web.api.comments import intake

    assert app.view_functions["comments.create"] is intake.create
    assert not hasattr(intake.create, "__wrapped__")


def test_every_path_and_method_is_in_the_document(app: Flask) -> None:
    paths = build_document(app)["paths"]
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.partition(".")[0] in NOT_JSON_API:
            continue
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths[openapi_path(rule.rule)], (method, rule.rule)


def test_the_document_is_valid_openapi_31(app: Flask) -> None:
    document = build_document(app)
    assert document["openapi"] == "3.1.0"
    validate_spec(document)
    for ref in refs(document):
        assert ref.startswith("#/components/"), ref
        resolve(document, ref)  # raises KeyError for a dangling reference
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_security_and_media_types(app: Flask) -> None:
    paths = build_document(app)["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            if path.startswith("/api/v1/moderation/"):
                assert operation["security"] == [{"bearerAuth": []}], (method, path)
                assert "401" in operation["responses"]
            elif (path, method) == ("/api/v1/comments", "post"):
                assert operation["security"] == [{}, {"siteKey": []}]  # a site's server
            elif not path.startswith("/moderate"):
                assert "security" not in operation or path == "/metrics", (method, path)
    intake = paths["/api/v1/comments"]["post"]
    assert set(intake["requestBody"]["content"]) >= {
        "application/json",
        "application/x-www-form-urlencoded",
    }
    assert "Location" in intake["responses"]["303"]["headers"]
    assert "Retry-After" in intake["responses"]["429"]["headers"]
    assert "Retry-After" in intake["responses"]["503"]["headers"]
    assert set(paths["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}
    assert set(paths["/"]["get"]["responses"]["200"]["content"]) == {"text/html"}
    assert "application/problem+json" in intake["responses"]["422"]["content"]


def test_the_document_is_served(app: Flask, client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == json.loads(json.dumps(build_document(app)))


# -- real responses against the document -----------------------------------------------------


class Checker:
    """Checks responses against the document, collecting every mismatch."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.document = build_document(app)
        # Matching only (no redirects to a rule's defaults, e.g. /moderate/held -> /moderate).
        rules = [rule.empty() for rule in app.url_map.iter_rules()]
        self.adapter = Map(rules, redirect_defaults=False).bind("localhost")
        self.failures: list[str] = []
        self.seen: set[tuple[str, str, str]] = set()

    def check(self, method: str, url: str, response: TestResponse, expected: int) -> None:
        response.get_data()  # drains streamed bodies (their request context ends with them)
        response.close()
        where = f"{method} {url[:80]} -> {response.status_code}"
        if response.status_code != expected:
            self.failures.append(f"{where}: expected {expected}")
            return
        rule, _ = self.adapter.match(url.split("?")[0], method=method, return_rule=True)
        path = openapi_path(rule.rule)
        operation = self.document["paths"][path][method.lower()]
        status = str(response.status_code)
        self.seen.add((path, method.lower(), status))
        documented = operation["responses"].get(status)
        if documented is None:
            self.failures.append(f"{where}: status not documented")
            return
        for name, header in documented.get("headers", {}).items():
            if resolve(self.document, header["$ref"]).get("required") and name not in (
                response.headers
            ):
                self.failures.append(f"{where}: no {name} header")
        content = documented.get("content", {})
        if not content and not response.get_data():
            return  # documented without a body, and none came (304)
        if response.mimetype not in content:
            self.failures.append(f"{where}: {response.mimetype} not in {sorted(content)}")
            return
        if response.mimetype not in JSON_TYPES:
            return
        schema = dict(content[response.mimetype]["schema"])
        schema["components"] = self.document["components"]
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        for error in validator.iter_errors(response.get_json()):
            self.failures.append(f"{where}: {error.message} at {list(error.absolute_path)}")


def csrf_of(response: TestResponse) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
    assert found, "the page has no CSRF token"
    return found.group(1)


#: ("METHOD url", keyword arguments of ``client.open``, expected status).
Case = tuple[str, dict[str, Any], int]


def raw(data: bytes | str, content_type: str = "application/json", **kwargs: Any) -> dict[str, Any]:
    return {"data": data, "content_type": content_type, **kwargs}


def public_cases(client: FlaskClient, redis_client: redis.Redis) -> list[Case]:
    published = decided(redis_client, "published")
    intake = "POST /api/v1/comments"
    receipts = CommenterTokens(TEST_SECRET, ttl_seconds=60)
    earned = decided(redis_client, "published", email="carol@example.org")
    held = decided(redis_client, "held", email="carol@example.org")
    exchange = "POST /api/v1/comments/{}/commenter-token"

    def receipt(comment_id: str) -> dict[str, Any]:
        return {"json": {"receipt": receipts.receipt(comment_id)}}

    return [
        (exchange.format(earned), receipt(earned), 200),
        (exchange.format(earned), {"json": {"receipt": "0" * 32}}, 404),
        (exchange.format(held), receipt(held), 409),
        (exchange.format(published), receipt(published), 422),
        (exchange.format(earned), {"json": {}}, 422),
        (exchange.format(earned), raw(b"{"), 400),
        (exchange.format(earned), raw(b"x", "text/plain"), 415),
        ("GET /api/v1/captcha", {}, 200),
        ("GET /embed.js", {}, 200),
        ("GET /embed.js", {"headers": {"If-None-Match": f'"{assets()["js"].etag}"'}}, 304),
        ("GET /embed.css?v=0", {}, 200),
        (intake, {"json": new_comment(client)}, 202),
        (intake, {"data": new_comment(client), "headers": BROWSER}, 303),
        (intake, raw(b"{"), 400),
        (intake, raw(b" " * 2**20), 413),
        (intake, raw(b"x", "text/plain"), 415),
        (intake, {"json": {}}, 422),
        (intake, {"json": new_comment(client, captcha_answer=999)}, 422),
        (intake, {"data": {"thread": "t"}, "headers": BROWSER}, 422),
        (f"GET /api/v1/comments?thread={THREAD}", {}, 200),
        (f"GET /api/v1/comments?thread={THREAD}&cursor=nope", {}, 400),
        ("GET /api/v1/comments?limit=0", {}, 422),
        (f"GET /api/v1/comments/{published}", {}, 200),
        (f"GET /api/v1/comments/{UNKNOWN}", {}, 404),
        ("GET /healthz", {}, 200),
        ("GET /readyz", {}, 200),
        ("GET /metrics", {}, 200),
        ("GET /api/v1/openapi.json", {}, 200),
        ("GET /api/v1/", {}, 200),
        ("GET /", {}, 200),
        ("GET /?cursor=nope", {}, 400),
    ]


def moderation_cases(redis_client: redis.Redis, tokens: dict[str, str]) -> list[Case]:
    api = "/api/v1/moderation"
    held = [decided(redis_client, "held") for _ in range(4)]

    def mod(**kwargs: Any) -> dict[str, Any]:
        return {"headers": auth(tokens["moderator"]), **kwargs}

    def admin(**kwargs: Any) -> dict[str, Any]:
        return {"headers": auth(tokens["admin"]), **kwargs}

    act = f"POST {api}/comments/{held[1]}"
    entry = f"{api}/lists/block/domains"
    return [
        (f"GET {api}/me", mod(), 200),
        (f"GET {api}/me", {}, 401),
        (f"GET {api}/queue", mod(), 200),
        (f"GET {api}/queue?cursor=nope", mod(), 400),
        (f"GET {api}/queue?status=pending", mod(), 422),
        (f"POST {api}/comments/{held[0]}", mod(json={"action": "approve"}), 200),
        (f"POST {api}/comments/{UNKNOWN}", mod(json={"action": "spam"}), 404),
        (act, mod(json={"action": "spam", "expected_status": "spam"}), 409),
        (act, mod(**raw(b'{"action": "spam", "action": "spam"}')), 400),
        (act, mod(**raw(b"x" * 2**20)), 413),
        (act, mod(**raw("x", "text/plain")), 415),
        (act, mod(json={"action": "nuke"}), 422),
        (f"POST {api}/bulk", mod(json={"ids": held[2:], "action": "spam"}), 200),
        (f"POST {api}/bulk", mod(json={"ids": [UNKNOWN], "action": "spam"}), 404),
        (
            f"POST {api}/bulk",
            mod(json={"ids": [held[1]], "action": "spam", "expected_status": "spam"}),
            409,
        ),
        (f"POST {api}/bulk", mod(json={"ids": [], "action": "spam"}), 422),
        (f"GET {api}/audit", mod(), 200),
        (f"GET {api}/audit?cursor=0-0", mod(), 422),
        (f"GET {api}/export", mod(), 200),
        (f"GET {api}/export?format=csv", mod(), 200),
        (f"GET {api}/export?format=xml", mod(), 422),
        (f"GET {api}/lists", mod(), 200),
        (f"POST {entry}", admin(json={"value": "spam.example"}), 201),
        (f"POST {entry}", mod(json={"value": "x.example"}), 403),
        (f"POST {api}/lists/nope/domains", admin(json={"value": "x.example"}), 404),
        (f"POST {entry}", admin(json={"value": "no"}), 422),
        (f"DELETE {entry}?value=spam.example", admin(), 200),
        (f"DELETE {entry}?value=spam.example", admin(), 404),
        (f"DELETE {entry}", admin(), 422),
        (f"GET {api}/moderators", admin(), 200),
        (f"GET {api}/moderators", mod(), 403),
        (f"POST {api}/moderators", admin(json={"name": "new.mod"}), 201),
        (f"POST {api}/moderators", admin(json={"name": "../x"}), 422),
        (f"DELETE {api}/moderators/new.mod", admin(), 200),
        (f"DELETE {api}/moderators/new.mod", admin(), 404),
    ]


def ui_cases(client: FlaskClient, redis_client: redis.Redis, token: str) -> Iterator[Case]:
    """The moderation UI, logged out and then logged in (the cases run in order)."""

    def form(data: Any) -> dict[str, Any]:
        return {"data": data, "headers": BROWSER}

    yield "GET /moderate", {}, 303
    yield "GET /moderate/spam", {}, 303
    yield "POST /moderate/logout", form({}), 401
    yield f"POST /moderate/comments/{UNKNOWN}", form({}), 401
    yield "POST /moderate/bulk", form({}), 401
    yield "POST /moderate/login", form({"token": "x"}), 400
    login = client.get("/moderate/login")
    yield "GET /moderate/login", {}, 200
    yield "POST /moderate/login", form({"csrf_token": csrf_of(login), "token": "cgm_x"}), 401
    yield "POST /moderate/login", form({"csrf_token": csrf_of(login), "token": token}), 303
    yield "GET /moderate/login", {}, 303
    csrf = csrf_of(client.get("/moderate"))
    yield "GET /moderate", {}, 200
    yield "GET /moderate/spam", {}, 200
    yield "GET /moderate/held", {}, 308
    held = decided(redis_client, "held")
    decision = {"csrf_token": csrf, "action": "spam", "expected": "held"}
    yield f"POST /moderate/comments/{held}", form(decision), 303
    yield "POST /moderate/bulk", form({"csrf_token": csrf, "action": "approve", "ids": [held]}), 303
    yield "POST /moderate/bulk", form({"action": "approve"}), 400
    yield "POST /moderate/bulk", raw(b"x=" + b"y" * 2**20, FORM, headers=BROWSER), 413
    yield "POST /moderate/logout", form({"csrf_token": csrf}), 303


def edge_cases(make_settings: Any, tokens: dict[str, str]) -> Iterator[tuple[FlaskClient, Case]]:
    """Rate limits, Redis down and the metrics token: each needs its own app."""
    from service.web.app import create_app

    one = "1/minute"
    limited = create_app(
        make_settings(rate_limit_captcha=one, rate_limit_comments=one, rate_limit_login=one)
    ).test_client()
    for case in [
        ("GET /api/v1/captcha", {}, 200),
        ("GET /api/v1/captcha", {}, 429),
        ("POST /api/v1/comments", {"json": {}}, 422),
        ("POST /api/v1/comments", {"json": {}}, 429),
        ("POST /moderate/login", {"data": {}, "headers": BROWSER}, 400),
        ("POST /moderate/login", {"data": {}, "headers": BROWSER}, 429),
    ]:
        yield limited, case
    down = create_app(make_settings(redis_url=REDIS_DOWN)).test_client()
    for case in [
        ("POST /api/v1/comments", {"json": new_comment(down)}, 503),
        ("GET /api/v1/comments?thread=t", {}, 503),
        (f"GET /api/v1/comments/{UNKNOWN}", {}, 503),
        (f"POST /api/v1/comments/{UNKNOWN}/commenter-token", {"json": {"receipt": "r"}}, 503),
        ("GET /readyz", {}, 503),
        ("GET /metrics", {}, 503),
        ("GET /api/v1/moderation/me", {"headers": auth(tokens["moderator"])}, 503),
        ("GET /", {}, 503),
    ]:
        yield down, case
    guarded = create_app(make_settings(metrics_token="s3cret")).test_client()
    yield guarded, ("GET /metrics", {}, 401)


def test_real_responses_match_the_document(
    app: Flask,
    client: FlaskClient,
    redis_client: redis.Redis,
    tokens: dict[str, str],
    make_settings: Any,
) -> None:
    checker = Checker(app)
    browser = app.test_client()
    runs: list[Iterable[tuple[FlaskClient, Case]]] = [
        ((client, case) for case in public_cases(client, redis_client)),
        ((client, case) for case in moderation_cases(redis_client, tokens)),
        ((browser, case) for case in ui_cases(browser, redis_client, tokens["moderator"])),
        edge_cases(make_settings, tokens),
    ]
    for run in runs:
        for test_client, (target, kwargs, expected) in run:
            method, url = target.split(" ", 1)
            checker.check(method, url, test_client.open(url, method=method, **kwargs), expected)
    assert checker.failures == []
    documented = {(path, op) for path, ops in checker.document["paths"].items() for op in ops}
    assert documented - {(path, method) for path, method, _ in checker.seen} == set()


def test_the_api_root_links_to_the_document_and_the_entry_points(client: FlaskClient) -> None:
    """The banner's API link answers (it was a 404), and every link it gives answers too."""
    response = client.get("/api/v1/")
    assert response.status_code == 200
    body = response.get_json()
    assert body["openapi"].endswith("/api/v1/openapi.json")
    assert client.get(body["openapi"]).status_code == 200
    for name in ("captcha", "health", "ready"):
        assert client.get(body["links"][name]).status_code == 200, name
    assert set(body["links"]) >= {"captcha", "comments", "moderation_queue", "health", "ready"}


def test_the_apis_decided_statuses_are_the_cores() -> None:
    from typing import get_args

    from service.core.store import DECIDED_STATUSES
    from service.web.api.schemas import DecidedStatus

    assert get_args(DecidedStatus) == tuple(status.value for status in DECIDED_STATUSES)
