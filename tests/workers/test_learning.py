"""Learning from moderators: feedback -> update -> guard -> promotion -> workers switch."""

from __future__ import annotations

import hashlib
import logging
import pickle
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from flask.testing import FlaskClient
from rq.registry import ScheduledJobRegistry

from classifier import CommentInput, dump_model_bytes, load_model, load_model_bytes
from classifier.exceptions import ModelLoadError, UntrustedModelError
from service.model_registry import (
    CANDIDATE,
    ModelRegistry,
    NotRestorableError,
)
from service.moderation.accounts import ModeratorStore, Role
from service.moderation.decisions import Action, Moderation
from service.queues import LEARNING, LEARNING_SCHEDULED, Queues
from service.store import Comment, CommentStatus, CommentStore, keys
from tests.classifier.conftest import synthetic, write_jsonl
from tests.conftest import new_comment
from tests.workers.conftest import Workers, wait_for
from workers import learning
from workers.learning import CURSOR_KEY, moderator_weights

BASE_VERSION = load_model().version


@pytest.fixture
def validation_file(tmp_path: Path) -> Path:
    """Labelled "base data" (synthetic comments written for the tests)."""
    comments, labels = synthetic(200, seed=1)
    return write_jsonl(tmp_path / "base.jsonl", comments, labels)


def learn_settings(validation_file: Path | None, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"learning_delay_seconds": 0}
    if validation_file is not None:
        values["validation_data"] = [validation_file]
    return values | extra


def store_comments(
    redis_client: redis.Redis, comments: Sequence[CommentInput], prefix: str = "c"
) -> list[str]:
    """Store comments the way intake does (ids are fixed so the holdout is too)."""
    store = CommentStore(redis_client)
    ids = []
    for i, item in enumerate(comments):
        comment = Comment(
            id=f"{prefix}{i:07d}",
            thread="https://blog.example/p",
            body=item.text,
            author_name=item.author_name or "a",
            created_at=time.time(),
            status=CommentStatus.PENDING,
        )
        store.accept(comment, nonce=None, nonce_ttl=60)
        ids.append(comment.id)
    redis_client.delete(keys.DRAIN_SCHEDULED)  # no scoring job: moderators decide these
    return ids


def moderate(
    redis_client: redis.Redis, ids: Sequence[str], labels: Sequence[int], moderator: str
) -> None:
    """Approve (label 0) or spam (label 1) each comment, as the moderation API does."""
    moderation = Moderation(redis_client, CommentStore(redis_client))
    for comment_id, label in zip(ids, labels, strict=True):
        moderation.act([comment_id], Action.SPAM if label else Action.APPROVE, moderator)


def feedback(
    redis_client: redis.Redis,
    n: int,
    *,
    seed: int = 2,
    moderators: Sequence[str] = ("alice", "bob"),
    flip: bool = False,
    prefix: str = "c",
) -> list[str]:
    """Store ``n`` synthetic comments and label them, moderators taking turns."""
    comments, labels = synthetic(n, seed=seed)
    ids = store_comments(redis_client, comments, prefix)
    for index, moderator in enumerate(moderators):
        part = slice(index, None, len(moderators))
        moderate(redis_client, ids[part], [1 - y if flip else y for y in labels[part]], moderator)
    return ids


def last_feedback_id(redis_client: redis.Redis) -> str:
    entry_id: bytes = redis_client.xrevrange(keys.FEEDBACK, count=1)[0][0]
    return entry_id.decode()


# -- the weights ---------------------------------------------------------------------


def test_a_lone_moderator_is_down_weighted() -> None:
    assert moderator_weights({"alice": 40}, cap=0.5, budget=100) == {"alice": 0.5}
    assert moderator_weights({"alice": 400}, cap=0.5, budget=100) == {"alice": 0.125}
    assert moderator_weights({"alice": 40}, cap=1.0, budget=100) == {"alice": 1.0}


@pytest.mark.parametrize(
    ("counts", "cap"),
    [
        ({"alice": 90, "bob": 10}, 0.5),
        ({"alice": 90, "bob": 10, "carol": 10}, 0.5),
        ({"alice": 90, "bob": 10, "carol": 10}, 0.4),
        ({"alice": 30, "bob": 30, "carol": 5, "dan": 1}, 0.3),
        ({"alice": 500, "bob": 300}, 0.6),
    ],
)
def test_no_moderator_carries_more_than_the_cap(counts: dict[str, int], cap: float) -> None:
    per_example = moderator_weights(counts, cap=cap, budget=100)
    totals = {name: per_example[name] * n for name, n in counts.items()}
    assert sum(totals.values()) <= min(100, sum(counts.values())) + 1e-9
    assert max(totals.values()) <= cap * sum(totals.values()) + 1e-9
    assert all(0 < weight <= 1 for weight in per_example.values())  # nobody is scaled up


def test_balanced_moderators_keep_full_weight() -> None:
    assert moderator_weights({"alice": 10, "bob": 10, "carol": 10}, cap=0.5, budget=100) == {
        "alice": 1.0,
        "bob": 1.0,
        "carol": 1.0,
    }


# -- the job, in process -------------------------------------------------------------


def test_feedback_update_promotes_a_new_version(
    runtime: Any, redis_client: redis.Redis, validation_file: Path
) -> None:
    rt = runtime(**learn_settings(validation_file))
    feedback(redis_client, 30)
    redis_client.set(LEARNING_SCHEDULED, "1")
    result = learning.update_model()
    assert result["status"] == "promoted"
    version = result["version"]
    assert version.startswith(BASE_VERSION + "+u")
    assert not redis_client.exists(LEARNING_SCHEDULED)  # feedback from now on schedules again
    registry = ModelRegistry(redis_client)
    assert registry.current() == version
    assert redis_client.get(CURSOR_KEY) == last_feedback_id(redis_client).encode()
    card = registry.card(version)
    assert card["learning"]["decision"] == "promoted"
    assert card["learning"]["from_version"] == BASE_VERSION
    assert card["learning"]["feedback"]["examples"] == 30
    validation = card["learning"]["validation"]
    assert validation["n"] == 200
    assert validation["candidate"]["roc_auc"] >= validation["current"]["roc_auc"] - 0.01
    assert card["learning"]["feedback"]["base_examples_replayed"] == 200
    assert card["learning"]["feedback_total"] == 30
    assert card["updates"][-1]["examples"] == 230  # with the base data replayed
    stored = {v.version: v for v in registry.list()}
    assert stored[BASE_VERSION].status == "base"  # registered, so one can roll back to it
    assert stored[version].status == "promoted"
    assert stored[version].current
    assert registry.history()[0]["version"] == version
    assert rt.models.refresh()[0].version == version
    assert learning.update_model() == {"status": "nothing_new"}

    feedback(redis_client, 10, seed=3, prefix="d")  # the next update builds on the last
    again = learning.update_model()
    assert again["status"] == "promoted"
    assert again["from_version"] == version
    assert again["feedback"]["examples"] == 10
    assert again["feedback_total"] == 40
    assert registry.card(again["version"])["updates"][-1]["from_version"] == version


def test_guard_refuses_a_candidate_that_is_worse_on_the_base_data(
    runtime: Any, redis_client: redis.Redis, validation_file: Path
) -> None:
    runtime(**learn_settings(validation_file))
    feedback(redis_client, 100, flip=True)  # every label wrong, at the full weight budget
    result = learning.update_model()
    assert result["status"] == "refused"
    validation = result["validation"]
    assert validation["drop"]["roc_auc"] > 0.01
    registry = ModelRegistry(redis_client)
    assert registry.current() is None  # workers keep the base model
    refused = {v.version: v for v in registry.list()}[result["version"]]
    assert refused.status == "refused"
    assert refused.size == 0  # only the card is kept
    assert refused.card["learning"]["decision"] == "refused"
    with pytest.raises(NotRestorableError):
        registry.rollback(result["version"], actor="test")
    # the bad feedback is consumed: it is not retried with every later update
    assert redis_client.get(CURSOR_KEY) == last_feedback_id(redis_client).encode()


def test_margin_is_a_setting(
    runtime: Any, redis_client: redis.Redis, validation_file: Path
) -> None:
    runtime(**learn_settings(validation_file, learning_max_drop=1.0))
    feedback(redis_client, 100, flip=True)
    assert learning.update_model()["status"] == "promoted"


def test_replaying_the_base_data_absorbs_a_few_wrong_labels(
    runtime: Any, redis_client: redis.Redis, validation_file: Path
) -> None:
    runtime(**learn_settings(validation_file))
    feedback(redis_client, 30, flip=True)
    result = learning.update_model()
    assert result["status"] == "promoted"
    assert result["validation"]["drop"] == {"roc_auc": 0.0, "f1": 0.0}


def test_one_moderator_cannot_swing_the_update(
    runtime: Any, redis_client: redis.Redis, validation_file: Path
) -> None:
    runtime(**learn_settings(validation_file))
    comments, labels = synthetic(10, seed=4)
    ids = store_comments(redis_client, comments)
    moderate(redis_client, ids[:8], labels[:8], "alice")
    moderate(redis_client, ids[8:], labels[8:], "bob")
    result = learning.update_model()
    moderators = result["feedback"]["moderators"]
    assert moderators["alice"] == {"examples": 8, "weight": 2.0}  # as much as bob, no more
    assert moderators["bob"] == {"examples": 2, "weight": 2.0}
    assert result["feedback"]["total_weight"] == 4.0

    comments, labels = synthetic(6, seed=5)
    ids = store_comments(redis_client, comments, prefix="e")
    moderate(redis_client, ids, labels, "carol")
    alone = learning.update_model()
    assert alone["feedback"]["moderators"] == {"carol": {"examples": 6, "weight": 3.0}}


def test_latest_label_wins_and_purged_comments_are_skipped(
    runtime: Any, redis_client: redis.Redis, validation_file: Path
) -> None:
    runtime(**learn_settings(validation_file))
    ids = feedback(redis_client, 12)
    moderate(redis_client, ids[:1], [0], "carol")  # corrects (or changes) the first label
    redis_client.delete(keys.comment(ids[1]))  # purged by retention since
    result = learning.update_model()
    assert result["feedback"]["examples"] == 11
    assert result["feedback"]["purged_skipped"] == 1
    assert "carol" in result["feedback"]["moderators"]


def test_feedback_is_learnt_in_batches(
    runtime: Any, redis_client: redis.Redis, validation_file: Path
) -> None:
    runtime(**learn_settings(validation_file, learning_delay_seconds=600))
    feedback(redis_client, 4)
    result = learning.update_model()
    assert result["status"] == "waiting"
    assert 590 <= result["retry_in"] <= 600
    assert len(ScheduledJobRegistry(LEARNING, connection=redis_client).get_job_ids()) == 1
    assert redis_client.exists(LEARNING_SCHEDULED)  # new feedback does not queue another
    assert Queues.connect(redis_client).enqueue_learning() is None
    assert not redis_client.exists(CURSOR_KEY)
    assert ModelRegistry(redis_client).current() is None


def test_a_second_update_waits_for_the_running_one(
    runtime: Any, redis_client: redis.Redis, validation_file: Path
) -> None:
    runtime(**learn_settings(validation_file))
    feedback(redis_client, 4)
    lock = redis_client.lock(learning.LOCK_KEY, timeout=60)
    assert lock.acquire(blocking=False)
    try:
        assert learning.update_model()["status"] == "busy"
    finally:
        lock.release()
    assert not redis_client.exists(CURSOR_KEY)
    assert learning.update_model()["status"] == "promoted"


def test_without_base_data_a_feedback_holdout_validates(
    runtime: Any, redis_client: redis.Redis
) -> None:
    runtime(**learn_settings(None))
    feedback(redis_client, 20)
    assert learning.update_model()["status"] == "waiting_for_validation"
    assert not redis_client.exists(CURSOR_KEY)  # kept for when the holdout is large enough
    ids = feedback(redis_client, 160, seed=6, prefix="f")
    result = learning.update_model()
    assert result["status"] == "promoted"
    assert result["validation"]["data"] == "feedback holdout"
    held_out = sum(learning.in_holdout(i) for i in ids) + sum(
        learning.in_holdout(f"c{i:07d}") for i in range(20)
    )
    assert result["validation"]["n"] == held_out
    assert result["feedback"]["examples"] == 180 - held_out  # never trained on the holdout


# -- hot swap ------------------------------------------------------------------------


def put_version(
    registry: ModelRegistry, model: Any, *, promote: bool = True
) -> tuple[str, bytes, dict[str, Any]]:
    data, card = dump_model_bytes(model)
    registry.put(model.version, data, card, status=CANDIDATE)
    if promote:
        registry.promote(model.version, actor="test")
    return model.version, data, card


def test_worker_switches_and_rolls_back_in_process(runtime: Any, redis_client: redis.Redis) -> None:
    rt = runtime()
    base = rt.models.base
    assert rt.models.refresh()[0] is base
    newer = base.updated([CommentInput("buy followers at x.com")], [1])
    registry = ModelRegistry(redis_client)
    data, card = dump_model_bytes(base)
    registry.put(base.version, data, card, status="base")
    version, _, _ = put_version(registry, newer)
    model, policy = rt.models.refresh()
    assert model.version == version
    assert policy.spam_above == newer.thresholds.spam_above
    assert rt.model is model  # what jobs see
    registry.rollback(base.version, actor="test")
    assert rt.models.refresh()[0] is base
    registry.rollback(version, actor="test")
    assert rt.models.refresh()[0] is model  # kept in memory: no second load


def test_thresholds_from_settings_still_override_the_card(
    runtime: Any, redis_client: redis.Redis
) -> None:
    rt = runtime(spam_above=0.97)
    registry = ModelRegistry(redis_client)
    put_version(registry, rt.models.base.updated([CommentInput("x.com deals")], [1]))
    assert rt.models.refresh()[1].spam_above == 0.97


def test_a_tampered_model_in_redis_is_refused(
    runtime: Any, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    rt = runtime()
    base = rt.models.base
    registry = ModelRegistry(redis_client)
    version, data, card = put_version(
        registry, base.updated([CommentInput("cheap pills at x.com")], [1])
    )
    tampered = bytearray(data)
    tampered[len(tampered) // 2] ^= 0xFF
    redis_client.hset(f"cg:models:v:{version}", "skops", bytes(tampered))
    with caplog.at_level(logging.ERROR, logger="workers.runtime"):
        assert rt.models.refresh()[0] is base  # keeps the model it has
        assert rt.models.refresh()[0] is base  # and does not try again every batch
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "SHA-256" in errors[0].getMessage()
    with pytest.raises(UntrustedModelError, match="SHA-256"):
        load_model_bytes(bytes(tampered), card)
    with pytest.raises(UntrustedModelError, match="pickle"):
        load_model_bytes(pickle.dumps({"not": "a model"}), card)
    forged = card | {"sha256": hashlib.sha256(bytes(tampered)).hexdigest()}
    with pytest.raises(UntrustedModelError):
        load_model_bytes(bytes(tampered), forged)  # a matching checksum does not help
    # the learning job refuses to build on a current model it cannot load
    with pytest.raises(ModelLoadError, match="cannot be loaded"):
        learning._current_model(rt, registry)


def test_a_version_of_another_base_model_is_ignored(
    runtime: Any, redis_client: redis.Redis
) -> None:
    rt = runtime()
    other = rt.models.base.updated([CommentInput("x.com")], [1])
    other.card["model_version"] = "cg-000000000000+u111111111111"
    registry = ModelRegistry(redis_client)
    data, card = dump_model_bytes(other)
    registry.put(other.version, data, card, status=CANDIDATE)
    registry.promote(other.version, actor="test")
    assert rt.models.refresh()[0] is rt.models.base


# -- a real worker process -----------------------------------------------------------


def post(client: FlaskClient, body: str) -> str:
    response = client.post("/api/v1/comments", json=new_comment(client, body=body))
    assert response.status_code == 202, response.get_json()
    comment_id: str = response.get_json()["id"]
    return comment_id


def decided_version(redis_client: redis.Redis, comment_id: str) -> str | None:
    stored = redis_client.hmget(keys.comment(comment_id), "status", "model_version")
    if stored[0] in (None, b"pending"):
        return None
    return (stored[1] or b"").decode()


def test_running_worker_picks_up_a_model_update(
    workers: Workers, client: FlaskClient, redis_client: redis.Redis, validation_file: Path
) -> None:
    proc = workers.start(
        "worker",
        COMMENTGATE_VALIDATION_DATA=str(validation_file),
        COMMENTGATE_LEARNING_DELAY_SECONDS="0",
    )
    before = post(client, "Lovely chorus, I play this every morning.")
    wait_for(lambda: decided_version(redis_client, before), timeout=60, what="first decision")
    assert decided_version(redis_client, before) == BASE_VERSION

    # moderators label 30 comments through the moderation API, which schedules the update
    comments, labels = synthetic(30, seed=2)
    ids = store_comments(redis_client, comments)
    tokens = [ModeratorStore(redis_client).add(name, Role.MODERATOR) for name in ("ann", "bo")]
    for index, (comment_id, label) in enumerate(zip(ids, labels, strict=True)):
        response = client.post(
            f"/api/v1/moderation/comments/{comment_id}",
            json={"action": "spam" if label else "approve"},
            headers={"Authorization": f"Bearer {tokens[index % 2]}"},
        )
        assert response.status_code == 200, response.get_json()
    registry = ModelRegistry(redis_client)
    last = last_feedback_id(redis_client).encode()
    wait_for(lambda: redis_client.get(CURSOR_KEY) == last, timeout=60, what="all feedback learnt")
    promoted = registry.current()
    assert promoted is not None
    assert promoted.startswith(BASE_VERSION + "+u")

    after = post(client, "Lovely chorus, I play this every evening.")
    wait_for(lambda: decided_version(redis_client, after), timeout=60, what="second decision")
    assert decided_version(redis_client, after) == promoted
    assert decided_version(redis_client, before) == BASE_VERSION  # recorded per comment
    assert proc.poll() is None  # the same process: no restart


def test_scores_change_with_the_promoted_model(runtime: Any, redis_client: redis.Redis) -> None:
    """The switched model is really used: decisions carry its score, not the base's."""
    rt = runtime()
    text = "subscribe to my channel for free gift cards"
    base_score = float(rt.models.base.predict_proba([CommentInput(text)])[0])
    newer = rt.models.base.updated(
        [CommentInput(text)] * 5, [0] * 5, sample_weight=np.ones(5), epochs=20
    )
    put_version(ModelRegistry(redis_client), newer)
    ids = store_comments(redis_client, [CommentInput(text)], prefix="s")
    from workers.jobs import decide_comments

    assert decide_comments(rt, ids) == ids
    stored = redis_client.hgetall(keys.comment(ids[0]))
    assert stored[b"model_version"].decode() == newer.version
    assert float(stored[b"score"]) < base_score
