"""A slow webhook receiver never stalls scoring.

A webhook worker (``--queues commentgate.webhooks``) and a scoring worker
(``--queues commentgate.comments``) run as separate processes, as in
docker-compose.yml. The receiver answers only after longer than the delivery timeout,
so every delivery times out, is retried with doubling backoff and ends in RQ's failed
registry; meanwhile comments keep being decided.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import pytest
from flask.testing import FlaskClient
from rq import Worker
from rq.registry import FailedJobRegistry

from service.core.queues import COMMENTS, WEBHOOKS
from service.core.settings import Settings
from tests.conftest import TEST_SECRET, new_comment
from tests.system.conftest import (
    PUBLISH_ALL,
    Processes,
    RedisServer,
    WebhookReceiver,
    start_commentgate,
    wait_all_decided,
    wait_for,
)

pytestmark = pytest.mark.slow

TIMEOUT_SECONDS = 0.5
#: The receiver answers this long after a request: always past the timeout.
RECEIVER_DELAY_SECONDS = 3.0
MAX_RETRIES = 2
BACKOFF_SECONDS = 1


@pytest.fixture
def slow_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(delay=RECEIVER_DELAY_SECONDS)
    yield receiver
    receiver.close()


def test_slow_receiver_never_stalls_scoring(
    private_redis: RedisServer, processes: Processes, slow_receiver: WebhookReceiver
) -> None:
    from service.web.app import create_app

    env = {
        "COMMENTGATE_WEBHOOKS": slow_receiver.setting,
        "COMMENTGATE_WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
        "COMMENTGATE_WEBHOOK_MAX_RETRIES": str(MAX_RETRIES),
        "COMMENTGATE_WEBHOOK_BACKOFF_SECONDS": str(BACKOFF_SECONDS),
        **PUBLISH_ALL,
    }
    url = private_redis.url()
    start_commentgate(processes, "webhook-worker", ["worker", "--queues", WEBHOOKS], url, **env)
    start_commentgate(processes, "scoring-worker", ["worker", "--queues", COMMENTS], url, **env)
    client = private_redis.client()
    wait_for(
        lambda: Worker.count(connection=client) == 2,
        timeout=60,
        what="both workers to start (logs in tmp_path)",
    )
    app = create_app(Settings(redis_url=url, secret_key=TEST_SECRET, captcha_min_solve_seconds=0))
    web: FlaskClient = app.test_client()

    def post() -> str:
        response = web.post("/api/v1/comments", json=new_comment(web))
        assert response.status_code == 202, response.get_json()
        comment_id: str = response.get_json()["id"]
        return comment_id

    first = [post()]
    wait_all_decided(client, first, timeout=20, logs=processes.logs)
    wait_for(slow_receiver.busy, timeout=20, what="a delivery to hang on the slow receiver")

    # While deliveries hang and retry, new comments are still decided promptly.
    failed = FailedJobRegistry(WEBHOOKS, connection=client)
    later = []
    for _ in range(2):
        later.append(post())
        wait_all_decided(client, later, timeout=10, logs=processes.logs)
    events = len(first) + len(later)
    assert failed.count < events, "scoring waited until every delivery had failed"

    wait_for(
        lambda: failed.count == events,
        timeout=60,
        what="every delivery to end in the failed registry (logs in tmp_path)",
    )
    attempts = dict(slow_receiver.attempts)
    assert len(attempts) == events
    for times in attempts.values():
        assert len(times) == 1 + MAX_RETRIES
        gaps = [b - a for a, b in pairwise(times)]
        # Each gap is the timeout plus a backoff that doubles (1 s, then 2 s), less up to
        # a second: RQ stores a retry's time in whole seconds, rounded down.
        for retry, gap in enumerate(gaps):
            assert gap >= TIMEOUT_SECONDS + BACKOFF_SECONDS * 2**retry - 1.0, gaps
    assert slow_receiver.total_attempts() == events * (1 + MAX_RETRIES)
