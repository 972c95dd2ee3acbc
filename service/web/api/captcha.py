"""``GET /api/v1/captcha``: a fresh arithmetic challenge."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response

from service.web.api.models import CaptchaChallenge, respond
from service.web.apidoc import Reply, doc
from service.web.apidoc.replies import RATE_LIMITED
from service.web.services import services

bp = Blueprint("captcha", __name__, url_prefix="/api/v1")


def fresh_challenge() -> CaptchaChallenge:
    """A new challenge, as the response model."""
    return CaptchaChallenge.model_validate(asdict(services().captcha.issue()))


@bp.get("/captcha")
@doc(
    "comments",
    responses={200: Reply("A fresh challenge.", CaptchaChallenge), 429: RATE_LIMITED},
)
def issue() -> Response:
    """Issue a captcha challenge."""
    response = respond(fresh_challenge())
    response.headers["Cache-Control"] = "no-store"
    return response
