"""A site's labelled history: moderators' and imported labels, kept as feature vectors.

Each site's layer (:mod:`classifier`'s ``SiteLayer``) is trained from scratch on the
site's whole labelled history at every update, so a label counts the same however and
whenever it came, and one moderator's share can be capped across all updates. The
history holds hashed feature vectors (numbers), never comment text: it survives the
comments' retention purge and an import need not store the comments at all.

Keys (per site and feature space, so that a base model with other hashing parameters
never reads vectors it cannot use)::

    cg:sites:<site>:labels:<space>        hash   key -> packed example (see _pack)
    cg:sites:<site>:labels:<space>:order  zset   key -> time of the label (oldest evicted)
    cg:sites:<site>:labels:<space>:revision  counter, moved by every write

A key is the labelled comment's stable id (its comment id, or an import's source id);
labelling it again replaces the earlier label.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import redis
import scipy.sparse as sp

from classifier import CommentInput, SpamModel
from service.core.store import keys

__all__ = [
    "MAX_EXAMPLES",
    "LabelledComment",
    "SiteHistory",
    "SiteLabels",
    "record_labels",
]

logger = logging.getLogger(__name__)

#: Labelled examples kept per site; the oldest labels are dropped beyond it.
MAX_EXAMPLES = 50_000
_HEADER = struct.Struct("<BdHI")  # label, at, len(labeller), nnz
_SCAN = 1000


@dataclass(frozen=True, slots=True)
class LabelledComment:
    """One labelled comment on its way into a site's history.

    Attributes:
        key: Stable id of the comment (comment id, or an import's source id).
        comment: What the model sees of it.
        label: 1 spam, 0 ham.
        labeller: The moderator, or the import (``import:wordpress``).
        at: Unix time of the label.
    """

    key: str
    comment: CommentInput
    label: int
    labeller: str
    at: float


@dataclass(frozen=True)
class SiteHistory:
    """A site's labelled history, ready to train on.

    Attributes:
        keys: Per example, its key.
        features: CSR matrix, one row per example.
        labels: 1 spam, 0 ham.
        labellers: Per example, who labelled it.
        at: Per example, when.
    """

    keys: list[str]
    features: Any
    labels: npt.NDArray[np.int64]
    labellers: list[str]
    at: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.keys)

    def without(self, labellers: Sequence[str]) -> SiteHistory:
        """The history less the labels of some labellers."""
        keep = np.flatnonzero(~np.isin(np.asarray(self.labellers, dtype=object), list(labellers)))
        return SiteHistory(
            keys=[self.keys[i] for i in keep],
            features=self.features[keep],
            labels=self.labels[keep],
            labellers=[self.labellers[i] for i in keep],
            at=self.at[keep],
        )


def _pack(label: int, at: float, labeller: str, indices: Any, data: Any) -> bytes:
    who = labeller.encode()[:65535]
    return b"".join(
        (
            _HEADER.pack(label, at, len(who), len(indices)),
            who,
            np.asarray(indices, dtype="<i4").tobytes(),
            np.asarray(data, dtype="<f4").tobytes(),
        )
    )


def _unpack(raw: bytes) -> tuple[int, float, str, npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    label, at, size, nnz = _HEADER.unpack_from(raw)
    start = _HEADER.size
    labeller = raw[start : start + size].decode(errors="replace")
    start += size
    indices = np.frombuffer(raw, dtype="<i4", count=nnz, offset=start)
    data = np.frombuffer(raw, dtype="<f4", count=nnz, offset=start + 4 * nnz)
    return label, at, labeller, indices, data


class SiteLabels:
    """One site's labelled history in Redis, for one feature space.

    Args:
        client: Redis.
        site: The site id.
        feature_space: :attr:`classifier.SpamModel.feature_space` of the base model.
        max_examples: Examples kept; the oldest labels are dropped beyond it.
    """

    def __init__(
        self,
        client: redis.Redis,
        site: str,
        feature_space: str,
        *,
        max_examples: int = MAX_EXAMPLES,
    ) -> None:
        self.client = client
        self.site = site
        self.feature_space = feature_space
        self.max_examples = max_examples
        self.key = keys.site_labels(site, feature_space)
        self.order_key = keys.site_labels_order(self.key)
        self.revision_key = keys.site_labels_revision(self.key)

    def add(
        self,
        keys: Sequence[str],
        features: Any,
        labels: Sequence[int],
        labellers: Sequence[str],
        at: Sequence[float],
    ) -> int:
        """Store labelled feature vectors (a label for a known key replaces it).

        Args:
            keys: Stable ids, one per row.
            features: CSR matrix of the examples' feature vectors.
            labels: 1 spam, 0 ham.
            labellers: Who labelled each.
            at: When.

        Returns:
            How many examples the history holds now.
        """
        matrix = sp.csr_matrix(features)
        if not (len(keys) == matrix.shape[0] == len(labels) == len(labellers) == len(at)):
            raise ValueError("add() needs one key, label, labeller and time per row")
        with self.client.pipeline(transaction=True) as pipe:
            for i, key in enumerate(keys):
                row = slice(matrix.indptr[i], matrix.indptr[i + 1])
                pipe.hset(
                    self.key,
                    key,
                    _pack(
                        int(labels[i]),
                        float(at[i]),
                        labellers[i],
                        matrix.indices[row],
                        matrix.data[row],
                    ),
                )
                pipe.zadd(self.order_key, {key: float(at[i])})
            pipe.incr(self.revision_key)
            pipe.zcard(self.order_key)
            size = int(pipe.execute()[-1])
        if size > self.max_examples:
            self._evict(size - self.max_examples)
            size = self.max_examples
        return size

    def _evict(self, count: int) -> None:
        oldest = cast(list[bytes], self.client.zrange(self.order_key, 0, count - 1))
        if oldest:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.hdel(self.key, *oldest)
                pipe.zrem(self.order_key, *oldest)
                pipe.execute()
            logger.info(
                "site %s history full: dropped the %s oldest labels", self.site, len(oldest)
            )

    def revision(self) -> int:
        """A counter that moves with every change of the history (0: never written)."""
        return int(cast(bytes | None, self.client.get(self.revision_key)) or 0)

    def __len__(self) -> int:
        return int(self.client.hlen(self.key))

    def _rows(self) -> Iterator[tuple[bytes, bytes]]:
        cursor = 0
        while True:
            cursor, chunk = cast(
                tuple[int, dict[bytes, bytes]],
                self.client.hscan(self.key, cursor=cursor, count=_SCAN),
            )
            yield from chunk.items()
            if cursor == 0:
                return

    def load(self, n_features: int) -> SiteHistory:
        """The whole history, in a fixed order (by key), as a CSR matrix.

        Args:
            n_features: Width of the feature space (the model's feature count).
        """
        rows = sorted(self._rows())
        keys, labels, labellers, at = [], [], [], []
        indptr = [0]
        indices: list[npt.NDArray[np.int32]] = []
        data: list[npt.NDArray[np.float32]] = []
        for key, raw in rows:
            label, when, who, idx, values = _unpack(raw)
            keys.append(key.decode())
            labels.append(label)
            labellers.append(who)
            at.append(when)
            indices.append(idx)
            data.append(values)
            indptr.append(indptr[-1] + len(idx))
        matrix = sp.csr_matrix(
            (
                np.concatenate(data).astype(np.float64) if data else np.zeros(0),
                np.concatenate(indices) if indices else np.zeros(0, dtype=np.int32),
                np.asarray(indptr),
            ),
            shape=(len(keys), n_features),
        )
        return SiteHistory(
            keys=keys,
            features=matrix,
            labels=np.asarray(labels, dtype=np.int64),
            labellers=labellers,
            at=np.asarray(at, dtype=np.float64),
        )


def record_labels(
    client: redis.Redis, site: str, examples: Sequence[LabelledComment], model: SpamModel
) -> int:
    """Vectorise labelled comments with the model's features and add them to the history.

    Args:
        client: Redis.
        site: The site id.
        examples: The labelled comments.
        model: The base model (its feature space).

    Returns:
        How many examples the site's history holds now.
    """
    history = SiteLabels(client, site, model.feature_space)
    if not examples:
        return len(history)
    return history.add(
        [e.key for e in examples],
        model.features([e.comment for e in examples]),
        [e.label for e in examples],
        [e.labeller for e in examples],
        [e.at for e in examples],
    )
