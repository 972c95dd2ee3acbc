"""The IP retention purge: comments hashed per second, and how long one batch holds Redis.

Run: ``.venv/bin/python benchmarks/privacy_purge.py [--comments N]``

Seeds N decided comments past retention (spread over the four statuses, each with an
address and a user agent), then times :class:`service.core.privacy.ClientDataPurge` as the
scheduler's ``purge_client_data`` job runs it: the first run over the backlog (what an
upgrade faces), the longest single ``FORGET_CLIENT`` script call (Redis runs nothing
else meanwhile, so it bounds the delay the purge adds to intake), and the next, hourly
run with nothing new to do. The script times are seen from the client, so they
include one round trip.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from benchmarks._common import SECRET, fresh_redis, report
from service.core.privacy import Candidate, ClientDataPurge, pseudonym_key
from service.core.store import DECIDED_STATUSES, keys

DAY = 86400


class TimedPurge(ClientDataPurge):
    """Records how long each rechecking script call takes."""

    def __init__(self, client: redis.Redis, key: bytes) -> None:
        super().__init__(client, key)
        self.calls: list[float] = []

    def apply(self, batch: Sequence[Candidate]) -> int:
        started = time.perf_counter()
        changed = super().apply(batch)
        if batch:
            self.calls.append(time.perf_counter() - started)
        return changed


def seed(client: redis.Redis, count: int) -> None:
    """``count`` decided comments created 40 days ago, each with an address and agent."""
    created = time.time() - 40 * DAY
    with client.pipeline(transaction=False) as pipe:
        for i in range(count):
            comment_id = f"bench{i:09d}"
            status = DECIDED_STATUSES[i % 4].value
            at = created + i * 0.001
            pipe.hset(
                keys.comment(comment_id),
                mapping={
                    "id": comment_id,
                    "thread": f"bench/thread-{i % 50}",
                    "body": "a benchmark comment",
                    "author_name": "bench",
                    "created_at": at,
                    "status": status,
                    "ip": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
                    "user_agent": "BenchBrowser/1.0 (X11; Linux x86_64)",
                },
            )
            pipe.zadd(keys.status_index(status), {comment_id: at})
            if len(pipe) >= 4000:
                pipe.execute()
        pipe.execute()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=100_000)
    args = parser.parse_args()
    client = fresh_redis()
    seed(client, args.comments)
    purge = TimedPurge(client, pseudonym_key(SECRET))
    cutoff = time.time() - 30 * DAY
    started = time.perf_counter()
    changed = purge.run(older_than=cutoff)
    first = time.perf_counter() - started
    assert changed == args.comments, (changed, args.comments)
    started = time.perf_counter()
    again = purge.run(older_than=cutoff)
    second = time.perf_counter() - started
    assert again == 0
    client.flushdb()
    report(
        f"IP retention purge, {args.comments} comments past retention, batches of "
        f"{purge.batch_size}",
        [
            ("first run", f"{first:.2f} s", "job_timeout 600 s", ""),
            ("comments hashed per second", f"{args.comments / first:,.0f}", "", ""),
            ("median script call (Redis busy)", f"{median(purge.calls) * 1000:.1f} ms", "", ""),
            ("longest script call", f"{max(purge.calls) * 1000:.1f} ms", "", ""),
            ("next run, nothing new", f"{second * 1000:.1f} ms", "", ""),
        ],
    )


if __name__ == "__main__":
    main()
