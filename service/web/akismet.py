"""The Akismet REST API 1.1 under ``/1.1/``: form-encoded requests, ``text/plain`` answers.

A site's key (``cgs_...``) is its Akismet key, and so is its Akismet-shaped alias
(12 hexadecimal characters, ``commentgate sites akismet-key``), which is valid here only.
Clients send it as the ``api_key`` form field (``key`` for ``verify-key`` and
``get-subscription``), or as ``Authorization: Bearer ...``, or, as old clients do, as the
first label of the ``Host`` header (``<key>.rest.akismet.com``). It is authenticated as
intake authenticates a site key (:meth:`~service.web.sites.SiteDirectory.site_for_key`:
one ``HGET``, so a revocation counts at once). What the answers mean, and how held
comments and discards are decided, is in :mod:`service.core.akismet.checking` and
docs/akismet.md.

``get-subscription`` and ``test`` answer what the WordPress plugin's settings page asks
before it keeps a key: an active subscription, and ``connected``.

These endpoints are not part of the JSON API: they answer in Akismet's own text
format, errors included (never ``application/problem+json``), and are left out of the
OpenAPI document (:data:`service.web.apidoc.spec.NOT_JSON_API`).
"""

from __future__ import annotations

import codecs
import json
import logging
from collections.abc import Mapping
from urllib.parse import parse_qsl

import redis
from flask import Blueprint, Flask, Response
from werkzeug.exceptions import HTTPException

from service.core.akismet import (
    RECHECK_AFTER_SECONDS,
    AkismetChecker,
    MissingFieldError,
    Submission,
    read_submission,
    report,
)
from service.core.sites import AKISMET_KEY_PATTERN, KEY_PREFIX, Site
from service.web.request_context import current_flask_app, current_request, request_globals
from service.web.services import Services, services

__all__ = ["EXTENSION_KEY", "THANKS", "bp", "init_akismet"]

logger = logging.getLogger(__name__)

bp = Blueprint("akismet", __name__, url_prefix="/1.1")

#: Where the app keeps its :class:`AkismetChecker` (one per process: one base model).
EXTENSION_KEY = "commentgate.akismet"
THANKS = "Thanks for making the web a better place."
FORM = "application/x-www-form-urlencoded"
_HELP = "X-akismet-debug-help"
_BAD_KEY = (
    "The key is not a valid commentgate site key (cgs_...) or Akismet key (12 hexadecimal "
    "characters), or its site was revoked. Send it as api_key, see `commentgate sites list`."
)
#: What ``get-subscription`` answers for a valid key: the fields the WordPress plugin's
#: settings page reads (it keeps a key only while ``status`` is ``active``).
SUBSCRIPTION = {
    "status": "active",
    "account_name": "commentgate",
    "account_type": "commentgate",
    "account_id": False,
    "next_billing_date": False,
    "limit_reached": False,
}


def init_akismet(app: Flask, clients: Services) -> None:
    """Register the blueprint and the process's checker (its model loads on first use)."""
    app.extensions[EXTENSION_KEY] = AkismetChecker(clients)
    app.register_blueprint(bp)


def _checker() -> AkismetChecker:
    found: AkismetChecker = current_flask_app().extensions[EXTENSION_KEY]
    return found


def _text(body: str, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    response = Response(body, status=status, mimetype="text/plain", headers=dict(headers or {}))
    response.headers["Cache-Control"] = "no-store"
    return response


def _form() -> Mapping[str, str]:
    """The request's fields, decoded with the charset the client names.

    WordPress sends ``charset=<blog_charset>`` (not always UTF-8); werkzeug would drop a
    whole form holding one byte that is not UTF-8, so a form-encoded body is parsed
    here, with undecodable bytes replaced. A field sent twice keeps its first value.
    """
    request = current_request()
    if request.mimetype != FORM:
        return request.form
    charset = request.mimetype_params.get("charset", "utf-8")
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    text = request.get_data(cache=False).decode("latin-1")  # bytes as they are: %XX stay
    fields: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=True, encoding=charset, errors="replace"):
        fields.setdefault(name, value)
    return fields


def _key(form: Mapping[str, str], *names: str) -> str:
    """The site key: a form field, else a bearer token, else the ``Host``'s first label."""
    for name in names:
        value = form.get(name, "").strip()
        if value:
            return value
    request = current_request()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    label = request.environ.get("HTTP_HOST", "").split(".", 1)[0]  # as sent: keys mix case
    alias = AKISMET_KEY_PATTERN.fullmatch(label.lower())
    return label if label.startswith(KEY_PREFIX) or alias else ""


def _site(key: str) -> Site | None:
    return services().sites.site_for_key(key, akismet=True)


def _invalid(detail: str = _BAD_KEY) -> Response:
    return _text("invalid", headers={_HELP: detail})


def _missing(exc: MissingFieldError) -> Response:
    return _text(str(exc), 400, {_HELP: str(exc)})


def _submission() -> tuple[Site, Submission] | Response:
    """The request's site and comment, or the answer to a bad key or a missing field."""
    form = _form()
    site = _site(_key(form, "api_key", "key"))
    if site is None:
        return _invalid()
    try:
        return site, read_submission(form)
    except MissingFieldError as exc:
        return _missing(exc)


@bp.post("/verify-key")
def verify_key() -> Response:
    """``valid`` when the key is a site's key, else ``invalid``."""
    form = _form()
    key = _key(form, "key", "api_key")
    if not form.get("blog", "").strip():
        return _missing(MissingFieldError("blog"))
    if _site(key) is None:
        return _invalid()
    return _text("valid")


@bp.post("/get-subscription")
def get_subscription() -> Response:
    """The key's subscription as JSON (always active), else ``invalid``.

    The WordPress plugin's settings page keeps a key typed into it only when this says
    ``active`` (``Akismet_Admin::save_key``), and shows ``account_name``.
    """
    form = _form()
    if _site(_key(form, "key", "api_key")) is None:
        return _invalid()
    response = Response(json.dumps(SUBSCRIPTION), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/test")
def connectivity_test() -> Response:
    """``connected``: the WordPress plugin's check that its API host answers."""
    return _text("connected")


@bp.post("/comment-check")
def comment_check() -> Response:
    """``true`` for spam, ``false`` otherwise; the comment is stored for moderators."""
    found = _submission()
    if isinstance(found, Response):
        return found
    site, submission = found
    verdict = _checker().check(site, submission, request_id=request_globals().request_id)
    headers: dict[str, str] = {}
    if verdict.comment_id:
        headers["X-akismet-guid"] = verdict.comment_id
        request_globals().comment_id = verdict.comment_id  # in the access-log line
    if verdict.discard:
        headers["X-akismet-pro-tip"] = "discard"
    if verdict.held:
        headers["X-akismet-recheck-after"] = str(RECHECK_AFTER_SECONDS)
    return _text("true" if verdict.spam else "false", headers=headers)


@bp.post("/submit-spam")
def submit_spam() -> Response:
    """The site's moderators say the comment is spam."""
    return _report("spam")


@bp.post("/submit-ham")
def submit_ham() -> Response:
    """The site's moderators say the comment is not spam."""
    return _report("ham")


def _report(label: str) -> Response:
    found = _submission()
    if isinstance(found, Response):
        return found
    site, submission = found
    comment_id = report(
        _checker(),
        site,
        submission,
        "spam" if label == "spam" else "ham",
        request_id=request_globals().request_id,
    )
    if comment_id:
        request_globals().comment_id = comment_id
    return _text(THANKS)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    """Errors in Akismet's text format (a body too large, a malformed form)."""
    detail = exc.description or exc.name
    return _text(detail, exc.code or 400, {_HELP: detail})


@bp.errorhandler(redis.RedisError)
def _storage_error(exc: redis.RedisError) -> Response:
    """Storage unreachable or full: nothing was stored; clients hold the comment and retry."""
    logger.warning("Akismet request failed on Redis: %s", exc)
    detail = "commentgate's storage is unavailable; retry later"
    return _text("error", 503, {_HELP: detail, "X-akismet-error": detail, "Retry-After": "5"})
