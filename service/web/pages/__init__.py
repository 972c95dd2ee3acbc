"""Server-rendered HTML pages: the demo blog post and the form error pages.

:func:`init_pages` is the one hook ``create_app`` calls: it registers the ``pages``
blueprint. ``create_app``'s response hook adds :func:`apply_security_headers`'s headers
to every response.
"""

from __future__ import annotations

from flask import Flask
from pydantic import BaseModel, Field

from service.web.apidoc import doc
from service.web.apidoc.replies import PAGE_UNAVAILABLE, page
from service.web.pages.demo import DEMO_THREAD, bp, demo_post
from service.web.pages.errors import render_form_problem
from service.web.pages.security import CONTENT_SECURITY_POLICY, apply_security_headers

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "DEMO_THREAD",
    "apply_security_headers",
    "init_pages",
    "render_form_problem",
]


# The page reads its query string by hand: this model describes it in the OpenAPI
# document and validates nothing.
class DemoPageQuery(BaseModel):
    """Query of the demo page."""

    cursor: str | None = Field(None, description="Show the comments after this cursor.")
    comment: str | None = Field(None, description="Say what became of this comment.")
    retry: str | None = Field(
        None,
        description=(
            "Show again the comment form the intake refused (input and messages, kept "
            "for 10 minutes); unknown or expired: an empty form."
        ),
    )


# Documented here rather than at the view while the demo page is being reworked on
# another branch; the declaration belongs under demo_post's route decorator.
doc(
    "pages",
    query=DemoPageQuery,
    responses={
        200: page("The page."),
        400: page("The comments cursor is not valid."),
        503: PAGE_UNAVAILABLE,
    },
    summary="The demo blog post, its comments and comment form",
)(demo_post)


def init_pages(app: Flask) -> None:
    """Register the pages blueprint on ``app``.

    Args:
        app: The commentgate app being built.
    """
    app.register_blueprint(bp)
