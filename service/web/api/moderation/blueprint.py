"""The moderation API's blueprint: every route needs a moderator's bearer token.

Its routes are in the modules beside this one; each declares itself with
:func:`moderation_doc`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import Blueprint
from pydantic import BaseModel

from service.web.apidoc import BEARER, Reply, doc
from service.web.apidoc.replies import (
    FORBIDDEN,
    INVALID,
    UNAUTHORIZED,
    UNAVAILABLE,
    json_body_replies,
)
from service.web.auth import authorize, bearer_moderator

bp = Blueprint("moderation", __name__, url_prefix="/api/v1/moderation")
F = TypeVar("F", bound=Callable[..., Any])


def moderation_doc(
    responses: Mapping[int, Reply],
    *,
    admin: bool = False,
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    path: Mapping[str, tuple[str, Mapping[str, Any] | None]] | None = None,
) -> Callable[[F], F]:
    """:func:`~service.web.apidoc.doc` for this API: a bearer token, admins' where stated.

    Args:
        responses: The route's own replies (401, 503 and, as they apply, 403, 422 and the
            JSON body's errors are added).
        admin: Whether only admins may call it.
        query: Its query string.
        body: Its JSON body.
        path: Path parameters, as :func:`~service.web.apidoc.doc` takes them.

    Returns:
        The decorator.
    """
    replies: dict[int, Reply] = {401: UNAUTHORIZED, 503: UNAVAILABLE}
    if admin:
        replies[403] = FORBIDDEN
    if query is not None:
        replies[422] = INVALID
    if body is not None:
        replies |= json_body_replies()
    tag = "moderation (admins)" if admin else "moderation"
    replies |= responses
    return doc(tag, responses=replies, query=query, body=body, path=path, security=BEARER)


@bp.before_request
def _authenticate() -> None:
    authorize(bearer_moderator())
