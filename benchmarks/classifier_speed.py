"""Speed and size of the shipped classifier (not a test: prints figures beside targets).

Run: ``.venv/bin/python benchmarks/classifier_speed.py [--model PATH]``

Scores synthetic comments (no dataset text) on one core: throughput in batches of 100,
single-comment latency p50/p99, model file size and the memory the loaded model takes.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from classifier import DEFAULT_MODEL_PATH, CommentInput, load_model

WORDS = [
    "love",
    "this",
    "song",
    "great",
    "video",
    "check",
    "out",
    "my",
    "channel",
    "subscribe",
    "please",
    "free",
    "gift",
    "card",
    "win",
    "money",
    "click",
    "here",
    "amazing",
    "voice",
    "who",
    "is",
    "watching",
    "in",
    "2015",
    "best",
    "ever",
    "awesome",
    "lol",
    "follow",
    "me",
    "visit",
    "site",
    "promo",
    "cheap",
    "offer",
    "music",
    "beautiful",
    "dance",
    "remember",
    "childhood",
]
LINKS = ("http://example.com/a", "bit.ly/x1y2", "www.shop-deals.net/offer?id=3", "youtu.be/abc")


def synthetic_comments(n: int, seed: int = 0) -> list[CommentInput]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = rng.choices(WORDS, k=rng.randint(3, 40))
        if rng.random() < 0.3:
            words.append(rng.choice(LINKS))
        text = " ".join(words)
        if rng.random() < 0.2:
            text = text.upper() + "!!!"
        out.append(CommentInput(text, author_name=f"user{rng.randint(1, 999)}"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(DEFAULT_MODEL_PATH))
    parser.add_argument("--comments", type=int, default=20_000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    model = load_model(args.model)
    gc.collect()
    loaded_mb = (tracemalloc.get_traced_memory()[0] - before) / 1e6
    tracemalloc.stop()
    size_mb = Path(args.model).stat().st_size / 1e6

    comments = synthetic_comments(args.comments)
    model.predict_proba(comments[:200])  # warm up
    start = time.perf_counter()
    for i in range(0, len(comments), 100):
        model.predict_proba(comments[i : i + 100])
    throughput = len(comments) / (time.perf_counter() - start)

    latencies = []
    for comment in comments[:3000]:
        t0 = time.perf_counter()
        model.predict_proba([comment])
        latencies.append(time.perf_counter() - t0)
    p50, p99 = np.percentile(np.array(latencies) * 1000, [50, 99])

    ok_rate = throughput >= 5000
    rows = [
        (
            "throughput, batches of 100 (comments/s)",
            f"{throughput:,.0f}",
            ">= 5,000",
            ok_rate,
        ),
        ("single-comment latency p50 (ms)", f"{p50:.3f}", "", True),
        ("single-comment latency p99 (ms)", f"{p99:.3f}", "<= 2", p99 <= 2),
        ("model file size (MB)", f"{size_mb:.2f}", "<= 10", size_mb <= 10),
        ("loaded model memory, tracemalloc (MB)", f"{loaded_mb:.1f}", "<= 100", loaded_mb <= 100),
    ]
    print(f"model {model.version} ({args.model})")
    print(f"{'figure':42s} {'measured':>10s} {'target':>10s}  ok")
    for name, value, target, ok in rows:
        print(f"{name:42s} {value:>10s} {target:>10s}  {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
