"""How the moderation UI's routes are documented in the OpenAPI document.

HTML pages behind the session cookie, forms with a CSRF token; the views declare
themselves with :func:`ui_doc`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from service.web.apidoc import FORM, SESSION, Reply, add_security_scheme, doc
from service.web.apidoc.replies import PAGE_UNAVAILABLE, form_page_replies
from service.web.pages.moderate.session import COOKIE_NAME

F = TypeVar("F", bound=Callable[..., Any])

add_security_scheme(
    "moderatorSession",
    {
        "type": "apiKey",
        "in": "cookie",
        "name": COOKIE_NAME,
        "description": "The moderation UI's session, started at /moderate/login.",
    },
)


def ui_doc(
    responses: Mapping[int, Reply],
    *,
    form: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    public: bool = False,
    path: Mapping[str, tuple[str, Mapping[str, Any] | None]] | None = None,
    method: str | None = None,
    summary: str | None = None,
) -> Callable[[F], F]:
    """:func:`~service.web.apidoc.doc` for a page of the moderation UI.

    Args:
        responses: The page's own replies (503 and the form errors are added).
        form: The form it takes (``application/x-www-form-urlencoded``).
        query: Its query string.
        public: Open without a session (the login page).
        path: Path parameters, as :func:`~service.web.apidoc.doc` takes them.
        method: The method documented, for a view serving several.
        summary: The summary, in place of the docstring's.

    Returns:
        The decorator.
    """
    replies: dict[int, Reply] = {503: PAGE_UNAVAILABLE}
    if form is not None:
        replies |= form_page_replies(session=not public)
    return doc(
        "moderation UI",
        responses=replies | dict(responses),
        body=form,
        media=(FORM,),
        query=query,
        path=path,
        security=None if public else SESSION,
        method=method,
        summary=summary,
    )
