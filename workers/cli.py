"""``commentgate worker`` and ``commentgate scheduler``."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

import click
import redis
from rq import Queue, SimpleWorker, Worker
from rq.cron import CronScheduler
from rq.exceptions import StopRequested

from classifier.exceptions import ModelLoadError
from service.core.console import settings_or_exit
from service.core.queues import ALL_QUEUES, MAINTENANCE, PURGE, PURGE_CLIENT_DATA, RECONCILE
from service.core.redis_client import connect, riding_out_outages
from workers import jobs
from workers.runtime import WorkerRuntime, set_runtime

logger = logging.getLogger(__name__)


#: Seconds before a worker or the scheduler that stopped on an error starts again,
#: doubling after each failed start up to the second figure.
RESTART_BACKOFF = (1.0, 30.0)


def run_until_stopped(
    run: Callable[[], bool],
    what: str,
    *,
    backoff: tuple[float, float] = RESTART_BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Run ``run`` again whenever it stops on an error, until it stops on request.

    RQ's worker and cron scheduler leave their loop for good on an error they do not
    expect, such as Redis refusing writes for lack of memory for longer than their
    client retries (:func:`service.core.redis_client.riding_out_outages`). The process then
    stays up and starts its loop again, so it resumes by itself once Redis recovers.

    Args:
        run: Runs the loop; returns True when it stopped on request (a signal, the end
            of a burst), False when it stopped on an error (or raises it).
        what: Names the loop in the log.
        backoff: First and longest wait before starting again, in seconds.
        sleep: Waits (tests pass their own).
    """
    delay = backoff[0]
    while True:
        started = time.monotonic()
        try:
            if run():
                return
            logger.error("%s stopped on an error; starting again in %.0f s", what, delay)
        except (StopRequested, KeyboardInterrupt):
            return
        except Exception:
            logger.exception("%s stopped on an error; starting again in %.0f s", what, delay)
        if time.monotonic() - started > backoff[1]:
            delay = backoff[0]  # it ran for a while: this is a new failure
        try:
            sleep(delay)
        except (StopRequested, KeyboardInterrupt):
            return
        delay = min(delay * 2, backoff[1])


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
    previous: list[Worker | SimpleWorker] = []

    def work() -> bool:
        if previous:  # it stopped on an error: its registration may be left behind
            with contextlib.suppress(redis.RedisError):
                previous.pop().register_death()  # type: ignore[no-untyped-call]
        rq_worker = cls(queues, connection=runtime.redis, name=name)
        previous.append(rq_worker)
        rq_worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")
        # RQ returns from work() on a stop request, at the end of a burst, and after
        # logging an error it does not handle.
        return burst or rq_worker._shutdown_requested_date is not None

    run_until_stopped(work, f"worker {name or ''}".strip())


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
    for hourly, job_name in (
        (jobs.purge_expired, PURGE),
        (jobs.purge_client_data, PURGE_CLIENT_DATA),
    ):
        cron.register(
            hourly,
            queue_name=MAINTENANCE,
            interval=3600,
            job_timeout=600,
            result_ttl=24 * 3600,
            failure_ttl=7 * 24 * 3600,
            name=job_name,
        )

    def run() -> bool:
        cron.start()  # type: ignore[no-untyped-call]
        return True  # it returns only on a stop request, and raises on an error

    run_until_stopped(run, "scheduler")
