"""Learning from moderators: feedback -> update -> guard -> promotion -> workers switch."""

from __future__ import annotations

import hashlib
import logging
import pickle
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import redis
from flask.testing import FlaskClient
from rq.registry import ScheduledJobRegistry

from classifier import CommentInput, dump_model_bytes, load_model, load_model_bytes
from classifier._site_learning import train_site_model
from classifier.exceptions import UntrustedModelError
from service.cli.model import feedback_of, metrics_of
from service.core.accounts import ModeratorStore, Role
from service.core.model_registry import (
    CANDIDATE,
    ModelRegistry,
    NotRestorableError,
)
from service.core.moderation import Action, Moderation
from service.core.queues import LEARNING, Queues
from service.core.site_labels import SiteLabels
from service.core.store import Comment, CommentStatus, CommentStore, keys
from service.core.store.keys import DEFAULT_SITE, learning_cursor, learning_scheduled
from tests.classifier.conftest import legacy_site_bytes, synthetic
from tests.conftest import new_comment
from tests.workers.conftest import Workers, wait_for
from workers import learning
from workers.feedback import labeller_weights, moderator_weights

BASE_VERSION = load_model().version
CURSOR_KEY = learning_cursor(DEFAULT_SITE)
LEARNING_SCHEDULED = learning_scheduled(DEFAULT_SITE)


def learn_settings(**extra: Any) -> dict[str, Any]:
    return {"learning_delay_seconds": 0} | extra


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
    entry_id: bytes = redis_client.xrevrange(keys.feedback(keys.DEFAULT_SITE), count=1)[0][0]
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


def test_labeller_weights_cap_moderators_over_the_whole_history() -> None:
    weights = labeller_weights(["alice"] * 40, cap=0.5)
    assert weights.tolist() == [0.5] * 40  # a lone moderator moves the site only part way
    mixed = labeller_weights(["alice"] * 90 + ["bob"] * 10 + ["import:wordpress"] * 500, cap=0.5)
    assert mixed[:90].sum() == pytest.approx(10.0)  # alice carries no more than bob
    assert mixed[90:100].tolist() == [1.0] * 10
    assert mixed[100:].tolist() == [1.0] * 500  # the site's own imported history is whole


# -- the job, in process -------------------------------------------------------------


def learned_history(redis_client: redis.Redis, base: Any) -> SiteLabels:
    return SiteLabels(redis_client, DEFAULT_SITE, base.feature_space)


def test_labels_train_a_site_model_that_is_promoted(
    runtime: Any, redis_client: redis.Redis
) -> None:
    rt = runtime(**learn_settings())
    feedback(redis_client, 30)
    redis_client.set(LEARNING_SCHEDULED, "1")
    result = learning.update_model()
    assert result["status"] == "promoted", result
    version = result["version"]
    assert version.startswith(BASE_VERSION + "+s")
    assert not redis_client.exists(LEARNING_SCHEDULED)  # feedback from now on schedules again
    registry = ModelRegistry(redis_client)
    assert registry.current() == version
    assert redis_client.get(CURSOR_KEY) == last_feedback_id(redis_client).encode()
    card = registry.card(version)
    assert card["learning"]["decision"] == "promoted"
    assert card["learning"]["history"] == {"labels": 30, "spam": 15, "ham": 15}
    assert card["site_layer"]["site"] == DEFAULT_SITE
    assert card["site_layer"]["labellers"]["alice"]["labels"] == 15
    assert metrics_of(card).startswith("site oof AUC ")  # what `commentgate model list` shows
    assert " ref AUC " in metrics_of(card)
    assert feedback_of(card) == 30
    reference = card["learning"]["guard"]["reference"]
    assert reference["n"] == 1000  # the shipped reference set judged it
    assert reference["candidate"]["roc_auc"] >= reference["base"]["roc_auc"] - 0.05
    stored = {v.version: v for v in registry.list()}
    assert stored[BASE_VERSION].status == "base"  # registered, so one can roll back to it
    assert stored[BASE_VERSION].size == 0  # by its card: every worker holds the base
    assert stored[version].status == "promoted"
    assert 0 < stored[version].size < 1_000_000  # the layer alone, no copy of the base
    model = rt.models.refresh()[0]
    assert model.version == version
    assert model.layer is not None
    assert model.shares_base_with(rt.models.base)
    assert learning.update_model()["status"] == "nothing_new"

    feedback(redis_client, 10, seed=3, prefix="d")  # the next update retrains on everything
    again = learning.update_model()
    assert again["status"] == "promoted"
    assert again["history"]["labels"] == 40
    assert again["new_labels"] == 10


def test_a_site_model_waits_for_labels_of_both_classes(
    runtime: Any, redis_client: redis.Redis
) -> None:
    runtime(**learn_settings())
    comments, labels = synthetic(20, seed=7)
    spam = [i for i, y in enumerate(labels) if y][:6]
    ids = store_comments(redis_client, [comments[i] for i in spam])
    moderate(redis_client, ids, [1] * len(ids), "alice")
    result = learning.update_model()
    assert result == {"status": "waiting_for_labels", "spam": 6, "ham": 0}
    assert redis_client.get(CURSOR_KEY) == last_feedback_id(redis_client).encode()
    feedback(redis_client, 12, seed=8, prefix="h")
    assert learning.update_model()["status"] == "promoted"


def test_the_history_outlives_purged_comments_and_keeps_the_latest_label(
    runtime: Any, redis_client: redis.Redis
) -> None:
    rt = runtime(**learn_settings())
    ids = feedback(redis_client, 20)
    assert learning.update_model()["status"] == "promoted"
    for comment_id in ids:  # retention purges the comments: their vectors stay
        redis_client.delete(keys.comment(comment_id))
    more = feedback(redis_client, 10, seed=9, prefix="m")
    moderate(redis_client, more[:1], [0], "carol")  # corrects (or changes) one label
    redis_client.delete(keys.comment(more[1]))  # purged before it was learnt: skipped
    result = learning.update_model()
    assert result["history"]["labels"] == 29
    assert result["purged_skipped"] == 1
    history = learned_history(redis_client, rt.models.base).load(rt.models.base.n_features)
    latest = dict(zip(history.keys, history.labellers, strict=True))
    assert latest[more[0]] == "carol"


def test_inverted_labels_in_one_bulk_call_are_refused(
    runtime: Any, redis_client: redis.Redis
) -> None:
    """One moderator inverting ~150 labels (the reported attack) gets no model promoted."""
    runtime(**learn_settings())
    comments, labels = synthetic(150, seed=11)
    ids = store_comments(redis_client, comments)
    moderation = Moderation(redis_client, CommentStore(redis_client))
    spam_ids = [i for i, y in zip(ids, labels, strict=True) if y]
    ham_ids = [i for i, y in zip(ids, labels, strict=True) if not y]
    moderation.act(spam_ids, Action.APPROVE, "mallory")  # bulk: spam approved
    moderation.act(ham_ids, Action.SPAM, "mallory")  # bulk: readers marked as spam
    result = learning.update_model()
    assert result["status"] == "refused"
    assert "contradicts_base" in result["refusals"]
    assert "reference" in result["refusals"]
    registry = ModelRegistry(redis_client)
    assert registry.current() is None  # workers keep the base model
    refused = {v.version: v for v in registry.list()}[result["version"]]
    assert refused.status == "refused"
    assert refused.size == 0  # only the card is kept
    with pytest.raises(NotRestorableError):
        registry.rollback(result["version"], actor="test")


def test_inverted_labels_spread_over_time_are_refused(
    runtime: Any, redis_client: redis.Redis
) -> None:
    runtime(**learn_settings())
    for round_ in range(4):
        feedback(
            redis_client,
            20,
            seed=20 + round_,
            prefix=f"r{round_}",
            flip=True,
            moderators=("mallory",),
        )
        result = learning.update_model()
        if round_ == 0:
            assert result["status"] in ("refused", "waiting_for_labels")
        else:
            assert result["status"] == "refused", result
    assert ModelRegistry(redis_client).current() is None
    assert result["history"]["labels"] == 80  # the cap and the guard see all of it


def test_a_moderator_who_contradicts_the_others_is_refused(
    runtime: Any, redis_client: redis.Redis
) -> None:
    runtime(**learn_settings())
    feedback(redis_client, 30, seed=12, moderators=("alice",))
    feedback(redis_client, 30, seed=14, prefix="b", moderators=("bob",))
    assert learning.update_model()["status"] == "promoted"
    promoted = ModelRegistry(redis_client).current()
    feedback(redis_client, 30, seed=13, prefix="x", moderators=("mallory",), flip=True)
    result = learning.update_model()
    assert result["guard"]["set_aside"] == ["mallory"]  # mallory's labels are not learnt
    assert result["guard"]["labeller_agreement"]["mallory"] < 0.5
    assert result["guard"]["labeller_agreement"]["alice"] >= 0.5
    assert result["history"]["labels"] == 60
    assert result["status"] in ("unchanged", "promoted")
    assert ModelRegistry(redis_client).current() == promoted  # the same labels, the same model


def test_labels_are_learnt_in_batches(runtime: Any, redis_client: redis.Redis) -> None:
    runtime(**learn_settings(learning_delay_seconds=600))
    feedback(redis_client, 4)
    result = learning.update_model()
    assert result["status"] == "waiting"
    assert 590 <= result["retry_in"] <= 600
    assert len(ScheduledJobRegistry(LEARNING, connection=redis_client).get_job_ids()) == 1
    assert redis_client.exists(LEARNING_SCHEDULED)  # new feedback does not queue another
    assert Queues.connect(redis_client).enqueue_learning() is None
    assert not redis_client.exists(CURSOR_KEY)
    assert ModelRegistry(redis_client).current() is None


def test_a_second_update_waits_for_the_running_one(runtime: Any, redis_client: redis.Redis) -> None:
    runtime(**learn_settings())
    feedback(redis_client, 12)
    lock = redis_client.lock(f"{learning.LOCK_KEY}:{DEFAULT_SITE}", timeout=60)
    assert lock.acquire(blocking=False)
    try:
        assert learning.update_model()["status"] == "busy"
    finally:
        lock.release()
    assert not redis_client.exists(CURSOR_KEY)
    assert learning.update_model()["status"] == "promoted"


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


def test_site_models_stored_before_load_onto_the_base_and_its_copy_goes(
    runtime: Any, redis_client: redis.Redis
) -> None:
    """Production Redis holds site models with a copy of the base, and a base's bytes."""
    rt = runtime(**learn_settings())
    base = rt.models.base
    registry = ModelRegistry(redis_client)
    data, card = dump_model_bytes(base)
    registry.put(base.version, data, card, status="base")  # as registries kept it before
    comments, labels = synthetic(30, seed=5)
    trained = train_site_model(
        base, base.features(comments), np.asarray(labels), np.ones(30), site=DEFAULT_SITE
    ).model
    old, old_card = legacy_site_bytes(trained)
    registry.put(trained.version, old, old_card, status=CANDIDATE)
    registry.promote(trained.version, actor="test")
    model = rt.models.refresh()[0]
    assert model.version == trained.version
    assert model.shares_base_with(base)  # the archived copy was checked and dropped
    probe = [CommentInput("cheap pills at x.example"), CommentInput("thanks, great post")]
    np.testing.assert_array_equal(model.predict_proba(probe), trained.predict_proba(probe))
    feedback(redis_client, 30)
    assert learning.update_model()["status"] in ("promoted", "unchanged")
    assert {v.version: v.size for v in registry.list()}[base.version] == 0
    assert registry.card(base.version)["model_version"] == base.version
    registry.rollback(base.version, actor="test")
    assert rt.models.refresh()[0] is base


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
    redis_client.hset(registry.version_key(version), "skops", bytes(tampered))
    with caplog.at_level(logging.ERROR, logger="service.core.model_holder"):
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


def wait_until_judged(redis_client: redis.Redis) -> None:
    """Wait until the learning worker consumed every label and judged the history."""
    last = last_feedback_id(redis_client).encode()
    labels = SiteLabels(redis_client, DEFAULT_SITE, load_model().feature_space)
    judged = f"{learning.TRAINED_KEY}:{DEFAULT_SITE}:{labels.feature_space}"

    def all_learnt() -> bool:
        return (
            redis_client.get(CURSOR_KEY) == last
            and redis_client.get(judged) == str(labels.revision()).encode()
        )

    wait_for(all_learnt, timeout=90, what="all feedback learnt and judged")


def test_running_worker_picks_up_a_model_update(
    workers: Workers, client: FlaskClient, redis_client: redis.Redis
) -> None:
    proc = workers.start("worker", COMMENTGATE_LEARNING_DELAY_SECONDS="0")
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
    wait_until_judged(redis_client)
    promoted = registry.current()
    assert promoted is not None, [v.card.get("learning") for v in registry.list()]
    assert promoted.startswith(BASE_VERSION + "+s")

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


def test_one_moderator_inverting_labels_in_bulk_through_the_api_is_refused(
    workers: Workers, client: FlaskClient, redis_client: redis.Redis
) -> None:
    """The reported attack, against a real learning worker in the default configuration.

    One moderator inverts about 150 labels in two bulk calls; the guard refuses the site
    model, spam keeps being caught, and an admin can still roll back to the base model.
    """
    proc = workers.start("worker", COMMENTGATE_LEARNING_DELAY_SECONDS="0")
    comments, labels = synthetic(150, seed=11)
    ids = store_comments(redis_client, comments)
    token = ModeratorStore(redis_client).add("mallory", Role.MODERATOR)
    spam_ids = [i for i, y in zip(ids, labels, strict=True) if y]
    ham_ids = [i for i, y in zip(ids, labels, strict=True) if not y]
    for chosen, action in ((spam_ids, "approve"), (ham_ids, "spam")):
        response = client.post(
            "/api/v1/moderation/bulk",
            json={"ids": chosen, "action": action},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.get_json()
    wait_until_judged(redis_client)
    registry = ModelRegistry(redis_client)
    assert registry.current() is None  # nothing promoted: workers keep the base model
    refused = [v for v in registry.list() if v.status == "refused"]
    assert refused
    assert "contradicts_base" in refused[-1].card["learning"]["refusals"]
    spam = post(client, "FREE gift cards!!! visit bit.ly/a1b2 now, check out my channel")
    wait_for(lambda: decided_version(redis_client, spam), timeout=60, what="a decision")
    assert redis_client.hget(keys.comment(spam), "status") != b"published"
    assert proc.poll() is None
