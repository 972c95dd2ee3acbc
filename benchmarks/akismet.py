"""Akismet ``comment-check`` latency beside the plain intake path, in-process.

Each round sends, in rotating order, one of each request through the Flask test client
of one app on the benchmark database:

* ``POST /api/v1/comments`` with a solved captcha (the baseline: store and queue);
* ``POST /1.1/verify-key`` (the request and the site-key look-up, nothing judged);
* ``POST /1.1/comment-check`` (the key, scoring with the model, the decision, storing).

It also times the judging step alone (model, lists, campaign memory). The target is
the single comment's p99 ``comment-check`` at most 5 ms above the intake path's p99.
Percentiles of many interleaved requests: on a shared two-core machine each figure
moves by milliseconds between runs, the difference far less.

Run: ``COMMENTGATE_BENCH_REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/python
benchmarks/akismet.py [--requests 600]``
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._comments import solved_posts, synthetic_body
from benchmarks._common import BENCH_REDIS_URL, SECRET, fresh_redis, percentile, report
from service.core.akismet import read_submission
from service.core.akismet.checking import new_comment
from service.core.settings import Settings
from service.core.sites import SiteRegistry
from service.web.akismet import EXTENSION_KEY
from service.web.app import create_app

TARGET_MS = 5.0


def ms(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (seconds) in milliseconds."""
    return percentile(values, q) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=600, help="requests of each kind")
    parser.add_argument("--warmup", type=int, default=50, help="untimed requests of each kind")
    args = parser.parse_args()

    client = fresh_redis()
    settings = Settings(
        redis_url=BENCH_REDIS_URL,
        secret_key=SECRET,
        captcha_min_solve_seconds=0,
        rate_limits_enabled=False,
    )
    app = create_app(settings)
    http = app.test_client()
    site, key = SiteRegistry(client).add("bench", url="https://bench.example/")
    rng = random.Random(7)
    posts = solved_posts(11)

    def form() -> dict[str, str]:
        return {
            "api_key": key,
            "blog": "https://bench.example/",
            "user_ip": f"198.51.100.{rng.randrange(1, 250)}",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
            "permalink": f"https://bench.example/post-{rng.randrange(50)}",
            "comment_type": "comment",
            "comment_author": f"reader{rng.randrange(1000)}",
            "comment_content": synthetic_body(rng),
        }

    def intake() -> None:
        response = http.post("/api/v1/comments", json=next(posts))
        assert response.status_code == 202, response.get_json()

    def verify() -> None:
        response = http.post("/1.1/verify-key", data={"key": key, "blog": "https://bench.example/"})
        assert response.get_data(as_text=True) == "valid"

    def check() -> None:
        response = http.post("/1.1/comment-check", data=form())
        assert response.get_data(as_text=True) in ("true", "false"), response.get_data()

    checker = app.extensions[EXTENSION_KEY]

    def judge() -> None:
        checker.judge(site, new_comment(site, read_submission(form())))

    kinds: dict[str, Callable[[], None]] = {
        "intake": intake,
        "verify-key": verify,
        "comment-check": check,
        "judging alone": judge,
    }
    for run in itertools.islice(itertools.cycle(kinds.values()), args.warmup * len(kinds)):
        run()  # loads the model, warms connections and caches
    timings: dict[str, list[float]] = {name: [] for name in kinds}
    order = list(kinds.items())
    for i in range(args.requests):
        for name, run in order[i % len(order) :] + order[: i % len(order)]:
            started = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - started)
    fresh_redis()

    rows = []
    for name, values in timings.items():
        rows.append(
            (
                f"{name} p50 / p99",
                f"{ms(values, 0.5):.2f} / {ms(values, 0.99):.2f} ms",
                "",
                f"mean {statistics.fmean(values) * 1000:.2f} ms",
            )
        )
    extra_p50 = ms(timings["comment-check"], 0.5) - ms(timings["intake"], 0.5)
    extra_p99 = ms(timings["comment-check"], 0.99) - ms(timings["intake"], 0.99)
    rows.append(("comment-check - intake, p50", f"{extra_p50:.2f} ms", "", ""))
    rows.append(
        (
            "comment-check - intake, p99",
            f"{extra_p99:.2f} ms",
            f"<= {TARGET_MS:.0f} ms",
            "ok" if extra_p99 <= TARGET_MS else "OVER",
        )
    )
    report(f"Akismet comment-check, {args.requests} requests of each kind, in-process", rows)


if __name__ == "__main__":
    main()
