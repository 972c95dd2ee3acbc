"""End to end, 202 to final status, at fixed offered rates, with two worker processes.

An open-loop load generator posts comments (each with its own solved captcha) at a
fixed rate to ``commentgate web``; two ``commentgate worker`` processes decide them.
Latency is the time from intake (stored just before the 202) to the decision, read
from the timestamps commentgate records.

Run: ``.venv/bin/python benchmarks/end_to_end.py [--rates 100 300] [--seconds 20]``
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from benchmarks._comments import solved_posts
from benchmarks._common import (
    COMMENTGATE,
    free_port,
    fresh_redis,
    percentile,
    processes,
    report,
    start,
    wait_http,
)
from service.core.queues import COMMENTS
from service.core.store import keys


def offer(url: str, rate: float, seconds: float) -> tuple[list[str], list[float], int]:
    """Post at ``rate``/s for ``seconds``; returns ids, client latencies, failures."""
    total = int(rate * seconds)
    posts = solved_posts(5, thread_prefix="bench/e2e", threads=20)
    payloads = list(itertools.islice(posts, total))
    ids: list[str] = []
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    local = threading.local()

    def post(payload: dict[str, str]) -> None:
        nonlocal failures
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=url, timeout=10)
        started = time.perf_counter()
        response = client.post("/api/v1/comments", json=payload)
        elapsed = time.perf_counter() - started
        with lock:
            if response.status_code == 202:
                ids.append(response.json()["id"])
                latencies.append(elapsed)
            else:
                failures += 1

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=32) as pool:
        for i, payload in enumerate(payloads):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)  # pacing the open-loop generator, not a wait
            pool.submit(post, payload)
    return ids, latencies, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", type=float, nargs="+", default=[100.0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    rows = []
    for rate in args.rates:
        client = fresh_redis()
        with processes() as procs:
            port = free_port()
            start(procs, [COMMENTGATE, "web", "--bind", f"127.0.0.1:{port}", "--workers", "2"])
            for _ in range(2):
                start(procs, [COMMENTGATE, "worker", "--queues", COMMENTS])
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/healthz")
            deadline = time.monotonic() + 60
            while client.scard("rq:workers") < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            ids, client_latencies, failures = offer(url, rate, args.seconds)
            deadline = time.monotonic() + 120
            while (
                client.zcard(keys.PENDING) or client.zcard(keys.INFLIGHT)
            ) and time.monotonic() < deadline:
                time.sleep(0.1)
        with client.pipeline(transaction=False) as pipe:
            for comment_id in ids:
                pipe.hmget(keys.comment(comment_id), ["created_at", "decided_at"])
            stamps = pipe.execute()
        e2e = [float(d) - float(c) for c, d in stamps if c and d]
        undecided = len(ids) - len(e2e)
        p99 = percentile(e2e, 0.99) * 1000
        rows += [
            (
                f"{rate:.0f}/s offered: accepted / failed / undecided",
                f"{len(ids)} / {failures} / {undecided}",
                "all accepted, all decided",
                "ok" if not failures and not undecided else "CHECK",
            ),
            (
                f"{rate:.0f}/s: 202 to decision p50 / p99",
                f"{percentile(e2e, 0.5) * 1000:.0f} / {p99:.0f} ms",
                "p99 <= 250 ms (2 workers)",
                "ok" if p99 <= 250 else "ABOVE TARGET",
            ),
            (
                f"{rate:.0f}/s: decision latency max / mean",
                f"{max(e2e) * 1000:.0f} / {statistics.mean(e2e) * 1000:.0f} ms",
                "",
                "",
            ),
            (
                f"{rate:.0f}/s: intake response p50 / p99",
                f"{percentile(client_latencies, 0.5) * 1000:.1f} / "
                f"{percentile(client_latencies, 0.99) * 1000:.1f} ms",
                "",
                "",
            ),
        ]
    report(f"end to end, 2 workers, {args.seconds:.0f} s per rate", rows)


if __name__ == "__main__":
    main()
