"""Importing a site's moderation history from another comment system's export.

The parsers (:mod:`service.core.imports.wordpress`, :mod:`service.core.imports.disqus`) stream
the export and yield one :class:`ImportedComment` at a time; :mod:`service.core.imports.run`
records their labels in the site's history and, when asked, publishes the approved ones.
Nothing here imports Flask: the ``commentgate import`` command runs without the web app.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

__all__ = [
    "SKIP_KINDS",
    "ImportFormatError",
    "ImportRefusedError",
    "ImportedComment",
    "imported_comment_id",
]

#: Why a comment of an export carries no label, in the order the summary lists them.
SKIP_KINDS = ("pending", "trash", "deleted", "pingback", "empty", "other")


class ImportFormatError(ValueError):
    """The export cannot be imported: not XML, malformed, another format, no comments."""


class ImportRefusedError(ImportFormatError):
    """The export declares a DTD or entities: refused unread, as hostile input."""


@dataclass(frozen=True, slots=True)
class ImportedComment:
    """One comment read from an export.

    Attributes:
        key: Stable id across imports of the same export, e.g.
            ``wordpress:<sha1 of the post link>:<comment id>`` or ``disqus:<post id>``.
        source: ``wordpress`` or ``disqus``.
        thread: The post's or thread's link (the thread it is published in).
        text: The comment as plain text.
        created_at: Unix time of the comment (0.0 when the export has no valid date).
        label: 1 spam, 0 ham, ``None`` when the export's status is not a label.
        skipped: Why it carries no label (one of :data:`SKIP_KINDS`), ``""`` if labelled.
        parent_key: The key of the comment it replies to, ``""`` for none.
        author_name: The name the author gave.
        author_email: The author's e-mail address.
        author_url: The author's web site.
        ip: The author's IP address.
    """

    key: str
    source: str
    thread: str
    text: str
    created_at: float
    label: int | None
    skipped: str = ""
    parent_key: str = ""
    author_name: str = ""
    author_email: str = ""
    author_url: str = ""
    ip: str = ""


def imported_comment_id(key: str) -> str:
    """The comment id an imported comment is published under, derived from its key.

    The same key always gives the same id, so importing an export again finds the
    comments it published the first time instead of adding copies. The ``i`` prefix
    keeps the ids apart from intake's (22 URL-safe characters).
    """
    digest = hashlib.sha256(key.encode()).digest()[:16]
    return "i" + base64.urlsafe_b64encode(digest).decode().rstrip("=")
