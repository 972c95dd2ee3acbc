"""The OpenAPI 3.1 document of the whole HTTP API, served at ``/api/v1/openapi.json``.

:data:`ROUTES` is the registry: each ``(endpoint, method)`` of the app's URL map, with
its summary, request models, path parameters, security and responses. The document is
generated from that registry, the URL map (paths and converters) and the pydantic
models the views validate requests with (:mod:`service.web.api.schemas`) and build their
bodies with (:mod:`service.web.api.models`), so it cannot drift from the code's schemas.
A route without an entry is left out, and ``tests/service/web/api/test_openapi.py`` fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, url_for
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from werkzeug.routing import Rule

from service.web.api.models import ApiIndex, Problem, respond
from service.web.api.openapi_routes import JSON, PROBLEM, ROUTES, Operation, Reply
from service.web.pages.moderate.session import COOKIE_NAME

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

__all__ = ["ROUTES", "Operation", "Reply", "bp", "build_document", "undocumented"]

_REF = "#/components/schemas/{model}"
_EXTENSION_KEY = "commentgate.openapi"
#: ``<converter(arguments):name>`` in a werkzeug rule.
_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")
_IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})

_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id (the client's own when it sent a valid one).",
        "schema": {"type": "string", "pattern": r"^[A-Za-z0-9._-]{1,64}$"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "string", "pattern": r"^[0-9]+$"},
    },
    "Location": {
        "description": "Where to go next.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Content-Disposition": {
        "description": "``attachment`` with a file name.",
        "schema": {"type": "string"},
    },
    "WWW-Authenticate": {"description": "``Bearer``.", "schema": {"type": "string"}},
}
_SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "A moderator's API token (``commentgate moderators add``).",
    },
    "siteKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "A site's key (``commentgate sites add``), for its own server's posts.",
    },
    "metricsToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "COMMENTGATE_METRICS_TOKEN, when it is set.",
    },
    "moderatorSession": {
        "type": "apiKey",
        "in": "cookie",
        "name": COOKIE_NAME,
        "description": "The moderation UI's session, started at /moderate/login.",
    },
}
_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "bearer": [{"bearerAuth": []}],
    "metrics": [{}, {"metricsToken": []}],
    "session": [{"moderatorSession": []}],
    "site": [{}, {"siteKey": []}],
}


def openapi_path(rule: str) -> str:
    """A werkzeug rule as an OpenAPI path: ``/c/<comment_id>`` -> ``/c/{comment_id}``."""
    return _VARIABLE.sub(lambda m: "{" + m["name"] + "}", rule)


def _path_parameter(match: re.Match[str], operation: Operation) -> dict[str, Any]:
    name, converter = match["name"], match["converter"] or "default"
    schema: dict[str, Any] = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
    if converter == "any":
        schema = {"type": "string", "enum": [a.strip() for a in match["args"].split(",")]}
    elif converter == "int":
        schema = {"type": "integer", "minimum": 0}
    description, override = operation.path.get(name, ("", {}))
    parameter: dict[str, Any] = {"name": name, "in": "path", "required": True}
    parameter["schema"] = override or schema
    if description:
        parameter["description"] = description
    return parameter


def _non_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without the ``null`` branch pydantic adds to optionals."""
    branches = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    out = {k: v for k, v in schema.items() if k not in ("anyOf", "title")}
    if len(branches) == 1 and "anyOf" in schema:
        out |= branches[0]
    elif "anyOf" in schema:
        out["anyOf"] = branches
    if out.get("default", 0) is None:
        del out["default"]
    return out


def _query_parameters(definition: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(definition.get("required", []))
    parameters = []
    for name, schema in definition.get("properties", {}).items():
        schema = _non_null(schema)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in schema:
            parameter["description"] = schema.pop("description")
        parameter["schema"] = schema
        parameters.append(parameter)
    return parameters


def _response(reply: Reply, refs: Mapping[Any, dict[str, Any]]) -> dict[str, Any]:
    content: dict[str, Any] = {}
    if reply.model is not None:
        content[JSON] = {"schema": refs[reply.model]}
    if reply.problem:
        content[PROBLEM] = {"schema": {"$ref": _REF.format(model="Problem")}}
    for media_type, schema in reply.media.items():
        content[media_type] = {"schema": dict(schema)}
    headers = {name: {"$ref": f"#/components/headers/{name}"} for name in reply.headers}
    headers["X-Request-ID"] = {"$ref": "#/components/headers/X-Request-ID"}
    out: dict[str, Any] = {"description": reply.description, "headers": headers}
    if content:
        out["content"] = content
    return out


def _models() -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    """Every model the document refers to, with the mode its schema is taken in."""
    seen: dict[type[BaseModel], JsonSchemaMode] = {}
    for operation in ROUTES.values():
        for model in (operation.query, operation.body):
            if model is not None:
                seen[model] = "validation"
        for reply in operation.responses.values():
            if reply.model is not None:
                seen[reply.model] = "serialization"
    seen[Problem] = "serialization"
    return list(seen.items())


def _rules(app: Flask) -> Iterator[tuple[Rule, str]]:
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - _IGNORED_METHODS):
            yield rule, method


def undocumented(app: Flask) -> list[tuple[str, str, str]]:
    """``(method, rule, endpoint)`` of every route of ``app`` without a registry entry."""
    return [
        (method, rule.rule, rule.endpoint)
        for rule, method in _rules(app)
        if (rule.endpoint, method) not in ROUTES
    ]


def build_document(app: Flask) -> dict[str, Any]:
    """Generate the OpenAPI 3.1 document of ``app``.

    Args:
        app: The commentgate app (its URL map gives the paths).

    Returns:
        The document, ready to be serialised as JSON.
    """
    refs_by_key, definitions = models_json_schema(_models(), ref_template=_REF)
    schemas: dict[str, Any] = definitions.get("$defs", {})
    refs = {model: ref for (model, _), ref in refs_by_key.items()}
    paths: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    query_models = {op.query for op in ROUTES.values() if op.query is not None}
    query_models -= {op.body for op in ROUTES.values()}
    for rule, method in _rules(app):
        operation = ROUTES.get((rule.endpoint, method))
        if operation is None:
            continue
        operation_id = f"{rule.endpoint.replace('.', '_')}_{method.lower()}"
        while operation_id in used:
            operation_id += "_2"
        used.add(operation_id)
        defaults = set(rule.defaults or {})
        parameters = [
            _path_parameter(match, operation)
            for match in _VARIABLE.finditer(rule.rule)
            if match["name"] not in defaults
        ]
        if operation.query is not None:
            name = refs[operation.query]["$ref"].rsplit("/", 1)[1]
            parameters += _query_parameters(schemas[name])
        entry: dict[str, Any] = {
            "operationId": operation_id,
            "summary": operation.summary,
            "tags": [operation.tag],
            "responses": {
                str(status): _response(reply, refs)
                for status, reply in sorted(operation.responses.items())
            },
        }
        if operation.description:
            entry["description"] = operation.description
        if parameters:
            entry["parameters"] = parameters
        if operation.body is not None:
            body_schema = refs[operation.body]
            entry["requestBody"] = {
                "required": True,
                "content": {media: {"schema": body_schema} for media in operation.body_media},
            }
        if operation.security is not None:
            entry["security"] = _SECURITY[operation.security]
        paths.setdefault(openapi_path(rule.rule), {})[method.lower()] = entry
    for model in query_models:  # described as parameters, not as schemas
        schemas.pop(refs[model]["$ref"].rsplit("/", 1)[1], None)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "commentgate",
            "version": "1",
            "summary": "Self-hosted comment moderation: captcha, spam scoring, moderation.",
            "description": (
                "Errors are RFC 9457 problem details (`application/problem+json`); "
                "a browser posting a plain HTML form gets HTML pages instead."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": [{"name": name} for name in sorted({op.tag for op in ROUTES.values()})],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "headers": _HEADERS,
            "securitySchemes": _SECURITY_SCHEMES,
        },
    }


def document(app: Flask) -> dict[str, Any]:
    """The document of ``app``, generated once and kept in its extensions."""
    cached: dict[str, Any] | None = app.extensions.get(_EXTENSION_KEY)
    if cached is None:
        cached = app.extensions[_EXTENSION_KEY] = build_document(app)
    return cached


#: Where the project documents the API beyond the OpenAPI document.
DOCUMENTATION = "README.md (A short tour; Moderators) and docs/ in the commentgate source"


@bp.get("/")
def index() -> Response:
    """The API's front door: the OpenAPI document and the main entry points."""
    return respond(
        ApiIndex(
            name="commentgate",
            openapi=url_for("openapi.openapi_json", _external=True),
            documentation=DOCUMENTATION,
            links={
                "captcha": url_for("captcha.issue", _external=True),
                "comments": url_for("comments.create", _external=True),
                "moderation_queue": url_for("moderation.queue", _external=True),
                "health": url_for("health.healthz", _external=True),
                "ready": url_for("health.readyz", _external=True),
            },
        )
    )


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """This API's OpenAPI 3.1 document."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return jsonify(document(app))
