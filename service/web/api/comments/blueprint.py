"""The comments API's blueprint, under ``/api/v1``; its routes are in the modules beside."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("comments", __name__, url_prefix="/api/v1")
