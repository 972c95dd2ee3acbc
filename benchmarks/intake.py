"""Intake requests/s: ``POST /api/v1/comments`` with a solved captcha, beside a bare
Flask endpoint doing one Redis write, both under the same gunicorn configuration,
driven by wrk on loopback in the same run.

Run: ``.venv/bin/python benchmarks/intake.py [--seconds 10] [--workers 2]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._comments import synthetic_body
from benchmarks._common import (
    COMMENTGATE,
    REPO,
    SECRET,
    free_port,
    fresh_redis,
    processes,
    report,
    start,
    wait_http,
)
from service.captcha import CaptchaIssuer
from tests.conftest import solved

LUA = str(Path(__file__).with_name("_wrk_post.lua"))


def fresh_redis_counters() -> dict[bytes, bytes]:
    """commentgate's metric counters in the benchmark database."""
    import redis

    from benchmarks._common import BENCH_REDIS_URL

    counters: dict[bytes, bytes] = redis.Redis.from_url(BENCH_REDIS_URL).hgetall(
        "cg:metrics:counters"
    )
    return counters


def bodies(path: Path, count: int, seed: int) -> None:
    """Write ``count`` comment bodies, each with its own solved captcha."""
    import random

    rng = random.Random(seed)
    issuer = CaptchaIssuer(SECRET)
    with path.open("w") as out:
        for i in range(count):
            challenge = issuer.issue()
            payload = solved(
                asdict(challenge),
                thread=f"bench/thread-{i % 50}",
                body=synthetic_body(rng),
                author_name=f"user{i}",
                author_email=f"user{i}@mail.example",
            )
            out.write(json.dumps(payload) + "\n")


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
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for both servers")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run `bash scripts/system-deps` (as root)")
    with tempfile.TemporaryDirectory() as tmp, processes() as procs:
        # Separate bodies for the warm-up: a captcha is single use, and requests still
        # in flight when a run ends must not spend tokens the measured run needs.
        warm_file, body_file = Path(tmp) / "warm.jsonl", Path(tmp) / "bodies.jsonl"
        bodies(warm_file, 10_000, seed=1)
        bodies(body_file, max(20_000, 4_000 * args.seconds), seed=2)
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
        results = {}
        for name, port, target in (
            ("bare", bare_port, "/bare"),
            ("intake", app_port, "/api/v1/comments"),
        ):
            url = f"http://127.0.0.1:{port}"
            wrk(url, target, warm_file, 2, args.threads, args.connections)  # warm up
            fresh_redis()
            results[name] = wrk(
                url, target, body_file, args.seconds, args.threads, args.connections
            )
        outcomes = {
            k.decode().rpartition("=")[2]: int(v)
            for k, v in fresh_redis_counters().items()
            if k.startswith(b"commentgate_comments_received|")
        }
    bare, intake = results["bare"], results["intake"]
    ratio = intake["good_rps"] / bare["good_rps"]
    report(
        f"intake vs bare Flask + one Redis write (gunicorn sync x{args.workers}, "
        f"wrk -t{args.threads} -c{args.connections}, {args.seconds}s)",
        [
            ("bare endpoint requests/s", f"{bare['good_rps']:,.0f}", "(baseline)", ""),
            (
                "intake requests/s (202)",
                f"{intake['good_rps']:,.0f}",
                f">= 60% of baseline: {ratio:.0%}",
                "ok" if ratio >= 0.6 else "BELOW TARGET",
            ),
            (
                "intake non-202 responses",
                str(intake["non2xx"]),
                "0",
                "ok" if intake["non2xx"] == 0 else "CHECK",
            ),
            ("intake outcomes (commentgate's own counters)", str(outcomes), "accepted only", ""),
            (
                "intake latency p50 / p99",
                f"{intake['p50_us'] / 1000:.1f} / {intake['p99_us'] / 1000:.1f} ms",
                f"bare {bare['p50_us'] / 1000:.1f} / {bare['p99_us'] / 1000:.1f} ms",
                "",
            ),
        ],
    )


if __name__ == "__main__":
    main()
