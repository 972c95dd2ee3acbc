"""Comments scored, decided and published per second by ONE worker process, beside
RQ's own no-op job rate (SimpleWorker and forking Worker) measured in the same run.

Run: ``.venv/bin/python benchmarks/worker_throughput.py [--comments N]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rq import Queue
from rq.job import Job
from rq.registry import FinishedJobRegistry

from benchmarks._comments import seed_pending
from benchmarks._common import BENCH_REDIS_URL, BIN, COMMENTGATE, env, fresh_redis, report
from service.queues import COMMENTS, Queues
from service.store import keys


def _span(jobs: list[Job]) -> float:
    """Seconds from the first job's start to the last job's end."""
    started = min(j.started_at for j in jobs if j.started_at)
    ended = max(j.ended_at for j in jobs if j.ended_at)
    return (ended - started).total_seconds()


def noop_rate(worker_class: str, count: int) -> float:
    """Jobs/s of RQ's own worker running no-op jobs (``os.getpid``)."""
    client = fresh_redis()
    queue = Queue("bench-noop", connection=client)
    jobs = queue.enqueue_many(
        [Queue.prepare_data("os.getpid", result_ttl=3600) for _ in range(count)]
    )
    subprocess.run(
        [
            str(BIN / "rq"),
            "worker",
            "--burst",
            "-q",
            "-u",
            BENCH_REDIS_URL,
            "-w",
            worker_class,
            "bench-noop",
        ],
        check=True,
        env=env(),
    )
    fetched = [j for j in Job.fetch_many([j.id for j in jobs], connection=client) if j]
    return count / _span(fetched)


def comments_rate(count: int, batch_size: int) -> tuple[float, int]:
    """Comments/s decided by one ``commentgate worker`` process; and how many jobs ran."""
    client = fresh_redis()
    ids = seed_pending(client, count)
    Queues.connect(client).enqueue_scoring()
    subprocess.run(
        [COMMENTGATE, "worker", "--burst", "--queues", COMMENTS],
        check=True,
        env=env(COMMENTGATE_BATCH_SIZE=str(batch_size)),
    )
    registry = FinishedJobRegistry(COMMENTS, connection=client)
    jobs = [j for j in Job.fetch_many(registry.get_job_ids(), connection=client) if j]
    with client.pipeline(transaction=False) as pipe:
        for comment_id in ids:
            pipe.hget(keys.comment(comment_id), "status")
        statuses = pipe.execute()
    undecided = sum(1 for s in statuses if s == b"pending")
    if undecided:
        raise SystemExit(f"{undecided} comments were left undecided")
    return count / _span(jobs), len(jobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--comments", type=int, default=20_000)
    parser.add_argument("--noop-jobs", type=int, default=1_000)
    args = parser.parse_args()
    simple = noop_rate("rq.worker.SimpleWorker", args.noop_jobs)
    forking = noop_rate("rq.worker.Worker", max(200, args.noop_jobs // 4))
    rows = [
        ("RQ no-op jobs/s, SimpleWorker", f"{simple:,.0f}", "(RQ's own ceiling)", ""),
        ("RQ no-op jobs/s, forking Worker", f"{forking:,.0f}", "(RQ's own ceiling)", ""),
    ]
    for batch in (500, 100):
        rate, jobs = comments_rate(args.comments, batch)
        verdict = "ok" if rate >= 1000 else "BELOW TARGET"
        rows.append(
            (
                f"comments/s decided, 1 worker, batch {batch} ({jobs} jobs)",
                f"{rate:,.0f}",
                f">= 1,000; {rate / simple:.1f}x RQ no-op",
                verdict,
            )
        )
    report("worker throughput (one process)", rows)


if __name__ == "__main__":
    main()
