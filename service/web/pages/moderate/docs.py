"""How the moderation UI's routes are documented in the OpenAPI document.

HTML pages behind the session cookie, forms with a CSRF token; the views declare
themselves with :func:`ui_doc`. The pages read their query strings and forms by hand:
the models here describe them in the document and validate nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field

from service.core.moderation import Action
from service.web.api.schemas import DecidedStatus
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


class QueueFilter(BaseModel):
    """Query of a moderation UI queue."""

    thread: str | None = Field(None, description="Only this thread.")
    q: str | None = Field(None, description="Text to search for.")
    cursor: str | None = Field(None, description="Continue after this cursor.")


class LoginQuery(BaseModel):
    """Query of the login page."""

    next: str | None = Field(None, description="A /moderate path to go to once logged in.")


class CsrfForm(BaseModel):
    """A form of the moderation UI."""

    csrf_token: str = Field(description="The token the page's form carries.")


class LoginForm(CsrfForm):
    """The login form."""

    token: str = Field(description="The moderator's API token (``cgm_...``).")
    next: str = ""


class DecisionForm(CsrfForm):
    """A decision on the comment shown."""

    action: Action
    expected: DecidedStatus | Literal[""] = Field("", description="The status shown.")
    next: str = Field("", description="The /moderate path to go back to.")
    focus: str = Field("", description="The comment to scroll to.")


class BulkForm(DecisionForm):
    """A decision on the selected comments."""

    ids: list[str] = Field(description="The selected comments (at most 500).")
