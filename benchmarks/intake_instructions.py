"""Instructions per post inside a gunicorn worker: intake beside the bare endpoint.

``benchmarks/intake.py`` measures the target (requests/s), but on a shared two-core
machine both endpoints' rates move by a third from one round to the next. Instruction
counts do not: each server here runs under valgrind's callgrind with one gunicorn
worker, and after a warm-up the worker's instruction counter is read before and after
``--posts`` sequential posts (a new connection each, as wrk's are with gunicorn's sync
worker). The figure covers gunicorn, Flask and the endpoint's own code; not the kernel,
Redis or the client. Both get the same bodies (each with its own solved captcha).

Run: ``.venv/bin/python benchmarks/intake_instructions.py [--posts 300]`` (needs
valgrind; about three minutes)
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import psutil

from benchmarks._comments import solved_posts
from benchmarks._common import (
    COMMENTGATE,
    REPO,
    free_port,
    fresh_redis,
    processes,
    report,
    start,
    wait_http,
)

WARM_UP = 30


def payloads(count: int, seed: int) -> list[bytes]:
    """``count`` JSON comment bodies, each with its own solved captcha."""
    posts = itertools.islice(solved_posts(seed, emails=True), count)
    return [json.dumps(post).encode() for post in posts]


def instructions(pid: int) -> int:
    """The instructions callgrind has counted so far in process ``pid``."""
    out = subprocess.run(
        ["callgrind_control", "-e", "Ir", str(pid)], capture_output=True, text=True, check=True
    ).stdout
    # "Totals: Ir" then one line per thread: "Th 1  2,313,933,431"
    counts = re.findall(r"^\s*Th\s+\d+\s+([\d,]+)\s*$", out, flags=re.MULTILINE)
    if not counts:
        raise RuntimeError(f"no instruction count from callgrind_control: {out!r}")
    return sum(int(count.replace(",", "")) for count in counts)


def per_post(argv: list[str], path: str, bodies: list[bytes]) -> float:
    """Instructions per post in the gunicorn worker serving ``path``."""
    port = free_port()
    with processes() as procs:
        start(
            procs,
            [
                "valgrind",
                "--tool=callgrind",
                "--trace-children=yes",
                "--callgrind-out-file=/dev/null",
                *argv,
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
            ],
            PYTHONHASHSEED="0",
        )
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz", timeout=300)
        workers = psutil.Process(procs[0].pid).children()
        if len(workers) != 1:
            raise RuntimeError(f"expected one gunicorn worker, found {len(workers)}")
        worker = workers[0].pid

        def post(body: bytes) -> None:
            response = httpx.post(
                url + path,
                content=body,
                headers={"Content-Type": "application/json"},
                timeout=60,
            )
            if response.status_code != 202:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")

        for body in bodies[:WARM_UP]:
            post(body)
        # The worker may still be closing the last connection: a few thousand
        # instructions either way, against hundreds of millions counted.
        before = instructions(worker)
        for body in bodies[WARM_UP:]:
            post(body)
        return (instructions(worker) - before) / (len(bodies) - WARM_UP)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=300, help="posts counted per endpoint")
    args = parser.parse_args()
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed: apt-get install valgrind")
    bodies = payloads(WARM_UP + args.posts, seed=3)
    fresh_redis()
    bare = per_post([sys.executable, str(REPO / "benchmarks/_bare_app.py")], "/bare", bodies)
    fresh_redis()
    intake = per_post([COMMENTGATE, "web"], "/api/v1/comments", bodies)
    report(
        f"instructions per post in a gunicorn sync worker (callgrind, {args.posts} posts)",
        [
            ("bare endpoint", f"{bare / 1e6:.2f} M", "(baseline)", ""),
            ("intake (202)", f"{intake / 1e6:.2f} M", "(same bodies)", ""),
            (
                "bare / intake",
                f"{bare / intake:.0%}",
                "worker CPU only (no kernel, Redis or wrk)",
                "",
            ),
        ],
    )


if __name__ == "__main__":
    main()
