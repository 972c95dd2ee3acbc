"""Sites side by side in the workers: each judged, taught and notified with its own context."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import redis
from flask.testing import FlaskClient
from rq.job import Job

from classifier import load_model
from service.core import outbox
from service.core.accounts import ModeratorStore, Role
from service.core.metrics import RedisCollector
from service.core.model_registry import ModelRegistry
from service.core.moderation import Action, Moderation
from service.core.queues import LEARNING, Queues
from service.core.site_labels import SiteLabels
from service.core.sites import SiteRegistry
from service.core.store import Comment, CommentStatus, CommentStore, keys
from service.core.store.keys import DEFAULT_SITE, learning_scheduled
from tests.classifier.conftest import synthetic
from tests.conftest import auth
from tests.workers.conftest import Workers, wait_for
from tests.workers.test_webhooks import OTHER_SECRET, SECRET, Receiver, documented_verifier
from workers import learning
from workers.jobs import decide_comments

BASE_VERSION = load_model().version
GENUINE = "I tried the second recipe on Sunday and the sauce came out a little thin for me."
CAMPAIGN = (
    "Dear readers, my cousin turned three hundred dollars into a new car in six weeks by "
    "following one trader on a chat app, ask for Marta and tell her the blog sent you"
)
NEAR_COPY = (
    "dear readers!! my cousin turned three hundred dollars into a new car in six weeks just by "
    "following one trader on a chat app, ask for Marta and tell her this blog sent you"
)


def store(
    redis_client: redis.Redis,
    site: str,
    bodies: Sequence[str],
    prefix: str,
    *,
    schedule: bool = False,
) -> list[str]:
    """Store pending comments of a site, as intake does; queue scoring if asked."""
    comments = CommentStore(redis_client)
    ids = []
    for i, body in enumerate(bodies):
        comment = Comment(
            id=f"{prefix}{i:07d}",
            thread=f"https://{site}.example/post",
            body=body,
            author_name="Reader",
            created_at=time.time(),
            status=CommentStatus.PENDING,
            site=site,
        )
        comments.accept(comment, nonce=None, nonce_ttl=60)
        ids.append(comment.id)
    redis_client.delete(keys.DRAIN_SCHEDULED)
    if schedule:
        Queues.connect(redis_client).enqueue_scoring()
    return ids


def label(redis_client: redis.Redis, site: str, n: int, prefix: str, seed: int = 2) -> list[str]:
    """``n`` synthetic comments of a site labelled by two moderators taking turns."""
    inputs, labels = synthetic(n, seed=seed)
    ids = store(redis_client, site, [c.text for c in inputs], prefix)
    moderation = Moderation(redis_client, CommentStore(redis_client))
    for index, (comment_id, y) in enumerate(zip(ids, labels, strict=True)):
        moderation.act([comment_id], Action.SPAM if y else Action.APPROVE, ("ann", "bo")[index % 2])
    return ids


def decision(redis_client: redis.Redis, comment_id: str) -> dict[str, Any] | None:
    raw = redis_client.hgetall(keys.comment(comment_id))
    if not raw or raw[b"status"] == b"pending":
        return None
    return {
        "status": raw[b"status"].decode(),
        "reasons": json.loads(raw[b"reasons"]),
        "model_version": raw[b"model_version"].decode(),
    }


def decisions_counted(redis_client: redis.Redis) -> dict[tuple[str, str, str], float]:
    family = next(
        f for f in RedisCollector(redis_client).collect() if f.name == "commentgate_decisions"
    )
    return {
        (s.labels["site"], s.labels["status"], s.labels["reason"]): s.value
        for s in family.samples
        if s.name.endswith("_total")
    }


# -- judging -------------------------------------------------------------------------


def test_a_batch_is_judged_with_each_sites_settings(
    runtime: Any, redis_client: redis.Redis
) -> None:
    rt = runtime()
    sites = SiteRegistry(redis_client)
    sites.add("blog", url="https://blog.example/")
    sites.configure("blog", premoderation=True)
    ids = store(redis_client, DEFAULT_SITE, [GENUINE], "d") + store(
        redis_client, "blog", [GENUINE], "b"
    )
    assert decide_comments(rt, ids) == ids
    default, blog = (decision(redis_client, i) for i in ids)
    assert default == {
        "status": "published",
        "reasons": ["model_score"],
        "model_version": BASE_VERSION,
    }
    assert blog is not None
    assert (blog["status"], blog["model_version"]) == ("held", BASE_VERSION)
    assert "premoderation" in blog["reasons"]
    counted = decisions_counted(redis_client)
    assert counted[(DEFAULT_SITE, "published", "model_score")] == 1
    assert counted[("blog", "held", "premoderation")] == 1

    sites.configure("blog", premoderation=None, spam_above=0.0, publish_below=0.0)
    [later] = store(redis_client, "blog", [GENUINE], "l")
    [plain] = store(redis_client, DEFAULT_SITE, [GENUINE], "p")
    decide_comments(rt, [later, plain])  # the next batch reads the site's settings again
    assert decision(redis_client, later)["status"] in ("spam", "held")  # type: ignore[index]
    assert "premoderation" not in decision(redis_client, later)["reasons"]  # type: ignore[index]
    assert decision(redis_client, plain)["status"] == "published"  # type: ignore[index]
    assert len(rt.sites) == 2  # one context per site, kept


def test_sites_configure_applies_to_a_running_worker(
    workers: Workers, redis_client: redis.Redis
) -> None:
    sites = SiteRegistry(redis_client)
    sites.add("blog", url="https://blog.example/")
    workers.start("worker")
    [first] = store(redis_client, "blog", [GENUINE], "a", schedule=True)
    wait_for(lambda: decision(redis_client, first), timeout=60, what="a decision")
    assert decision(redis_client, first)["status"] == "published"  # type: ignore[index]
    sites.configure("blog", premoderation=True)  # what `commentgate sites configure` does
    [second] = store(redis_client, "blog", [GENUINE], "b", schedule=True)
    wait_for(lambda: decision(redis_client, second), timeout=60, what="a second decision")
    assert decision(redis_client, second)["reasons"] == ["premoderation"]  # type: ignore[index]


def test_campaign_memory_is_per_site(runtime: Any, redis_client: redis.Redis) -> None:
    rt = runtime()
    [marked] = store(redis_client, "alpha", [CAMPAIGN], "m")
    Moderation(redis_client, CommentStore(redis_client)).act([marked], Action.SPAM, "ann")
    ids = store(redis_client, "alpha", [NEAR_COPY], "a") + store(
        redis_client, "beta", [NEAR_COPY], "b"
    )
    decide_comments(rt, ids)
    alpha, beta = (decision(redis_client, i) for i in ids)
    assert alpha == {"status": "spam", "reasons": ["campaign"], "model_version": BASE_VERSION}
    assert beta is not None
    assert "campaign" not in beta["reasons"]
    assert redis_client.xlen(keys.campaigns("beta")) == 0


# -- learning ------------------------------------------------------------------------


def test_labels_schedule_and_teach_only_their_sites_model(
    runtime: Any, redis_client: redis.Redis
) -> None:
    rt = runtime(learning_delay_seconds=0)
    label(redis_client, "alpha", 30, "a")
    assert redis_client.xlen(keys.feedback("alpha")) == 30
    assert not redis_client.exists(keys.feedback(DEFAULT_SITE), keys.feedback("beta"))
    queues = Queues.connect(redis_client)
    assert outbox.drain(redis_client, queues, rt.settings) == 30  # one learning entry per act
    [job_id] = [j.decode() for j in redis_client.lrange(f"rq:queue:{LEARNING}", 0, -1)]
    assert list(Job.fetch(job_id, connection=redis_client).args) == ["alpha"]
    assert redis_client.exists(learning_scheduled("alpha"))
    assert not redis_client.exists(learning_scheduled(DEFAULT_SITE))

    result = learning.update_model("alpha")
    assert result["status"] == "promoted", result
    assert result["site"] == "alpha"
    assert not redis_client.exists(learning_scheduled("alpha"))
    alpha = ModelRegistry(redis_client, site="alpha")
    assert alpha.current() == result["version"]
    assert ModelRegistry(redis_client).current() is None
    assert ModelRegistry(redis_client, site="beta").list() == []
    assert learning.update_model("beta")["status"] == "nothing_to_learn"
    assert learning.update_model(DEFAULT_SITE)["status"] == "nothing_to_learn"

    ids = store(redis_client, "alpha", [GENUINE], "x") + store(redis_client, "beta", [GENUINE], "y")
    decide_comments(rt, ids)
    assert decision(redis_client, ids[0])["model_version"] == result["version"]  # type: ignore[index]
    assert decision(redis_client, ids[1])["model_version"] == BASE_VERSION  # type: ignore[index]
    assert rt.models.current()[0].version == BASE_VERSION  # the default site's holder


def test_a_site_with_learning_off_keeps_its_labels_but_gets_no_model(
    runtime: Any, redis_client: redis.Redis
) -> None:
    rt = runtime(learning_delay_seconds=0)
    sites = SiteRegistry(redis_client)
    sites.add("beta", url="https://beta.example/")
    sites.configure("beta", learning=False)
    label(redis_client, "beta", 30, "b")
    result = learning.update_model("beta")
    assert result == {"status": "learning_off", "new_labels": 30, "purged": 0}
    assert ModelRegistry(redis_client, site="beta").list() == []
    labels = SiteLabels(redis_client, "beta", rt.models.base.feature_space)
    assert len(labels.load(rt.models.base.n_features)) == 30

    sites.configure("beta", learning=None)  # on again: learns from the labels it kept
    assert learning.update_model("beta")["status"] == "promoted"


def test_an_update_of_one_site_waits_with_its_own_flag(
    runtime: Any, redis_client: redis.Redis
) -> None:
    runtime(learning_delay_seconds=600)
    label(redis_client, "alpha", 4, "a")
    assert learning.update_model("alpha")["status"] == "waiting"
    assert redis_client.exists(learning_scheduled("alpha"))
    queues = Queues.connect(redis_client)
    assert queues.enqueue_learning("alpha") is None  # one update waiting per site
    assert queues.enqueue_learning("beta") is not None  # another site's is its own


# -- webhooks ------------------------------------------------------------------------


def test_a_sites_events_go_to_the_global_receivers_and_its_own(
    workers: Workers, redis_client: redis.Redis, make_settings: Any
) -> None:
    everyone, own = Receiver(), Receiver()
    for r in (everyone, own):
        r.thread.start()
    try:
        sites = SiteRegistry(redis_client)
        sites.add("blog", url="https://blog.example/")
        sites.set_webhook("blog", own.url, OTHER_SECRET)
        [plain] = store(redis_client, DEFAULT_SITE, [GENUINE], "d")
        [blogs] = store(redis_client, "blog", [GENUINE], "b", schedule=True)
        env = {"COMMENTGATE_WEBHOOKS": f"{everyone.url}={SECRET}"}
        workers.burst(**env)
        Moderation(redis_client, CommentStore(redis_client)).act([blogs], Action.REJECT, "ann")
        outbox.drain(redis_client, Queues.connect(redis_client), make_settings())
        workers.burst(**env)
        to_everyone, to_own = everyone.delivered(), own.delivered()
    finally:
        for r in (everyone, own):
            r.server.shutdown()
            r.server.server_close()
    verify = documented_verifier()["verify"]
    seen = sorted((json.loads(b)["data"]["id"], json.loads(b)["type"]) for _, b in to_everyone)
    assert seen == sorted([(plain, "comment.published"), (blogs, "comment.published")])
    assert [verify(SECRET, h, b) for h, b in to_everyone]  # signed with the global secret
    assert len(to_own) == 2  # the blog's decision and its moderation, not the default site's
    for headers, body in to_own:
        event = json.loads(body)
        assert verify(OTHER_SECRET, headers, body) == event["id"]
        assert (event["data"]["id"], event["data"]["site"]) == (blogs, "blog")
    assert sorted(json.loads(b)["type"] for _, b in to_own) == [
        "comment.moderated",
        "comment.published",
    ]


# -- two sites side by side, real processes ------------------------------------------


def test_two_sites_side_by_side_learn_and_decide_apart(
    workers: Workers, client: FlaskClient, redis_client: redis.Redis
) -> None:
    """Issue 14's isolation: site A's moderators teach A only; B keeps its base and settings."""
    sites = SiteRegistry(redis_client)
    sites.add("alpha", url="https://alpha.example/")
    sites.add("beta", url="https://beta.example/")
    sites.configure("beta", premoderation=True)
    workers.start("worker", COMMENTGATE_LEARNING_DELAY_SECONDS="0")

    inputs, labels = synthetic(30, seed=2)
    ids = store(redis_client, "alpha", [c.text for c in inputs], "a")
    [marked] = store(redis_client, "alpha", [CAMPAIGN], "m")
    tokens = [ModeratorStore(redis_client).add(name, Role.MODERATOR) for name in ("ann", "bo")]
    for index, (comment_id, y) in enumerate([*zip(ids, labels, strict=True), (marked, 1)]):
        response = client.post(
            f"/api/v1/moderation/comments/{comment_id}",
            json={"action": "spam" if y else "approve"},
            headers=auth(tokens[index % 2]),
        )
        assert response.status_code == 200, response.get_json()

    alpha = ModelRegistry(redis_client, site="alpha")
    history = SiteLabels(redis_client, "alpha", load_model().feature_space)
    last: bytes = redis_client.xrevrange(keys.feedback("alpha"), count=1)[0][0]
    judged = f"{learning.TRAINED_KEY}:alpha:{history.feature_space}"
    wait_for(
        lambda: (
            redis_client.get(keys.learning_cursor("alpha")) == last
            and redis_client.get(judged) == str(history.revision()).encode()
        ),
        timeout=120,
        what="site alpha's labels learnt and judged",
    )
    promoted = alpha.current()
    assert promoted is not None
    assert promoted.startswith(BASE_VERSION + "+s")

    fresh = store(redis_client, "alpha", [GENUINE, NEAR_COPY], "x") + store(
        redis_client, "beta", [GENUINE, NEAR_COPY], "y", schedule=True
    )
    wait_for(lambda: all(decision(redis_client, i) for i in fresh), timeout=60, what="decisions")
    alpha_genuine, alpha_copy, beta_genuine, beta_copy = (decision(redis_client, i) for i in fresh)
    assert alpha_genuine == {
        "status": "published",
        "reasons": ["model_score"],
        "model_version": promoted,
    }
    assert alpha_copy is not None
    assert alpha_copy["status"] == "spam"
    assert "campaign" in alpha_copy["reasons"]
    assert beta_genuine == {
        "status": "held",
        "reasons": ["premoderation"],
        "model_version": BASE_VERSION,
    }
    assert beta_copy is not None
    assert "campaign" not in beta_copy["reasons"]
    assert beta_copy["model_version"] == BASE_VERSION
    # nothing of alpha's leaked into beta or the default site
    assert ModelRegistry(redis_client, site="beta").list() == []
    assert ModelRegistry(redis_client).current() is None
    assert not redis_client.exists(keys.feedback("beta"), keys.campaigns("beta"))
    assert SiteLabels(redis_client, "beta", history.feature_space).revision() == 0
    # A worker counts a batch's decisions just after storing them.
    expected = {("beta", "held", "premoderation"), ("alpha", "spam", "campaign")}
    wait_for(
        lambda: expected <= decisions_counted(redis_client).keys(),
        timeout=30,
        what="the decisions counted",
    )
    counted = decisions_counted(redis_client)
    assert counted[("beta", "held", "premoderation")] >= 1
    assert counted[("alpha", "spam", "campaign")] == 1
