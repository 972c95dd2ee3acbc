"""``GET /api/v1/captcha``: a fresh arithmetic challenge."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, jsonify

from service.services import services

bp = Blueprint("captcha", __name__, url_prefix="/api/v1")


def fresh_challenge() -> dict[str, Any]:
    """A new challenge as a JSON-ready dict."""
    return asdict(services().captcha.issue())


@bp.get("/captcha")
def issue() -> Response:
    """Issue a challenge: ``{"token", "question", "prompt", "expires_in"}``."""
    response = jsonify(fresh_challenge())
    response.headers["Cache-Control"] = "no-store"
    return response
