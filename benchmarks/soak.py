"""Soak: a steady comment rate for minutes, watching the processes' memory.

``commentgate web`` (gunicorn, 2 workers) and two ``commentgate worker`` processes run
on the benchmark database; the open-loop generator of ``benchmarks/overload.py`` posts
``--rate`` comments per second (each with its own solved captcha) for ``--minutes``.
Every ``--sample-seconds`` the resident memory (RSS) of each process tree is sampled
with psutil: the web server (arbiter and its workers) and each worker (with RQ's
scheduler child, if running). Reported per tree: first, last and largest RSS and the
slope of a least-squares line through the samples after the first minute (warm-up:
imports, the model, first allocations). Also: every post must get a 202 and every
comment must be decided.

Run: ``.venv/bin/python benchmarks/soak.py [--minutes 10] [--rate 50]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
import redis

from benchmarks._common import COMMENTGATE, fresh_redis, percentile, processes, report, start
from benchmarks.overload import Result, comment_requests, offer, serve
from service.core.queues import COMMENTS
from service.core.store import keys

MB = 1024 * 1024
#: Seconds after the start that the slope ignores.
WARM_UP_SECONDS = 60.0


@dataclass
class Tree:
    """One process and its descendants, sampled over time."""

    name: str
    root: psutil.Process
    samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds, MB)

    def sample(self, at: float) -> None:
        """Add the RSS of the root and all its descendants now."""
        total = 0
        try:
            members = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for proc in members:
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue  # a child that just exited
        self.samples.append((at, total / MB))

    def slope_mb_per_minute(self) -> float:
        """Least-squares slope after the warm-up (all samples when the run is short)."""
        late = [s for s in self.samples if s[0] >= WARM_UP_SECONDS]
        points = late if len(late) >= 3 else self.samples
        if len(points) < 2:
            return float("nan")
        xs, ys = [p[0] / 60 for p in points], [p[1] for p in points]
        return statistics.linear_regression(xs, ys).slope


def wait_decided(client: redis.Redis, timeout: float) -> float:
    """Poll until nothing is pending or in flight; seconds it took."""
    started = time.monotonic()
    deadline = started + timeout
    while client.zcard(keys.PENDING) or client.zcard(keys.INFLIGHT):
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=50.0, help="comments per second")
    parser.add_argument("--sample-seconds", type=float, default=5.0)
    args = parser.parse_args()
    client = fresh_redis()
    seconds = args.minutes * 60
    with processes() as procs:
        port = serve(procs, 2)
        for _ in range(2):
            start(procs, [COMMENTGATE, "worker", "--queues", COMMENTS])
        deadline = time.monotonic() + 60
        while client.scard("rq:workers") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        trees = [Tree("web (gunicorn x2)", psutil.Process(procs[0].pid))] + [
            Tree(f"worker {i}", psutil.Process(p.pid)) for i, p in enumerate(procs[1:], 1)
        ]
        redis_before = int(client.info("memory")["used_memory"])
        results: list[Result] = []

        def load() -> None:
            results.extend(
                offer(port, comment_requests(51, "bench/soak"), args.rate, seconds, True)
            )

        generator = threading.Thread(target=load, name="generator")
        t0 = time.monotonic()
        generator.start()
        while generator.is_alive():
            now = time.monotonic() - t0
            for tree in trees:
                tree.sample(now)
            generator.join(timeout=args.sample_seconds)  # the sampling period
        drain = wait_decided(client, timeout=120)
        for tree in trees:
            tree.sample(time.monotonic() - t0)
        alive = all(p.poll() is None for p in procs)
        redis_after = int(client.info("memory")["used_memory"])

    ids = [r.comment_id for r in results if r.status == 202]
    failed = [r for r in results if r.status != 202]
    with client.pipeline(transaction=False) as pipe:
        for comment_id in ids:
            pipe.hmget(keys.comment(comment_id), ["status", "created_at", "decided_at"])
        stored = pipe.execute()
    undecided = sum(1 for status, _, _ in stored if status in (None, b"pending"))
    e2e = [float(d) - float(c) for _, c, d in stored if c and d]
    intake = [r.latency for r in results if r.status == 202]
    rows = [
        (
            f"posted at {args.rate:g}/s for {args.minutes:g} min: 202 / other / undecided",
            f"{len(ids)} / {len(failed)} / {undecided}",
            "all 202, all decided",
            "ok" if not failed and not undecided and alive else "FAIL",
        ),
        (
            "intake latency p50 / p99",
            f"{percentile(intake, 0.5) * 1000:.1f} / {percentile(intake, 0.99) * 1000:.1f} ms",
            "",
            "",
        ),
        (
            "202 to decision p50 / p99",
            f"{percentile(e2e, 0.5) * 1000:.0f} / {percentile(e2e, 0.99) * 1000:.0f} ms",
            f"backlog drained {drain:.1f} s after the last post",
            "",
        ),
    ]
    for tree in trees:
        mbs = [mb for _, mb in tree.samples]
        slope = tree.slope_mb_per_minute()
        rows.append(
            (
                f"RSS {tree.name}: first / last / max",
                f"{mbs[0]:.0f} / {mbs[-1]:.0f} / {max(mbs):.0f} MB",
                f"slope {slope:+.2f} MB/min after {WARM_UP_SECONDS:.0f} s; flat: |slope| < 1",
                "ok" if abs(slope) < 1 else "CHECK",
            )
        )
    rows.append(
        (
            "Redis used memory: before / after",
            f"{redis_before / MB:.0f} / {redis_after / MB:.0f} MB",
            "grows with the comments stored",
            "",
        )
    )
    report(
        f"soak: web (gunicorn x2) + 2 workers, {args.rate:g}/s for {args.minutes:g} min, "
        f"{len(trees[0].samples)} samples",
        rows,
    )
    if failed or undecided or not alive:
        raise SystemExit("soak: errors, undecided comments or a process died")


if __name__ == "__main__":
    main()
