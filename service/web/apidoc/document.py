"""The OpenAPI document of an app: SpecTree's, with what SpecTree does not describe.

SpecTree assembles paths, parameters, responses and component schemas from the views'
:func:`~service.web.apidoc.spec.doc` declarations; :func:`build_document` adds request
body media types other than JSON, header and security scheme components, and tidies
query parameters and unused schemas.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from flask import Flask

from service.web.apidoc.spec import (
    MEDIA_ATTRIBUTE,
    SECURITY_SCHEMES,
    SPEC,
    documentation_of,
    openapi_path,
    routes,
)

_EXTENSION_KEY = "commentgate.openapi"

HEADERS: dict[str, dict[str, Any]] = {
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


def _non_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without the ``null`` branch pydantic adds to optionals."""
    branches = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    out = {k: v for k, v in schema.items() if k not in ("anyOf", "title", "description")}
    if len(branches) == 1 and "anyOf" in schema:
        out |= branches[0]
    elif "anyOf" in schema:
        out["anyOf"] = branches
    if out.get("default", 0) is None:
        del out["default"]
    return out


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value.rsplit("/", 1)[1]
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _tidy_operation(operation: dict[str, Any], media: tuple[str, ...]) -> None:
    """What SpecTree leaves out or spells otherwise: body media types, query parameters."""
    body = operation.get("requestBody")
    if body:
        schema = next(iter(body["content"].values()))["schema"]
        body["content"] = {media_type: {"schema": dict(schema)} for media_type in media}
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query":
            parameter["schema"] = _non_null(parameter["schema"])
            if not parameter.get("description"):
                parameter.pop("description", None)
    operation["summary"] = operation["summary"].removesuffix(".")
    if not operation.get("parameters"):
        operation.pop("parameters", None)
    if not operation.get("description"):
        operation.pop("description", None)


def build_document(app: Flask) -> dict[str, Any]:
    """Generate the OpenAPI 3.1 document of ``app``.

    Args:
        app: The commentgate app (its URL map gives the paths, its views their documents).

    Returns:
        The document, ready to be serialised as JSON.
    """
    # SpecTree caches one document per SpecTree (``SPEC.spec``), and generating it moves
    # nested models out of its model table: generate from a copy, for each app.
    models = SPEC.models
    SPEC.models = copy.deepcopy(models)
    try:
        with app.app_context():
            document: dict[str, Any] = SPEC._generate_spec()
    finally:
        SPEC.models = models
    for rule, method in routes(app):
        stand_in = documentation_of(app.view_functions[rule.endpoint], method)
        operation = document["paths"].get(openapi_path(rule.rule), {}).get(method.lower())
        if stand_in is not None and operation is not None:
            _tidy_operation(operation, getattr(stand_in, MEDIA_ATTRIBUTE))
    document.pop("security", None)
    paths = document["paths"]
    schemas = document["components"]["schemas"]
    used = set(_refs(paths))
    pending = list(used)
    while pending:  # models referred to by referred models
        for name in _refs(schemas.get(pending.pop(), {})):
            if name not in used:
                used.add(name)
                pending.append(name)
    document["jsonSchemaDialect"] = "https://json-schema.org/draft/2020-12/schema"
    document["info"] |= {
        "summary": "Self-hosted comment moderation: captcha, spam scoring, moderation.",
        "license": {"name": "MIT", "identifier": "MIT"},
    }
    document["tags"] = sorted(document["tags"], key=lambda tag: tag["name"])
    document["paths"] = dict(sorted(paths.items()))
    document["components"] = {
        # Query models are described as parameters, not as schemas.
        "schemas": {name: schemas[name] for name in sorted(schemas) if name in used},
        "headers": HEADERS,
        "securitySchemes": SECURITY_SCHEMES,
    }
    return document


def document(app: Flask) -> dict[str, Any]:
    """The document of ``app``, generated once and kept in its extensions."""
    cached: dict[str, Any] | None = app.extensions.get(_EXTENSION_KEY)
    if cached is None:
        cached = app.extensions[_EXTENSION_KEY] = build_document(app)
    return cached
