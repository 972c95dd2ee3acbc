"""Record an export's comments as a site's labelled history, in batches.

Each batch of labelled comments goes to :func:`service.core.site_labels.record_labels` (keys
are stable, so a label recorded again replaces itself) and, with ``publish``, its ham
comments to :meth:`CommentStore.import_published` (ids derived from the keys, existing
ones left alone). Importing the same export twice therefore changes nothing.

A parse error in the middle of a file stops the import: the batches already recorded
stay (they are whole and valid), the comments read since the last batch are dropped,
and :attr:`Importer.stats` says how far it got. Fixing the file and importing it again
completes the history without duplicates.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

import redis

from service.core.imports import SKIP_KINDS, ImportedComment, imported_comment_id
from service.core.store import Comment, CommentStatus, CommentStore

if TYPE_CHECKING:  # imported when the first batch is recorded: scikit-learn takes seconds,
    # and an export refused at its first line, or a dry run, should not wait for it
    from classifier import SpamModel
    from service.core.site_labels import LabelledComment

__all__ = ["BATCH_SIZE", "ImportStats", "Importer", "RecordLabels"]

logger = logging.getLogger(__name__)

#: Labelled comments recorded per call (and per atomic publish).
BATCH_SIZE = 2000
#: ``record_labels``' signature, so tests and benchmarks can observe the calls.
RecordLabels: TypeAlias = "Callable[[redis.Redis, str, Sequence[LabelledComment], SpamModel], int]"


@dataclass
class ImportStats:
    """Counts of one import so far.

    Attributes:
        read: Comments read from the export.
        ham: Labelled ham, recorded.
        spam: Labelled spam, recorded.
        skipped: Comments without a label, by kind (see :data:`SKIP_KINDS`).
        published: Comments published by this run (not those published before).
        batches: Batches recorded.
        pending: Labelled comments read but not yet recorded.
        history: Labelled examples the site's history holds after the last batch.
    """

    read: int = 0
    ham: int = 0
    spam: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    published: int = 0
    batches: int = 0
    pending: int = 0
    history: int = 0

    def summary(self, site: str) -> str:
        """One line: read / ham / spam / skipped (by kind) / published / batches, site."""
        kinds = ", ".join(
            f"{kind} {self.skipped[kind]}" for kind in SKIP_KINDS if self.skipped[kind]
        )
        skipped = sum(self.skipped.values())
        return (
            f"read {self.read}, ham {self.ham}, spam {self.spam}, "
            f"skipped {skipped}{f' ({kinds})' if kinds else ''}, "
            f"published {self.published}, batches {self.batches}, site {site}"
        )


class Importer:
    """Records the labelled comments of one export in a site's history.

    Args:
        client: Redis.
        site: The site whose history receives the labels.
        model: Returns the base model (``record_labels`` turns comments into its
            features); called once, at the first batch, so that a file refused at
            its first line costs no model load.
        labeller: Who the labels are from, e.g. ``import:wordpress``.
        publish: Also publish the ham comments into their threads.
        batch_size: Labelled comments per batch.
        record: The function that records labels (default ``record_labels``).
        dry_run: Read and count only; write nothing.
    """

    def __init__(
        self,
        client: redis.Redis | None,
        *,
        site: str,
        model: Callable[[], SpamModel] | None,
        labeller: str,
        publish: bool = False,
        batch_size: int = BATCH_SIZE,
        record: RecordLabels | None = None,
        dry_run: bool = False,
    ) -> None:
        if not dry_run and (client is None or model is None):
            raise ValueError("an import that writes needs Redis and a model")
        self.client = client
        self.site = site
        self._load_model = model
        self._model: SpamModel | None = None
        self.labeller = labeller
        self.publish = publish
        self.batch_size = batch_size
        self.record = record
        self.dry_run = dry_run
        self.stats = ImportStats()
        self._batch: list[ImportedComment] = []
        self._store = CommentStore(client) if client is not None else None

    def run(
        self,
        comments: Iterable[ImportedComment],
        progress: Callable[[ImportStats], None] | None = None,
    ) -> ImportStats:
        """Read every comment, recording labelled ones batch by batch.

        Args:
            comments: The parser's comments.
            progress: Called after each comment read.

        Returns:
            The final counts.

        Raises:
            ImportFormatError: From the parser; recorded batches stay, see the module.
            redis.RedisError: Redis failed; likewise.
        """
        for comment in comments:
            self.stats.read += 1
            if comment.label is None:
                self.stats.skipped[comment.skipped or "other"] += 1
            else:
                self._batch.append(comment)
                self.stats.pending = len(self._batch)
                if len(self._batch) >= self.batch_size:
                    self.flush()
            if progress is not None:
                progress(self.stats)
        self.flush()
        return self.stats

    def flush(self) -> None:
        """Record the batch read so far (and publish its ham comments)."""
        batch, self._batch = self._batch, []
        self.stats.pending = 0
        if not batch:
            return
        if not self.dry_run:
            assert self.client is not None
            assert self._load_model is not None
            assert self._store is not None
            if self._model is None:
                self._model = self._load_model()
            if self.record is None:
                from service.core.site_labels import record_labels

                self.record = record_labels
            examples = [self._labelled(c) for c in batch]
            self.stats.history = self.record(self.client, self.site, examples, self._model)
            if self.publish:
                now = time.time()
                ham = [_published(c, now, self.site) for c in batch if c.label == 0]
                self.stats.published += self._store.import_published(ham)
        self.stats.spam += sum(1 for c in batch if c.label == 1)
        self.stats.ham += sum(1 for c in batch if c.label == 0)
        self.stats.batches += 1
        logger.info(
            "import batch %d recorded: %d labels for site %s",
            self.stats.batches,
            len(batch),
            self.site,
        )

    def _labelled(self, comment: ImportedComment) -> LabelledComment:
        from classifier import CommentInput
        from service.core.site_labels import LabelledComment

        assert comment.label is not None
        return LabelledComment(
            key=comment.key,
            comment=CommentInput(
                text=comment.text,
                author_name=comment.author_name or None,
                author_url=comment.author_url or None,
                author_email=comment.author_email or None,
            ),
            label=comment.label,
            labeller=self.labeller,
            at=comment.created_at,
        )


def _published(comment: ImportedComment, now: float, site: str) -> Comment:
    """The published comment of ``site`` an imported ham comment becomes."""
    return Comment(
        id=imported_comment_id(comment.key),
        thread=comment.thread,
        body=comment.text,
        author_name=comment.author_name,
        author_email=comment.author_email,
        author_url=comment.author_url,
        ip=comment.ip,
        created_at=comment.created_at,
        status=CommentStatus.PUBLISHED,
        parent_id=imported_comment_id(comment.parent_key) if comment.parent_key else "",
        reasons=["imported"],
        decided_at=now,
        site=site,
    )
