"""Stream the comments out of a WordPress export (WXR, Tools → Export).

A WXR file is RSS: ``<rss><channel>``, one ``<item>`` per post (its ``<link>`` is the
thread) and, inside it, one ``<wp:comment>`` per comment. The ``wp`` namespace is
``http://wordpress.org/export/1.0/`` to ``1.2/``; every version is accepted.

``wp:comment_approved`` is the moderation history: ``1`` → ham, ``spam`` → spam;
``0`` (pending) and ``trash`` / ``post-trashed`` carry no label and are skipped, as are
pingbacks and trackbacks and comment types that are not readers' comments
(WooCommerce's order notes, say). Each element is dropped from the tree once read, so
memory stays that of one post's largest element however large the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import BinaryIO
from xml.etree.ElementTree import Element

from service.core.imports import ImportedComment, ImportFormatError
from service.core.imports._xml import (
    CountingReader,
    html_to_text,
    local_name,
    namespace,
    parse_time,
    xml_events,
)

__all__ = ["SOURCE", "parse_wordpress"]

SOURCE = "wordpress"
_WP_NAMESPACE = "http://wordpress.org/export/"
_LABELS = {"1": 0, "spam": 1}
_UNLABELLED = {"0": "pending", "trash": "trash", "post-trashed": "trash"}
_COMMENT_TYPES = frozenset({"", "comment", "review"})
_PINGS = frozenset({"pingback", "trackback"})


@dataclass
class _Post:
    """What is known of the ``<item>`` being read."""

    link: str = ""
    guid: str = ""
    post_id: str = ""
    waiting: list[dict[str, str]] = field(default_factory=list)

    def thread(self) -> str:
        return self.link or self.guid or (f"wordpress-post:{self.post_id}" if self.post_id else "")


@lru_cache(maxsize=256)  # an export repeats a few dozen tags; bounded for hostile ones
def _is_wp(tag: str) -> bool:
    return namespace(tag).startswith(_WP_NAMESPACE)


def parse_wordpress(source: CountingReader | BinaryIO, name: str) -> Iterator[ImportedComment]:
    """Yield the comments of a WXR export, one at a time, in file order.

    Args:
        source: The export, opened in binary mode.
        name: The file's name, for messages.

    Raises:
        ImportRefusedError: The file declares a DTD or entities.
        ImportFormatError: Not XML, malformed, not a WordPress export (a Disqus one,
            say), or no comments at all.
    """
    stack: list[Element] = []
    post: _Post | None = None
    wordpress = False
    found = 0
    for event, element in xml_events(source, name):
        if event == "start":
            if not stack:
                _check_root(element, name)
            elif len(stack) == 2 and local_name(element.tag) == "item":
                post = _Post()
            if not wordpress:
                wordpress = _is_wp(element.tag)
            stack.append(element)
            continue
        stack.pop()
        depth = len(stack)
        if depth == 3 and post is not None:  # a child of <item>
            tag = element.tag
            if _is_wp(tag) and local_name(tag) == "comment":
                fields = _fields(element)
                if post.link:
                    found += 1
                    yield _comment(fields, post.thread())
                else:  # <link> comes first in WordPress's exports; be safe if not
                    post.waiting.append(fields)
            elif tag == "link":
                post.link = (element.text or "").strip()
            elif tag == "guid":
                post.guid = (element.text or "").strip()
            elif _is_wp(tag) and local_name(tag) == "post_id":
                post.post_id = (element.text or "").strip()
            stack[-1].remove(element)
        elif depth == 2 and post is not None and local_name(element.tag) == "item":
            thread = post.thread()
            for fields in post.waiting:
                found += 1
                yield _comment(fields, thread)
            post = None
            stack[-1].remove(element)
        elif 1 <= depth <= 2:  # channel metadata (authors, terms) and the channel
            stack[-1].remove(element)
    if not wordpress:
        raise ImportFormatError(
            f"{name}: not a WordPress export: an RSS document without WordPress's export "
            "namespace (wp:)"
        )
    if not found:
        raise ImportFormatError(f"{name}: the WordPress export holds no comments")


def _check_root(root: Element, name: str) -> None:
    tag = local_name(root.tag)
    if tag == "disqus":
        raise ImportFormatError(
            f"{name}: this is a Disqus export, not a WordPress one: use `commentgate import disqus`"
        )
    if tag != "rss":
        raise ImportFormatError(
            f"{name}: not a WordPress export (WXR): the document is <{tag}>, expected <rss>"
        )


def _fields(comment: Element) -> dict[str, str]:
    """The ``wp:comment_*`` children of a ``<wp:comment>`` as {local name: text}."""
    return {local_name(child.tag): child.text or "" for child in comment if _is_wp(child.tag)}


def _comment(fields: dict[str, str], thread: str) -> ImportedComment:
    """Map one ``<wp:comment>`` to an :class:`ImportedComment`."""
    prefix = f"{SOURCE}:{hashlib.sha1(thread.encode(), usedforsecurity=False).hexdigest()}:"
    comment_id = fields.get("comment_id", "").strip()
    parent = fields.get("comment_parent", "").strip()
    approved = fields.get("comment_approved", "").strip().lower()
    kind = fields.get("comment_type", "").strip().lower()
    text = html_to_text(fields.get("comment_content", ""))
    label: int | None = None
    skipped = ""
    if kind in _PINGS:
        skipped = "pingback"
    elif kind not in _COMMENT_TYPES or not comment_id:
        skipped = "other"
    elif approved in _LABELS:
        label = _LABELS[approved]
    else:
        skipped = _UNLABELLED.get(approved, "other")
    if label is not None and not text:
        label, skipped = None, "empty"
    created = parse_time(fields.get("comment_date_gmt", ""))
    if created is None:
        created = parse_time(fields.get("comment_date", ""))
    return ImportedComment(
        key=prefix + comment_id,
        source=SOURCE,
        thread=thread,
        text=text,
        created_at=created or 0.0,
        label=label,
        skipped=skipped,
        parent_key=prefix + parent if parent not in ("", "0") else "",
        author_name=fields.get("comment_author", "").strip(),
        author_email=fields.get("comment_author_email", "").strip(),
        author_url=fields.get("comment_author_url", "").strip(),
        ip=fields.get("comment_author_IP", "").strip(),
    )
