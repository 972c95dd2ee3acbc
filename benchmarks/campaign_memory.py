"""Campaign memory (near-duplicates of moderator-marked spam): its cost and what it catches.

Run: ``.venv/bin/python benchmarks/campaign_memory.py [--data-dir DIR] [--remembered 10000]
[--batch 500] [--rounds 5]``

Prints:

* the signature's cost per comment (CPU time, median of ``--rounds``), one by one
  (``campaign_signature``, as moderation computes it) and in a batch
  (``campaign_signatures``, as ``CampaignMemory.match_many`` does): on synthetic comments of
  about 30 words and, when the YouTube Spam Collection is present, on its comments;
* the cost of matching a batch of ``--batch`` comments (signatures included, as
  ``CampaignMemory.match_many`` does; one in ten a copy of a remembered comment) against
  ``--remembered`` labelled signatures (synthetic comments, half spam, half ham), the
  index's memory, and ``CampaignMemory.refresh`` on the benchmark Redis database: the
  first (reading the whole stream) and the next with nothing new (one round trip);
* per video of the YouTube Spam Collection, held out: the campaign curve
  (:func:`classifier.campaign_curve`: a moderator marks the first 10, 25, 50, 100 spam
  of the video's shuffled comments; the share of its other spam caught and of its ham
  wrongly matched), and the catch when every spam of the other four videos is marked,
  each beside "no campaign memory" (nothing caught before retraining).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks._comments import synthetic_body
from benchmarks._common import fresh_redis, report
from classifier import (
    CampaignIndex,
    CampaignMatch,
    campaign_curve,
    campaign_signature,
    campaign_signatures,
    signature_bytes,
)
from classifier._campaigns import MATCH_THRESHOLD, MIN_SHINGLES, NUM_PERM, SHINGLE_WORDS
from classifier._data import LabelledData, read_labelled
from service.core.campaigns import CampaignMemory
from service.core.store import keys

DEFAULT_DATA_DIR = (
    Path(__file__).resolve().parent.parent.parent / "shared/datasets/youtube-spam-collection"
)
MARKED = (10, 25, 50, 100)


def median_seconds(run: Callable[[], object], rounds: int) -> float:
    """Median CPU time of this process over ``rounds`` calls (steadier than wall time
    on a shared machine; everything timed here is single-threaded CPU work)."""
    times = []
    for _ in range(rounds):
        started = time.process_time()
        run()
        times.append(time.process_time() - started)
    return statistics.median(times)


def median_wall(run: Callable[[], object], rounds: int) -> float:
    """Median wall time of ``rounds`` calls (for what waits on Redis)."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def thirty_words(rng: random.Random, n: int) -> list[str]:
    """Synthetic comments of 28 to 32 words (joined synthetic bodies, cut)."""
    out = []
    for _ in range(n):
        words: list[str] = []
        while len(words) < 32:
            words += synthetic_body(rng).split()
        out.append(" ".join(words[: rng.randint(28, 32)]))
    return out


def signature_rows(texts: Sequence[str], what: str, rounds: int) -> list[tuple[str, ...]]:
    one = median_seconds(lambda: [campaign_signature(t) for t in texts], rounds)
    batch = median_seconds(lambda: campaign_signatures(texts), rounds)
    rows = []
    for how, seconds in (("one by one", one), ("in a batch", batch)):
        per = seconds / len(texts) * 1e6
        verdict = "ok" if per < 100 else "over target"
        rows.append((f"signature {how}, {what}", f"{per:.1f} us/comment", "< 100 us", verdict))
    return rows


def match_rows(
    remembered: int, batch: Sequence[str], rounds: int, seed: int
) -> list[tuple[str, ...]]:
    rng = random.Random(seed)
    bodies = [
        synthetic_body(rng) + f" order {i} code {rng.randrange(10**6)}" for i in range(remembered)
    ]
    signatures = campaign_signatures(bodies)
    tracemalloc.start()
    index = CampaignIndex(capacity=max(remembered, 1))
    for i, sig in enumerate(signatures):
        if sig is not None:
            index.add(f"c{i}", sig, i % 2)
    memory_mb = tracemalloc.get_traced_memory()[0] / 1e6
    tracemalloc.stop()
    # One comment in ten is a copy of a remembered one, with a word added.
    batch = [
        f"{bodies[rng.randrange(remembered)]} now" if i % 10 == 0 else text
        for i, text in enumerate(batch)
    ]

    def match_batch() -> list[CampaignMatch | None]:
        return [index.match(s) for s in campaign_signatures(batch)]

    batch_sigs = campaign_signatures(batch)
    full = median_seconds(match_batch, rounds)
    lookups = median_seconds(lambda: [index.match(s) for s in batch_sigs], rounds)
    found = sum(m is not None for m in match_batch())
    return [
        (
            f"match a batch of {len(batch)}, {len(index)} remembered",
            f"{full * 1e3:.1f} ms ({full / len(batch) * 1e6:.0f} us/comment)",
            "signatures included",
            f"{found} matched",
        ),
        ("  of which index look-ups", f"{lookups * 1e3:.1f} ms", "", ""),
        (f"index memory, {len(index)} signatures", f"{memory_mb:.0f} MB", "", ""),
    ]


def refresh_rows(remembered: int, seed: int) -> list[tuple[str, ...]]:
    client = fresh_redis()
    stream = keys.campaigns("bench")
    rng = random.Random(seed)
    with client.pipeline(transaction=False) as pipe:
        for i in range(remembered):
            sig = campaign_signature(
                synthetic_body(rng) + f" order {i} code {rng.randrange(10**6)}"
            )
            if sig is not None:
                fields = {
                    "key": f"c{i}",
                    "label": "spam",
                    "moderator": "m",
                    "sig": signature_bytes(sig),
                }
                pipe.xadd(stream, fields)  # type: ignore[arg-type]
        pipe.execute()
    memory = CampaignMemory(client, "bench")
    started = time.process_time()
    read = memory.refresh()
    first = time.process_time() - started
    idle = median_wall(memory.refresh, 50)
    client.flushdb()
    return [
        (f"refresh, first ({read} entries)", f"{first * 1e3:.0f} ms CPU", "", ""),
        ("refresh, nothing new", f"{idle * 1e6:.0f} us wall", "one XRANGE round trip", ""),
    ]


def video_rows(data: LabelledData, seed: int) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    texts = [c.text for c in data.comments]
    signatures = campaign_signatures(texts)
    for video, source in enumerate(data.sources):
        name = Path(source).stem
        mask = data.groups == video
        held = [t for t, m in zip(texts, mask, strict=True) if m]
        for row in campaign_curve(held, data.labels[mask], MARKED, seed=seed):
            rows.append(
                (
                    f"{name}: {row['marked']} of its spam marked",
                    f"caught {row['spam_caught']:.1%} of spam ({row['spam_caught_n']:.0f}/"
                    f"{row['spam_total']:.0f}), ham {row['ham_matched']:.1%} "
                    f"({row['ham_matched_n']:.0f}/{row['ham_total']:.0f})",
                    "no memory: 0% caught",
                    "ok" if row["ham_matched_n"] == 0 else "HAM MATCHED",
                )
            )
        index = CampaignIndex()
        for i in np.flatnonzero((data.groups != video) & (data.labels == 1)):
            sig = signatures[i]
            if sig is not None:
                index.add(str(i), sig, 1)
        hits = np.array([index.match(signatures[i]) is not None for i in np.flatnonzero(mask)])
        y = data.labels[mask]
        rows.append(
            (
                f"{name}: other videos' spam marked ({len(index)})",
                f"caught {hits[y == 1].mean():.1%} of spam ({hits[y == 1].sum()}/"
                f"{(y == 1).sum()}), ham {hits[y == 0].mean():.1%} "
                f"({hits[y == 0].sum()}/{(y == 0).sum()})",
                "no memory: 0% caught",
                "ok" if hits[y == 0].sum() == 0 else "HAM MATCHED",
            )
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--remembered", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(
        f"campaign memory: {SHINGLE_WORDS}-word shingles, at least {MIN_SHINGLES} distinct, "
        f"{NUM_PERM} permutations, match from estimated Jaccard {MATCH_THRESHOLD}"
    )
    rng = random.Random(args.seed)
    synthetic = thirty_words(rng, 2000)
    files = sorted(args.data_dir.glob("*.csv")) if args.data_dir.is_dir() else []
    data = read_labelled(files) if files else None
    rows = signature_rows(synthetic, "synthetic ~30 words", args.rounds)
    batch = synthetic[: args.batch]
    if data is not None:
        texts = [c.text for c in data.comments]
        rows += signature_rows(
            texts,
            f"YouTube (median {np.median([len(t.split()) for t in texts]):.0f} words)",
            args.rounds,
        )
        thirty = [t for t in texts if 25 <= len(t.split()) <= 35]
        rows += signature_rows(thirty, f"YouTube 25-35 words ({len(thirty)})", args.rounds)
        batch = random.Random(args.seed).sample(texts, min(args.batch, len(texts)))
    rows += match_rows(args.remembered, batch, args.rounds, args.seed)
    rows += refresh_rows(args.remembered, args.seed)
    report("campaign memory: cost", rows)
    if data is None:
        print(f"\n(YouTube Spam Collection not found at {args.data_dir}: no campaign curve)")
        return 0
    report(
        "campaign memory: per held-out video (vs no campaign memory)", video_rows(data, args.seed)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
