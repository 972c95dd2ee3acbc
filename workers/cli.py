"""``commentgate worker`` and ``commentgate scheduler``."""

from __future__ import annotations

import logging

import click
from rq import Queue, SimpleWorker, Worker
from rq.cron import CronScheduler

from classifier.exceptions import ModelLoadError
from service.cli.common import settings_or_exit
from service.queues import ALL_QUEUES, MAINTENANCE, PURGE, PURGE_CLIENT_DATA, RECONCILE
from service.redis_client import connect, riding_out_outages
from workers import jobs
from workers.runtime import WorkerRuntime, set_runtime

logger = logging.getLogger(__name__)


def _runtime() -> WorkerRuntime:
    settings = settings_or_exit()
    try:
        runtime = WorkerRuntime.build(settings)
    except ModelLoadError as exc:
        raise click.ClickException(str(exc)) from None
    set_runtime(runtime)
    return runtime


@click.command()
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option(
    "--queues",
    "-q",
    "queue_names",
    default=",".join(ALL_QUEUES),
    show_default=True,
    help="Comma-separated queues to listen on, in priority order.",
)
@click.option(
    "--worker-class",
    type=click.Choice(["simple", "fork"]),
    default="simple",
    show_default=True,
    help="`simple` runs jobs in this process (fast); `fork` isolates each job.",
)
@click.option("--name", default=None, help="Worker name shown by `rq info`.")
def worker(burst: bool, queue_names: str, worker_class: str, name: str | None) -> None:
    """Run an RQ worker that scores and decides comments and delivers webhooks."""
    runtime = _runtime()
    names = [q.strip() for q in queue_names.split(",") if q.strip()]
    unknown = sorted(set(names) - set(ALL_QUEUES))
    if unknown:
        raise click.ClickException(f"unknown queue {unknown[0]!r}; known: {', '.join(ALL_QUEUES)}")
    queues = [Queue(q, connection=runtime.redis) for q in names]
    cls = SimpleWorker if worker_class == "simple" else Worker
    rq_worker = cls(queues, connection=runtime.redis, name=name)
    rq_worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")


@click.command()
@click.option(
    "--interval", default=5, show_default=True, type=click.IntRange(1, 3600), help="Seconds."
)
def scheduler(interval: int) -> None:
    """Run RQ's cron scheduler: the reconciler every INTERVAL seconds, retention hourly.

    Retention: spam and rejected comments are deleted, and the IP addresses of the
    others hashed, when they are older than their retention periods.
    """
    settings = settings_or_exit()
    connection = connect(settings.redis_url, **riding_out_outages())
    cron = CronScheduler(connection=connection, logging_level="WARNING")
    cron.register(
        jobs.reconcile,
        queue_name=MAINTENANCE,
        interval=interval,
        job_timeout=60,
        result_ttl=60,
        failure_ttl=24 * 3600,
        name=RECONCILE,
    )
    cron.register(
        jobs.purge_expired,
        queue_name=MAINTENANCE,
        interval=3600,
        job_timeout=600,
        result_ttl=24 * 3600,
        failure_ttl=7 * 24 * 3600,
        name=PURGE,
    )
    cron.register(
        jobs.purge_client_data,
        queue_name=MAINTENANCE,
        interval=3600,
        job_timeout=600,
        result_ttl=24 * 3600,
        failure_ttl=7 * 24 * 3600,
        name=PURGE_CLIENT_DATA,
    )
    cron.start()  # type: ignore[no-untyped-call]
