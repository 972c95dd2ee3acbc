"""``/api/v1/``: the API's index, and its OpenAPI 3.1 document at ``/api/v1/openapi.json``.

The document is generated from the views' own declarations (:mod:`service.web.apidoc`).
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, jsonify, url_for

from service.web.api.models import ApiIndex, respond
from service.web.apidoc import JSON, Reply, doc, document

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

#: Where the project documents the API beyond the OpenAPI document.
DOCUMENTATION = "README.md (A short tour; Moderators) and docs/ in the commentgate source"


@bp.get("/")
@doc("operations", responses={200: Reply("Links to start from.", ApiIndex)})
def index() -> Response:
    """The API's entry points.

    The OpenAPI document and the main entry points, as absolute URLs.
    """
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
@doc("operations", responses={200: Reply("The document.", media={JSON: {"type": "object"}})})
def openapi_json() -> Response:
    """This OpenAPI document."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return jsonify(document(app))
