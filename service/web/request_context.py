"""The objects behind Flask's ``request``, ``g`` and ``current_app`` proxies.

Reading an attribute through one of werkzeug's context proxies costs several times a
plain read: the proxy first fails to find the attribute on itself, which raises and
catches an ``AttributeError``, then looks up the current object and reads it there
(docs/performance.md, "Intake", has the figures). Code on the intake's
hot path reads a dozen such attributes per post, so it takes the objects behind the
proxies once, with werkzeug's ``_get_current_object``, and reads them directly. Other
code keeps using the proxies.
"""

from __future__ import annotations

from typing import Any, cast

from flask import Flask, Request, current_app, g, request
from flask.ctx import _AppCtxGlobals
from flask.globals import request_ctx
from werkzeug.routing import MapAdapter


def current_request() -> Request:
    """The request being handled (what ``flask.request`` stands for)."""
    found: Request = cast(Any, request)._get_current_object()
    return found


def request_globals() -> _AppCtxGlobals:
    """The current ``flask.g``."""
    found: _AppCtxGlobals = cast(Any, g)._get_current_object()
    return found


def current_flask_app() -> Flask:
    """The app handling the current request (what ``flask.current_app`` stands for)."""
    found: Flask = cast(Any, current_app)._get_current_object()
    return found


def current_url_adapter() -> MapAdapter:
    """The URL adapter bound to the current request (what ``url_for`` builds with)."""
    adapter: MapAdapter | None = cast(Any, request_ctx)._get_current_object().url_adapter
    if adapter is None:
        raise RuntimeError("the request has no URL adapter")
    return adapter
