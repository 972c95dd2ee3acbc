"""Stream the comments out of a Disqus export (Admin → Moderation → Export).

A Disqus export is ``<disqus>`` with, at its top level, ``<category>``, ``<thread
dsq:id=...>`` (each with its ``<link>``) and ``<post dsq:id=...>`` elements. A post has
its ``<message>`` (HTML), ``<createdAt>``, ``<isDeleted>``, ``<isSpam>``,
``<author>`` (name, e-mail), ``<ipAddress>``, a ``<thread dsq:id=.../>`` reference and,
for a reply, ``<parent dsq:id=.../>``.

``isSpam`` true → spam; otherwise ``isDeleted`` true → skipped (deleted); otherwise ham.
Only a dict of thread id → link is kept while streaming; every element is dropped
from the tree once read. Disqus lists threads before posts; a post whose thread was
not listed before it gets the thread ``disqus-thread:<id>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO
from xml.etree.ElementTree import Element

from service.core.imports import ImportedComment, ImportFormatError
from service.core.imports._xml import (
    CountingReader,
    attribute,
    html_to_text,
    local_name,
    parse_time,
    xml_events,
)

__all__ = ["SOURCE", "parse_disqus"]

SOURCE = "disqus"
_TRUE = frozenset({"true", "1"})


def parse_disqus(source: CountingReader | BinaryIO, name: str) -> Iterator[ImportedComment]:
    """Yield the posts of a Disqus export, one at a time, in file order.

    Args:
        source: The export, opened in binary mode.
        name: The file's name, for messages.

    Raises:
        ImportRefusedError: The file declares a DTD or entities.
        ImportFormatError: Not XML, malformed, not a Disqus export (a WordPress one,
            say), or no posts at all.
    """
    root: Element | None = None
    depth = 0
    threads: dict[str, str] = {}
    found = 0
    for event, element in xml_events(source, name):
        if event == "start":
            if root is None:
                root = element
                _check_root(element, name)
            depth += 1
            continue
        depth -= 1
        if depth != 1 or root is None:
            continue
        kind = local_name(element.tag)
        if kind == "thread":
            thread_id = attribute(element, "id")
            if thread_id:
                threads[thread_id] = _child_text(element, "link")
        elif kind == "post":
            found += 1
            yield _post(element, threads)
        root.remove(element)
    if not found:
        raise ImportFormatError(f"{name}: the Disqus export holds no posts")


def _check_root(root: Element, name: str) -> None:
    tag = local_name(root.tag)
    if tag == "rss":
        raise ImportFormatError(
            f"{name}: this is a WordPress export (RSS), not a Disqus one: "
            "use `commentgate import wordpress`"
        )
    if tag != "disqus":
        raise ImportFormatError(
            f"{name}: not a Disqus export: the document is <{tag}>, expected <disqus>"
        )


def _child(element: Element, name: str) -> Element | None:
    for child in element:
        if local_name(child.tag) == name:
            return child
    return None


def _child_text(element: Element, name: str) -> str:
    child = _child(element, name)
    return (child.text or "").strip() if child is not None else ""


def _post(post: Element, threads: dict[str, str]) -> ImportedComment:
    """Map one top-level ``<post>`` to an :class:`ImportedComment`."""
    post_id = attribute(post, "id") or _child_text(post, "id")
    thread_ref = _child(post, "thread")
    thread_id = attribute(thread_ref, "id") if thread_ref is not None else ""
    parent_ref = _child(post, "parent")
    parent_id = attribute(parent_ref, "id") if parent_ref is not None else ""
    author = _child(post, "author")
    message = _child(post, "message")
    text = html_to_text(message.text or "") if message is not None else ""
    label: int | None = None
    skipped = ""
    if not post_id:
        skipped = "other"
    elif _child_text(post, "isSpam").lower() in _TRUE:
        label = 1
    elif _child_text(post, "isDeleted").lower() in _TRUE:
        skipped = "deleted"
    else:
        label = 0
    if label is not None and not text:
        label, skipped = None, "empty"
    return ImportedComment(
        key=f"{SOURCE}:{post_id}",
        source=SOURCE,
        thread=threads.get(thread_id) or f"disqus-thread:{thread_id}",
        text=text,
        created_at=parse_time(_child_text(post, "createdAt")) or 0.0,
        label=label,
        skipped=skipped,
        parent_key=f"{SOURCE}:{parent_id}" if parent_id else "",
        author_name=_child_text(author, "name") if author is not None else "",
        author_email=_child_text(author, "email") if author is not None else "",
        author_url=_child_text(author, "link") if author is not None else "",
        ip=_child_text(post, "ipAddress"),
    )
