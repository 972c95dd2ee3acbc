"""Comments scored, decided and published per second by ONE worker process, beside
RQ's own no-op job rate (SimpleWorker and forking Worker) measured in the same run.

Run: ``.venv/bin/python benchmarks/worker_throughput.py [--comments N] [--datasets DIR]``

Three corpora: synthetic comments; the shared data sets' real comments (YouTube and SMS,
when ``../shared`` is there), varied; and the same real comments with the campaign memory
holding 5,000 remembered spam signatures (a site in steady state), so the per-batch
refresh and the matching are paid as in production. The real comments are also spread
over 4 sites, so each batch is judged in four parts with each site's context, and over 4
sites that each have a promoted site model (learnt from 300 of the labelled comments), so
each part is scored with its site's layer. Target (issue: spam judgement): at least 2,000
varied real comments per second.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from rq import Queue
from rq.job import Job
from rq.registry import FinishedJobRegistry

from benchmarks._comments import seed_pending
from benchmarks._common import BENCH_REDIS_URL, BIN, COMMENTGATE, env, fresh_redis, report
from service.core.queues import COMMENTS, Queues
from service.core.store import keys


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


def remember_campaigns(client: redis.Redis, bodies: list[str], count: int) -> None:
    """Fill the default site's campaign memory as moderators' spam clicks would."""
    from service.core.campaigns import STREAM_MAXLEN, record_signatures

    chosen = [f"{bodies[i % len(bodies)]} {i}" for i in range(count)]
    signatures = record_signatures(chosen, "spam")
    with client.pipeline(transaction=False) as pipe:
        for index, sig in enumerate(signatures):
            if sig:
                pipe.xadd(
                    keys.campaigns(keys.DEFAULT_SITE),
                    {"key": f"bench{index}", "label": "spam", "moderator": "b", "sig": sig},
                    maxlen=STREAM_MAXLEN,
                )
        pipe.execute()


DEFAULT_DATASETS = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"


def real_data(root: Path = DEFAULT_DATASETS) -> Any:
    """The shared data sets' labelled comments (in memory only), or ``None`` when absent."""
    from classifier._data import read_labelled

    files = sorted((root / "youtube-spam-collection").glob("*.csv"))
    sms = root / "sms-spam-collection" / "SMSSpamCollection.tsv"
    if not files or not sms.is_file():
        return None
    return read_labelled([*files, sms])


def real_bodies(root: Path = DEFAULT_DATASETS) -> list[str]:
    """The shared data sets' comments (in memory only), or none when absent."""
    data = real_data(root)
    return [] if data is None else [c.text for c in data.comments]


def promote_site_models(client: redis.Redis, names: list[str], data: Any, labels: int) -> None:
    """Give each site a promoted site model, as ``labels`` moderators' labels would.

    Each site learns from its own random draw of the labelled comments (half spam), with
    the same functions as the learning job, and its model is stored and promoted in the
    site's registry: the worker loads every site's model as it would in production.
    """
    import numpy as np

    from classifier import dump_model_bytes, load_model
    from classifier._site_learning import train_site_model
    from service.core.model_registry import CANDIDATE, ModelRegistry

    base = load_model()
    y = np.asarray(data.labels)
    for seed, name in enumerate(names):
        rng = np.random.default_rng(seed)
        drawn = np.concatenate(
            [rng.choice(np.flatnonzero(y == c), labels // 2, replace=False) for c in (1, 0)]
        )
        features = base.features([data.comments[i] for i in drawn])
        weights = np.ones(len(drawn))
        trained = train_site_model(base, features, y[drawn], weights, site=name).model
        blob, card = dump_model_bytes(trained)
        registry = ModelRegistry(client, site=name)
        registry.put(trained.version, blob, card, status=CANDIDATE)
        registry.promote(trained.version, actor="benchmark")


def comments_rate(
    count: int,
    batch_size: int,
    bodies: list[str] | None = None,
    campaigns: int = 0,
    steady: bool = False,
    sites: int = 1,
    site_models: Any = None,
) -> tuple[float, int]:
    """Comments/s decided by one ``commentgate worker`` process; and how many jobs ran.

    ``steady`` leaves the first job out (its batch warms the word cache and reads the
    whole campaign stream): the rate of a long-lived worker. With ``sites`` > 1 the
    comments go to that many sites in turn (the default site and ``site-1``...), so
    every batch is split and each site's context refreshed once per batch.
    ``site_models`` (labelled data) gives every site a promoted model learnt from 300
    of its labels, so each site's part of a batch is judged with its own layer.
    """
    client = fresh_redis()
    names = [keys.DEFAULT_SITE, *(f"site-{i}" for i in range(1, sites))]
    ids = seed_pending(client, count, bodies=bodies, sites=names)
    if site_models is not None:
        promote_site_models(client, names, site_models, 300)
    if campaigns and bodies:
        remember_campaigns(client, [b for b in bodies if len(b.split()) >= 8], campaigns)
    Queues.connect(client).enqueue_scoring()
    subprocess.run(
        [COMMENTGATE, "worker", "--burst", "--queues", COMMENTS],
        check=True,
        env=env(COMMENTGATE_BATCH_SIZE=str(batch_size)),
    )
    registry = FinishedJobRegistry(COMMENTS, connection=client)
    jobs = [j for j in Job.fetch_many(registry.get_job_ids(), connection=client) if j]
    if steady:  # the first batch warms the word cache and reads the campaign stream
        jobs = sorted(jobs, key=lambda j: j.started_at)[1:]
        decided = sum(int((j.return_value() or {}).get("decided", 0)) for j in jobs)
    with client.pipeline(transaction=False) as pipe:
        for comment_id in ids:
            pipe.hget(keys.comment(comment_id), "status")
        statuses = pipe.execute()
    undecided = sum(1 for s in statuses if s == b"pending")
    if undecided:
        raise SystemExit(f"{undecided} comments were left undecided")
    return (decided if steady else count) / _span(jobs), len(jobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--comments", type=int, default=20_000)
    parser.add_argument("--noop-jobs", type=int, default=1_000)
    parser.add_argument(
        "--datasets",
        type=Path,
        default=DEFAULT_DATASETS,
        help="the shared data sets (from a git worktree: /work/shared/datasets)",
    )
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
    data = real_data(args.datasets)
    if data is not None:
        bodies = [c.text for c in data.comments]
        for label, campaigns, sites, learnt in (
            ("real comments", 0, 1, None),
            ("real comments + campaign memory", 5000, 1, None),
            ("real comments, 4 sites", 0, 4, None),
            ("real comments, 4 sites with site models", 0, 4, data),
        ):
            rate, jobs = comments_rate(
                args.comments, 500, bodies, campaigns, steady=True, sites=sites, site_models=learnt
            )
            rows.append(
                (
                    f"comments/s decided, {label}, batch 500, steady ({jobs} jobs)",
                    f"{rate:,.0f}",
                    ">= 2,000",
                    "ok" if rate >= 2000 else "BELOW TARGET",
                )
            )
    report("worker throughput (one process)", rows)


if __name__ == "__main__":
    main()
