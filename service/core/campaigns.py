"""Campaign memory on Redis: the signatures of comments moderators labelled, per site.

When a moderator marks a comment as spam (or approves it), its MinHash signature
(:func:`classifier.campaign_signature`) is appended to the site's stream
``cg:sites:<site>:campaigns`` in the same atomic step as the decision (the ``MODERATE``
script; :func:`record_signatures` computes what it writes). Each entry holds ``key``
(the comment id), ``label`` (``spam`` or ``ham``), ``moderator`` and ``sig`` (the
signature's bytes). Workers keep a :class:`CampaignMemory`: an in-memory
:class:`classifier.CampaignIndex` brought up to date by :meth:`CampaignMemory.refresh`,
which reads only the entries it has not seen, so reworded copies of a campaign a
moderator just marked are recognised at once, before any retraining.

The signature code (numpy and datasketch, which imports scikit-learn) is imported by
:func:`warm_up`, which the web app calls at start-up, so the first moderator's click does
not wait seconds for it; the workers import it with the classifier anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import redis

from service.core.store import keys
from service.core.store.keys import DEFAULT_SITE

if TYPE_CHECKING:
    from classifier import CampaignIndex, CampaignMatch

logger = logging.getLogger(__name__)

#: Most entries a site's campaign stream keeps (approximate trimming): about 0.6 kB each.
STREAM_MAXLEN = 20_000
#: Entries read per XRANGE when catching up (a fresh memory reads the whole stream).
_PAGE = 5_000
_LABELS = {"spam": 1, "ham": 0}


def warm_up() -> None:
    """Import the signature code now (a few seconds, once per process)."""
    from classifier import campaign_signatures

    campaign_signatures(["warm up the campaign signature code"])


def record_signatures(bodies: Sequence[str], label: str) -> list[bytes]:
    """What a moderation writes to the campaign stream: one signature per comment.

    ``Moderation.act`` passes the result to the ``MODERATE`` script, which appends the
    non-empty ones to the site's campaign stream in the same atomic step as the decision.

    Args:
        bodies: The comments' texts, in the order of the decision.
        label: The label the decision teaches (``spam``, ``ham``, or ``''`` for none).

    Returns:
        Per comment, its signature's bytes, or ``b""`` when the decision teaches no label
        or the comment is too short to have a signature.
    """
    if label not in _LABELS:
        return [b""] * len(bodies)
    from classifier import campaign_signatures, signature_bytes

    signatures = campaign_signatures(bodies)
    return [b"" if sig is None else signature_bytes(sig) for sig in signatures]


class CampaignMemory:
    """A site's labelled signatures, in memory, kept up to date from Redis.

    Args:
        client: A Redis client (``decode_responses=False``).
        site: The site whose stream to follow.
        index: The index to fill (default: a new :class:`classifier.CampaignIndex`).
    """

    def __init__(
        self, client: redis.Redis, site: str = DEFAULT_SITE, index: CampaignIndex | None = None
    ) -> None:
        from classifier import CampaignIndex

        self.client = client
        self.site = site
        self.stream = keys.campaigns(site)
        self.index = index if index is not None else CampaignIndex()
        self._last_id: str | None = None

    def __len__(self) -> int:
        return len(self.index)

    def refresh(self) -> int:
        """Apply the entries added since the last refresh, in order.

        One ``XRANGE`` round trip when fewer than a page are new (the steady state).

        Returns:
            How many entries were read.
        """
        from classifier import signature_from_bytes

        read = 0
        while True:
            low = "-" if self._last_id is None else f"({self._last_id}"
            rows = cast(
                list[tuple[bytes, dict[bytes, bytes]]],
                self.client.xrange(self.stream, min=low, max="+", count=_PAGE),
            )
            for entry_id, fields in rows:
                label = _LABELS.get(fields.get(b"label", b"").decode())
                signature = signature_from_bytes(fields.get(b"sig", b""))
                key = fields.get(b"key", b"").decode()
                if label is None or signature is None or not key:
                    logger.warning("skipping malformed campaign entry %s", entry_id.decode())
                    continue
                self.index.add(key, signature, label)
            read += len(rows)
            if rows:
                self._last_id = rows[-1][0].decode()
            if len(rows) < _PAGE:
                return read

    def match_many(self, texts: Sequence[str]) -> list[CampaignMatch | None]:
        """Per text, the remembered spam it is a near-duplicate of, if any.

        Args:
            texts: The comments' raw texts.

        Returns:
            Per text, a :class:`classifier.CampaignMatch` (check ``conflict`` before
            filing as spam) or ``None``.
        """
        if not self.index.spam_count:
            return [None] * len(texts)
        from classifier import campaign_signatures

        return [self.index.match(sig) for sig in campaign_signatures(texts)]
