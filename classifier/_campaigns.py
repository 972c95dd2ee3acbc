"""Campaign memory: near-duplicates of comments moderators marked as spam (MinHash LSH).

A spam campaign posts the same message many times, reworded a little each time. Once a
moderator marks one copy as spam, :class:`CampaignIndex` recognises the others at once,
before any retraining: each comment becomes a MinHash signature of its word shingles,
and a comment whose estimated Jaccard similarity to a marked one reaches
:data:`MATCH_THRESHOLD` matches it.

* **Signature** (:func:`campaign_signature`): the normalised, lower-cased text
  (:func:`~classifier.normalise_text`) split into words, the set of its
  :data:`SHINGLE_WORDS`-word shingles, hashed with CRC-32 (datasketch's ``affine32``
  scheme mixes each input hash with the MurmurHash3 finaliser before permuting it) into
  :data:`NUM_PERM` minimum hash values. Fixed seed and hash, so a signature is the same
  in every process and release: it is stored in Redis as :func:`signature_bytes`.
  A text with fewer than :data:`MIN_SHINGLES` distinct shingles has no signature:
  short comments ("thanks!", "I love this song") are alike by nature, not by campaign.
* **Index** (:class:`CampaignIndex`): a ``datasketch.MinHashLSH`` finds candidates; the
  similarity is then estimated from the signatures themselves (share of equal values),
  so the threshold is exact with respect to the estimate, not the LSH's banding. The
  latest label of a key wins; a ham-labelled near-duplicate flags the match as a
  conflict (the caller must not file it as spam).

The constants were chosen on the YouTube Spam Collection (see ``docs/classifier.md``
and ``benchmarks/campaign_memory.py``): matched ham stays at zero on the training videos.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from datasketch import MinHash, MinHashLSH

from classifier._features import CommentInput
from classifier._normalise import normalise_text

__all__ = [
    "CAPACITY",
    "MATCH_THRESHOLD",
    "MIN_SHINGLES",
    "NUM_PERM",
    "SHINGLE_WORDS",
    "CampaignIndex",
    "CampaignMatch",
    "Signature",
    "campaign_curve",
    "campaign_signature",
    "campaign_signatures",
    "signature_bytes",
    "signature_from_bytes",
]

#: MinHash permutations per signature (4 bytes each).
NUM_PERM = 128
#: Seed of the permutations: changing it (or any constant here) invalidates stored signatures.
SEED = 20140
#: Words per shingle.
SHINGLE_WORDS = 2
#: Fewest distinct shingles a text needs to have a signature at all.
MIN_SHINGLES = 4
#: Estimated Jaccard similarity from which a comment matches a remembered one.
MATCH_THRESHOLD = 0.5
#: LSH banding (bands, rows per band) over the first 32 values: a pair of similarity
#: 0.5 is a candidate with probability 1 - (1 - 0.5**2) ** 16 = 0.99 (0.45: 0.97).
LSH_PARAMS = (16, 2)
#: Keys a :class:`CampaignIndex` keeps by default: about 5.4 kB each in memory (the
#: LSH's buckets are most of it), so 20,000 take about 110 MB.
CAPACITY = 20_000
#: Stored signatures: one little-endian uint32 per permutation.
SIGNATURE_DTYPE = np.dtype("<u4")

Signature = npt.NDArray[np.uint32]

_WORD_RE = re.compile(r"\w+")
_SCHEME = "affine32"
_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=_SCHEME).permutations
#: Texts whose shingles are permuted in one array by :func:`campaign_signatures`.
_CHUNK = 64


def _shingles(text: str) -> set[bytes]:
    words = _WORD_RE.findall(normalise_text(text).lower())
    if SHINGLE_WORDS == 2:  # the size in use, without the general case's slices
        return {f"{a} {b}".encode() for a, b in itertools.pairwise(words)}
    grams = zip(*(words[i:] for i in range(SHINGLE_WORDS)), strict=False)
    return {" ".join(gram).encode() for gram in grams}


def campaign_signature(text: str) -> Signature | None:
    """The MinHash signature of a comment, or ``None`` when it is too short to compare.

    Args:
        text: The raw comment text.

    Returns:
        :data:`NUM_PERM` uint32 values, or ``None`` for fewer than :data:`MIN_SHINGLES`
        distinct word shingles.
    """
    shingles = _shingles(text)
    if len(shingles) < MIN_SHINGLES:
        return None
    minhash = MinHash(
        num_perm=NUM_PERM,
        seed=SEED,
        hashfunc=zlib.crc32,
        permutations=_PERMUTATIONS,
        scheme=_SCHEME,
    )
    minhash.update_batch(shingles)
    values: Signature = minhash.hashvalues
    return values


def campaign_signatures(texts: Sequence[str]) -> list[Signature | None]:
    """:func:`campaign_signature` of many texts at once (the same values, computed faster).

    The shingles' hashes of a whole chunk of texts go through datasketch's ``affine32``
    permutations (``a * fmix32(h) + b`` modulo 2**32) in one numpy operation, and each
    text's minima are taken with one ``minimum.reduceat``, instead of one ``MinHash``
    per text; ``tests/classifier/test_campaigns.py`` checks the values are identical.

    Args:
        texts: Raw comment texts.

    Returns:
        Per text, its signature or ``None``.
    """
    out: list[Signature | None] = [None] * len(texts)
    kept = [
        (i, s)
        for i, s in ((i, _shingles(t)) for i, t in enumerate(texts))
        if len(s) >= MIN_SHINGLES
    ]
    a, b = _PERMUTATIONS
    for start in range(0, len(kept), _CHUNK):
        chunk = kept[start : start + _CHUNK]
        counts = [len(s) for _, s in chunk]
        hashes = np.fromiter(
            (zlib.crc32(shingle) for _, s in chunk for shingle in s),
            dtype=np.uint32,
            count=sum(counts),
        )
        permuted = np.multiply(_fmix32(hashes)[:, None], a)  # wraps modulo 2**32
        permuted += b
        offsets = np.cumsum([0, *counts[:-1]])
        minima = np.minimum.reduceat(permuted, offsets, axis=0)
        for (i, _), row in zip(chunk, minima, strict=True):
            out[i] = row
    return out


def _fmix32(h: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    """The MurmurHash3 32-bit finaliser (what datasketch's ``affine32`` applies first)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def signature_bytes(signature: Signature) -> bytes:
    """A signature as bytes (little-endian uint32), for storage."""
    return np.asarray(signature, dtype=SIGNATURE_DTYPE).tobytes()


def signature_from_bytes(data: bytes) -> Signature | None:
    """The signature stored by :func:`signature_bytes`; ``None`` when the size is wrong."""
    if len(data) != NUM_PERM * SIGNATURE_DTYPE.itemsize:
        return None
    return np.frombuffer(data, dtype=SIGNATURE_DTYPE).astype(np.uint32)


@dataclass(frozen=True, slots=True)
class CampaignMatch:
    """The best remembered spam a comment resembles.

    Attributes:
        key: The remembered comment's key (its id).
        similarity: Estimated Jaccard similarity of the two comments' shingles.
        conflict: A comment labelled ham resembles it too (at or above the threshold):
            moderators disagree, so the caller must not file it as spam.
    """

    key: str
    similarity: float
    conflict: bool


class CampaignIndex:
    """Labelled signatures in memory, queried for near-duplicates of spam.

    Args:
        threshold: Estimated Jaccard similarity from which a signature matches.
        capacity: Most keys kept; beyond it the least recently labelled is forgotten.
    """

    def __init__(self, threshold: float = MATCH_THRESHOLD, capacity: int = CAPACITY) -> None:
        self.threshold = threshold
        self.capacity = capacity
        self._lsh = MinHashLSH(num_perm=NUM_PERM, params=LSH_PARAMS)
        self._rows: dict[str, int] = {}  # key -> row, oldest label first
        self._free: list[int] = []
        self._signatures = np.zeros((16, NUM_PERM), dtype=np.uint32)
        self._spam = np.zeros(16, dtype=bool)
        self._spam_count = 0

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def spam_count(self) -> int:
        """How many of the keys are labelled spam (nothing can match while it is 0)."""
        return self._spam_count

    def add(self, key: str, signature: Signature, label: int) -> None:
        """Remember a labelled signature; a key labelled again keeps only its latest label.

        Args:
            key: The comment's id.
            signature: Its :func:`campaign_signature`.
            label: 1 for spam, 0 for ham.
        """
        self._forget(key)
        while len(self._rows) >= self.capacity:
            self._forget(next(iter(self._rows)))
        row = self._free.pop() if self._free else len(self._rows)
        if row >= len(self._signatures):
            grow = len(self._signatures)
            self._signatures = np.concatenate([self._signatures, np.zeros_like(self._signatures)])
            self._spam = np.concatenate([self._spam, np.zeros(grow, dtype=bool)])
        self._signatures[row] = signature
        self._spam[row] = bool(label)
        self._spam_count += bool(label)
        self._rows[key] = row
        self._lsh.insert(key, _Sketch(signature), check_duplication=False)

    def _forget(self, key: str) -> None:
        row = self._rows.pop(key, None)
        if row is not None:
            self._lsh.remove(key)
            self._free.append(row)
            self._spam_count -= bool(self._spam[row])

    def match(self, signature: Signature | None) -> CampaignMatch | None:
        """The most similar remembered spam at or above the threshold, if any.

        Args:
            signature: A :func:`campaign_signature` (``None`` never matches).

        Returns:
            The match (between equally similar ones, the smallest key), or ``None``.
        """
        if signature is None or not self._spam_count:
            return None
        candidates = self._lsh.query(_Sketch(signature))
        if not candidates:
            return None
        rows = np.fromiter((self._rows[k] for k in candidates), dtype=np.int64)
        similarity = (self._signatures[rows] == signature).mean(axis=1)
        similar = similarity >= self.threshold
        spam = similar & self._spam[rows]
        if not spam.any():
            return None
        best = min(np.flatnonzero(spam), key=lambda i: (-similarity[i], candidates[i]))
        conflict = bool((similar & ~self._spam[rows]).any())
        return CampaignMatch(str(candidates[best]), float(similarity[best]), conflict)


class _Sketch:
    """What ``MinHashLSH`` reads of a MinHash (a ``LeanMinHash`` without its checks)."""

    __slots__ = ("hashvalues",)
    scheme = _SCHEME
    seed = SEED

    def __init__(self, hashvalues: Signature) -> None:
        self.hashvalues = hashvalues

    def __len__(self) -> int:
        return len(self.hashvalues)


def campaign_curve(
    comments: Sequence[str | CommentInput],
    labels: Sequence[int] | npt.NDArray[np.int64],
    marked_counts: Sequence[int] = (10, 25, 50, 100),
    seed: int = 0,
) -> list[dict[str, float]]:
    """What campaign memory catches after a moderator marks the first spam of a stream.

    The comments are shuffled (``seed``) into a stream; for each ``n`` the first ``n``
    spam are marked, and every other comment (spam and ham, before or after them in the
    stream) is matched against them. No ham is labelled, so ham matches are the worst case.

    Args:
        comments: Comment texts (or :class:`CommentInput`).
        labels: 1 for spam, 0 for ham.
        marked_counts: How many spam the moderator marks; counts beyond the spam
            available are skipped.
        seed: Seed of the shuffle.

    Returns:
        Per count: ``marked``, ``spam_caught`` and ``ham_matched`` (shares of the other
        spam and of the ham that match), their counts ``spam_caught_n`` and
        ``ham_matched_n``, and the totals ``spam_total`` and ``ham_total``.
    """
    texts = [c if isinstance(c, str) else c.text for c in comments]
    y = np.asarray(labels, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(texts))
    signatures = campaign_signatures([texts[i] for i in order])
    stream_spam = [p for p, i in enumerate(order) if y[i] == 1]
    out: list[dict[str, float]] = []
    for n in marked_counts:
        if n > len(stream_spam):
            continue
        index = CampaignIndex()
        marked = set(stream_spam[:n])
        for p in marked:
            sig = signatures[p]
            if sig is not None:
                index.add(str(p), sig, 1)
        caught = {0: 0, 1: 0}
        totals = {0: 0, 1: 0}
        for p, i in enumerate(order):
            if p in marked:
                continue
            label = int(y[i])
            totals[label] += 1
            found = index.match(signatures[p])
            if found is not None and not found.conflict:
                caught[label] += 1
        out.append(
            {
                "marked": n,
                "spam_caught": caught[1] / max(totals[1], 1),
                "ham_matched": caught[0] / max(totals[0], 1),
                "spam_caught_n": caught[1],
                "ham_matched_n": caught[0],
                "spam_total": totals[1],
                "ham_total": totals[0],
            }
        )
    return out
