"""RQ queues and the one place where commentgate enqueues jobs.

Jobs are named by their import path, so the web app never imports the workers'
code (nor the classifier it loads).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from redis.client import Pipeline
from rq import Queue, Retry
from rq.job import Job

from service.core.store.keys import DEFAULT_SITE, learning_scheduled

COMMENTS = "commentgate.comments"
WEBHOOKS = "commentgate.webhooks"
MAINTENANCE = "commentgate.maintenance"
LEARNING = "commentgate.learning"
ALL_QUEUES = (COMMENTS, WEBHOOKS, MAINTENANCE, LEARNING)

PROCESS_PENDING = "workers.jobs.process_pending"
DELIVER_WEBHOOK = "workers.jobs.deliver_webhook"
RECONCILE = "workers.jobs.reconcile"
PURGE = "workers.jobs.purge_expired"
PURGE_CLIENT_DATA = "workers.jobs.purge_client_data"
UPDATE_MODEL = "workers.learning.update_model"

#: A scoring job decides one batch: a minute is ample even on a loaded machine.
SCORING_TIMEOUT = 120
#: Keep finished job results briefly (for ``rq info``), failures for a week.
RESULT_TTL = 300
FAILURE_TTL = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Queues:
    """The queues commentgate uses, on one Redis connection."""

    comments: Queue
    webhooks: Queue
    maintenance: Queue
    learning: Queue

    @classmethod
    def connect(cls, connection: redis.Redis) -> Queues:
        """Open the queues on ``connection``."""
        return cls(
            comments=Queue(COMMENTS, connection=connection),
            webhooks=Queue(WEBHOOKS, connection=connection),
            maintenance=Queue(MAINTENANCE, connection=connection),
            learning=Queue(LEARNING, connection=connection),
        )

    def enqueue_scoring(self, *, request_id: str = "") -> Job:
        """Queue a job that claims and decides the comments waiting."""
        return self.comments.enqueue(
            PROCESS_PENDING,
            job_timeout=SCORING_TIMEOUT,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            retry=Retry(max=3, interval=[1, 5, 30]),
            meta={"request_id": request_id} if request_id else None,
        )

    def enqueue_learning(self, site: str = DEFAULT_SITE, *, request_id: str = "") -> Job | None:
        """Queue an update of a site's model from its new labels, unless one is waiting.

        The update job clears the site's "scheduled" flag
        (:func:`~service.core.store.keys.learning_scheduled`) when it starts, so labels
        arriving during an update schedule the next one. When the job cannot be
        queued (Redis refused it: out of memory), the flag is cleared again, so the
        next attempt queues it rather than waiting an hour for the flag to expire.
        """
        connection = self.learning.connection
        flag = learning_scheduled(site)
        if not connection.set(flag, "1", nx=True, ex=3600):
            return None
        try:
            return self.learning.enqueue(
                UPDATE_MODEL,
                args=(site,),
                job_timeout=1800,
                result_ttl=7 * 24 * 3600,
                failure_ttl=FAILURE_TTL,
                retry=Retry(max=2, interval=[60, 300]),
                meta={"request_id": request_id} if request_id else None,
            )
        except redis.RedisError:
            connection.delete(flag)  # DEL is allowed on a full Redis
            raise

    def enqueue_webhooks(
        self,
        deliveries: list[tuple[str, str, str]],
        *,
        max_retries: int,
        backoff: int,
        timeout: float,
        pipeline: Pipeline | None = None,
    ) -> list[Job]:
        """Queue one delivery job per (event id, receiver URL, the event's site).

        Retries wait ``backoff`` seconds, doubling each time (at most an hour). With
        ``pipeline``, the jobs are queued when the caller executes it.
        """
        intervals = [min(backoff * 2**i, 3600) for i in range(max(max_retries, 1))]
        data = [
            Queue.prepare_data(
                DELIVER_WEBHOOK,
                args=(event_id, url, site),
                timeout=int(timeout) + 10,
                result_ttl=RESULT_TTL,
                failure_ttl=FAILURE_TTL,
                retry=Retry(max=max_retries, interval=intervals) if max_retries else None,
            )
            for event_id, url, site in deliveries
        ]
        return self.webhooks.enqueue_many(data, pipeline=pipeline) if data else []
