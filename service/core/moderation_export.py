"""Moderators' export of every decided comment: JSON lines, or CSV safe in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from service.core.moderation import QUEUE_STATUSES, Sites, moderator_view
from service.core.store import Comment, CommentStatus, CommentStore, keys

#: First characters that make a spreadsheet read a CSV cell as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A comment, whose moderator view names the CSV's columns.
_EXAMPLE = Comment(
    id="", thread="", body="", author_name="", created_at=0.0, status=CommentStatus.HELD
)


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text, never runs as a formula.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
    leading ``'`` (OWASP's advice against CSV injection): a commenter's name such as
    ``=HYPERLINK(...)`` cannot act on the moderator's machine or leak the other rows.

    Args:
        value: A cell of a moderator's export.

    Returns:
        The value, prefixed when it is text that could start a formula.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export_decided(store: CommentStore, fmt: str, sites: Sites = None) -> Iterator[str]:
    """Every decided comment with its decision, as JSON lines or CSV text chunks.

    Only ``sites``' comments, unless ``None``.

    The CSV is for spreadsheets: text cells that a spreadsheet would run as a
    formula are neutralised (see :func:`spreadsheet_safe`). JSON lines hold the
    values exactly as stored.

    Args:
        store: The comments.
        fmt: ``csv``, or JSON lines otherwise.
        sites: The sites whose comments are exported (``None``: every site's).
    """
    columns = list(moderator_view(_EXAMPLE))
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        yield buffer.getvalue()
    for status in QUEUE_STATUSES:
        cursor: str | None = None
        while True:
            page = store.page(
                keys.status_index(status.value),
                limit=500,
                cursor=cursor,
                where=(lambda c: c.site in sites) if sites is not None else None,
            )
            for comment in page.items:
                row = moderator_view(comment)
                if fmt == "csv":
                    buffer = io.StringIO()
                    writer = csv.DictWriter(buffer, fieldnames=columns)
                    row["reasons"] = " ".join(row["reasons"])
                    writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
                    yield buffer.getvalue()
                else:
                    yield json.dumps(row, ensure_ascii=False) + "\n"
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
