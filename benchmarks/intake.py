"""Intake requests/s: ``POST /api/v1/comments`` with a solved captcha, beside a bare
Flask endpoint doing one Redis write, both under the same gunicorn configuration,
driven by wrk on loopback in the same run.

The two are measured in many short rounds, one run of each per round, in alternating
order, and the verdict is on the median of the rounds' ratios: on a shared two-core
machine the speed of both moves by a third within seconds (one round's ratio can be
anywhere from about 50% to 80% while the median of ten moves by a few points), so a
ratio from a few long runs measures the machine as much as the endpoints.

Run: ``.venv/bin/python benchmarks/intake.py [--seconds 4] [--rounds 10] [--workers 2]``
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
import redis

from benchmarks._comments import solved_posts
from benchmarks._common import (
    BENCH_REDIS_URL,
    COMMENTGATE,
    REPO,
    free_port,
    fresh_redis,
    processes,
    report,
    start,
    wait_http,
)

LUA = str(Path(__file__).with_name("_wrk_post.lua"))


def received_outcomes() -> dict[str, int]:
    """commentgate's count of received comments by outcome, in the benchmark database."""
    client = redis.Redis.from_url(BENCH_REDIS_URL, decode_responses=True)
    counters = cast(dict[str, str], client.hgetall("cg:metrics:counters"))
    return {
        k.rpartition("=")[2]: int(v)
        for k, v in counters.items()
        if k.startswith("commentgate_comments_received|")
    }


def bodies(path: Path, count: int, seed: int) -> None:
    """Write ``count`` comment bodies, each with its own solved captcha."""
    with path.open("w") as out:
        for payload in itertools.islice(solved_posts(seed, emails=True), count):
            out.write(json.dumps(payload) + "\n")


class CpuMeter:
    """CPU seconds spent so far by a server's workers, Redis and wrk (finished children).

    Redis's figure is the whole server's (``INFO cpu``): on a Redis that others use too,
    it counts their commands as well.

    Args:
        server: The gunicorn master process; its workers are its children.
    """

    def __init__(self, server: int) -> None:
        self._workers = psutil.Process(server).children()
        self._redis = redis.Redis.from_url(BENCH_REDIS_URL)

    def read(self) -> tuple[float, float, float]:
        """(workers, Redis, wrk) CPU seconds, user and system."""
        workers = sum(sum(p.cpu_times()[:2]) for p in self._workers)
        info = self._redis.info("cpu")
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (
            workers,
            float(info["used_cpu_user"]) + float(info["used_cpu_sys"]),
            children.ru_utime + children.ru_stime,
        )


def wrk(
    url: str, target: str, body_file: Path, seconds: int, threads: int, connections: int
) -> dict[str, Any]:
    """Run wrk and return its JSON summary plus good requests/s."""
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            LUA,
            url,
            "--",
            str(body_file),
            target,
            str(threads),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    good = summary["requests"] - summary["non2xx"]
    summary["good_rps"] = good / (summary["duration_us"] / 1e6)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=4, help="length of each measured run")
    parser.add_argument(
        "--rounds",
        type=int,
        default=10,
        help="rounds of one bare and one intake run each, in alternating order",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for both servers")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run `bash scripts/system-deps` (as root)")
    with tempfile.TemporaryDirectory() as tmp, processes() as procs:
        # A captcha is single use: each intake run (and the warm-up) gets bodies of its
        # own, so requests still in flight when a run ends never spend the next run's.
        per_run = max(8_000, 4_000 * args.seconds)  # twice the fastest intake seen
        warm_file = Path(tmp) / "warm.jsonl"
        bodies(warm_file, 10_000, seed=1)
        run_files = [Path(tmp) / f"bodies-{i}.jsonl" for i in range(args.rounds)]
        for i, path in enumerate(run_files):
            bodies(path, per_run, seed=2 + i)
        fresh_redis()
        bare_port, app_port = free_port(), free_port()
        start(
            procs,
            [
                sys.executable,
                str(REPO / "benchmarks/_bare_app.py"),
                "--bind",
                f"127.0.0.1:{bare_port}",
                "--workers",
                str(args.workers),
            ],
        )
        start(
            procs,
            [COMMENTGATE, "web", "--bind", f"127.0.0.1:{app_port}", "--workers", str(args.workers)],
        )
        wait_http(f"http://127.0.0.1:{app_port}/healthz")
        wait_http(f"http://127.0.0.1:{bare_port}/healthz")
        servers = {
            "bare": (f"http://127.0.0.1:{bare_port}", "/bare"),
            "intake": (f"http://127.0.0.1:{app_port}", "/api/v1/comments"),
        }
        for url, target in servers.values():
            wrk(url, target, warm_file, 2, args.threads, args.connections)  # warm up
        meters = {"bare": CpuMeter(procs[0].pid), "intake": CpuMeter(procs[1].pid)}
        rounds: list[dict[str, dict[str, Any]]] = []
        outcomes: Counter[str] = Counter()
        for i, body_file in enumerate(run_files):
            # Alternate which goes first, so a drift in the machine's speed during a
            # round favours neither.
            order = ("bare", "intake") if i % 2 == 0 else ("intake", "bare")
            results = {}
            for name in order:
                url, target = servers[name]
                fresh_redis()
                before = meters[name].read()
                results[name] = wrk(
                    url, target, body_file, args.seconds, args.threads, args.connections
                )
                after = meters[name].read()
                served = results[name]["requests"]
                results[name]["cpu_us"] = [
                    (b - a) / served * 1e6 for a, b in zip(before, after, strict=True)
                ]
                if name == "intake":
                    outcomes.update(received_outcomes())
            rounds.append(results)
    ratios = [r["intake"]["good_rps"] / r["bare"]["good_rps"] for r in rounds]
    ratio = statistics.median(ratios)
    non2xx = sum(r["intake"]["non2xx"] for r in rounds)

    def spread(values: list[float], form: str) -> str:
        """Median and range of per-round values."""
        low, mid, high = (
            format(v, form) for v in (min(values), statistics.median(values), max(values))
        )
        return f"median {mid} ({low}-{high})"

    def rates(name: str) -> str:
        return spread([r[name]["good_rps"] for r in rounds], ",.0f")

    def latencies(name: str) -> str:
        p50 = [r[name]["p50_us"] / 1000 for r in rounds]
        p99 = [r[name]["p99_us"] / 1000 for r in rounds]
        return f"p50 {spread(p50, '.1f')}, p99 {spread(p99, '.1f')}"

    def cpu(name: str) -> str:
        parts = zip(*(r[name]["cpu_us"] for r in rounds), strict=True)
        return " / ".join(f"{statistics.median(part):,.0f}" for part in parts)

    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratio, ratio, ratio]
    report(
        f"intake vs bare Flask + one Redis write (gunicorn sync x{args.workers}, "
        f"wrk -t{args.threads} -c{args.connections}, {args.rounds} rounds of "
        f"{args.seconds}s each)",
        [
            ("bare endpoint requests/s", rates("bare"), "(baseline)", ""),
            ("intake requests/s (202)", rates("intake"), "(same rounds)", ""),
            (
                "intake / bare, by round",
                " / ".join(f"{r:.0%}" for r in ratios),
                f"middle half {quartiles[0]:.0%}-{quartiles[2]:.0%}",
                "",
            ),
            (
                "intake / bare, median of the rounds",
                f"{ratio:.1%}",
                ">= 60%",
                "ok" if ratio >= 0.6 else "BELOW TARGET",
            ),
            ("intake non-202 responses", str(non2xx), "0", "ok" if non2xx == 0 else "CHECK"),
            (
                "intake outcomes (commentgate's own counters)",
                str(dict(outcomes)),
                "accepted only",
                "",
            ),
            ("intake latency ms", latencies("intake"), f"bare {latencies('bare')}", ""),
            (
                "CPU us per request: workers / Redis / wrk (medians)",
                f"intake {cpu('intake')}",
                f"bare {cpu('bare')}",
                "",
            ),
        ],
    )


if __name__ == "__main__":
    main()
