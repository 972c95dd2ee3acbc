"""The moderators' audit log: who decided what, when, from which status to which.

Every decision writes its entries in the step that makes it (the ``MODERATE`` script
that :meth:`service.core.moderation.Moderation.act` runs); :func:`audit_page` reads
them back, newest first, a page at a time.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import cast

import redis

from service.core.moderation import Sites
from service.core.store import keys


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit log."""

    id: str
    at: float
    moderator: str
    comment_id: str
    action: str
    previous: str
    current: str


def audit_page(
    client: redis.Redis, *, limit: int, cursor: str | None = None, sites: Sites = None
) -> tuple[list[AuditEntry], str | None]:
    """The audit log, newest first; returns the entries and the next cursor.

    Args:
        client: The Redis holding the log.
        limit: Entries per page.
        cursor: From the previous page.
        sites: Only decisions on these sites' comments (``None``: all).
    """
    if sites is None:
        maximum = f"({cursor}" if cursor else "+"
        rows = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            client.xrevrange(keys.AUDIT, max=maximum, min="-", count=limit + 1),
        )
    else:
        rows = _entries_of(client, sites, limit, cursor)
    entries = []
    for entry_id, fields in rows[:limit]:
        f = {k.decode(): v.decode() for k, v in fields.items()}
        entries.append(
            AuditEntry(
                id=entry_id.decode(),
                at=float(f["at"]),
                moderator=f["moderator"],
                comment_id=f["comment_id"],
                action=f["action"],
                previous=f["from"],
                current=f["to"],
            )
        )
    next_cursor = entries[-1].id if len(rows) > limit and entries else None
    return entries, next_cursor


def _entries_of(
    client: redis.Redis, sites: Collection[str], limit: int, cursor: str | None
) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """Up to ``limit + 1`` audit entries about ``sites``' comments, newest first."""
    wanted = {site.encode() for site in sites}
    found: list[tuple[bytes, dict[bytes, bytes]]] = []
    maximum = f"({cursor}" if cursor else "+"
    while wanted and len(found) <= limit:
        rows = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            client.xrevrange(keys.AUDIT, max=maximum, min="-", count=500),
        )
        if not rows:
            break
        # Entries written before sites name none: they are the default site's.
        found += [r for r in rows if r[1].get(b"site", b"default") in wanted]
        maximum = f"({rows[-1][0].decode()}"
    return found
