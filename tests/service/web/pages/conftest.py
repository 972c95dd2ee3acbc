"""Helpers for the page tests: store comments directly, read HTML back."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask

from service.core.store import Comment, CommentStatus, Decision, new_comment_id
from service.web.pages import DEMO_THREAD
from service.web.services import EXTENSION_KEY, Services
from tests.conftest import solve

#: Headers of a browser submitting a plain form from the demo page.
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
DEMO_REFERER = "http://localhost/"

_clock = itertools.count(1)


def store_comment(
    app: Flask,
    *,
    status: CommentStatus = CommentStatus.PUBLISHED,
    thread: str = DEMO_THREAD,
    **fields: Any,
) -> Comment:
    """Store a comment with ``status`` straight in Redis (no intake, no worker)."""
    svc: Services = app.extensions[EXTENSION_KEY]
    values: dict[str, Any] = {
        "id": new_comment_id(),
        "thread": thread,
        "body": "A perfectly ordinary comment.",
        "author_name": "Ada",
        # Strictly increasing, so the order of creation is the order of listing.
        "created_at": time.time() + next(_clock) / 1000,
        "status": CommentStatus.PENDING,
    }
    values.update(fields)
    comment = Comment(**values)
    svc.store.accept(comment, nonce=None, nonce_ttl=60)
    if status is not CommentStatus.PENDING:
        decided = svc.store.record_decisions([Decision(comment, status, 0.1, "test", ("test",))])
        assert decided == [comment.id]
    return comment


@dataclass
class Element:
    """A start tag: its name, attributes and (for a few tags) its text."""

    tag: str
    attrs: dict[str, str]
    text: str = ""


@dataclass
class Page(HTMLParser):
    """A parsed HTML page: every element in order, and the text of each."""

    elements: list[Element] = field(default_factory=list)

    def __post_init__(self) -> None:
        HTMLParser.__init__(self, convert_charrefs=True)
        self._open: list[Element] = []

    @classmethod
    def of(cls, html: str) -> Page:
        page = cls()
        page.feed(html)
        page.close()
        return page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v if v is not None else "" for k, v in attrs})
        self.elements.append(element)
        if tag not in ("input", "br", "meta", "link", "img", "hr"):
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    def by_id(self, element_id: str) -> Element:
        found = [e for e in self.elements if e.attrs.get("id") == element_id]
        assert len(found) == 1, f"{len(found)} elements with id {element_id!r}"
        return found[0]

    def has_id(self, element_id: str) -> bool:
        return any(e.attrs.get("id") == element_id for e in self.elements)

    def select(self, tag: str, **attrs: str) -> list[Element]:
        """Elements named ``tag`` whose attributes include ``attrs`` (``class_`` for class)."""
        wanted = {k.rstrip("_"): v for k, v in attrs.items()}
        return [
            e
            for e in self.elements
            if e.tag == tag
            and all(
                v in e.attrs.get(k, "").split() if k == "class" else e.attrs.get(k) == v
                for k, v in wanted.items()
            )
        ]

    def form_fields(self) -> dict[str, str]:
        """Names and values of the comment form's inputs and textarea."""
        fields: dict[str, str] = {}
        for element in self.elements:
            name = element.attrs.get("name")
            if element.tag == "input" and name:
                fields[name] = element.attrs.get("value", "")
            elif element.tag == "textarea" and name:
                fields[name] = element.text.removeprefix("\n")  # as browsers read it
        return fields


def filled_form(page: Page, **values: str) -> dict[str, str]:
    """The page's form fields with ``values`` and the captcha solved."""
    fields = page.form_fields() | values
    question = page.select("span", class_="captcha-question")[0].attrs["data-question"]
    fields["captcha_answer"] = str(solve(question))
    return fields


@pytest.fixture
def store(app: Flask) -> Any:
    """``store(**fields)``: put a comment straight into the app's Redis."""

    def put(**fields: Any) -> Comment:
        return store_comment(app, **fields)

    return put
