"""The importer: labels in the site's history, idempotence, --publish through the API."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence

import pytest
import redis
from flask.testing import FlaskClient

from classifier import CommentInput, SpamModel, load_model
from service.core.imports import ImportedComment, ImportFormatError, imported_comment_id
from service.core.imports.disqus import parse_disqus
from service.core.imports.run import Importer
from service.core.imports.wordpress import parse_wordpress
from service.core.site_labels import LabelledComment, SiteLabels, record_labels
from service.core.store import CommentStatus, CommentStore
from service.core.store import keys as store_keys
from tests.service.core.imports.exports import (
    WXR_TAIL,
    DsqPost,
    WpComment,
    disqus,
    wp_item,
    wxr,
    wxr_head,
)

POST = "https://blog.example/2021/06/indexes"
COMMENTS = [
    WpComment(1, "Which index type suits a log table?", date_gmt="2021-06-01 09:00:00"),
    WpComment(2, "Cheap followers at our shop, visit now.", approved="spam"),
    WpComment(3, "A B-tree, unless you only append.", parent=1, date_gmt="2021-06-01 10:00:00"),
    WpComment(4, "Replying to the spam.", parent=2, date_gmt="2021-06-01 11:00:00"),
    WpComment(5, "Waiting for review.", approved="0"),
    WpComment(6, "Linked from elsewhere.", kind="pingback"),
    WpComment(7, "Thanks, that helped.", date_gmt="2021-06-01 08:00:00", email="early@example.org"),
]


@pytest.fixture(scope="module")
def model() -> SpamModel:
    return load_model()


def wp_comments(document: str) -> Iterator[ImportedComment]:
    return parse_wordpress(io.BytesIO(document.encode()), "export.xml")


def importer(
    client: redis.Redis, model: SpamModel, *, publish: bool = False, batch_size: int = 2000
) -> Importer:
    return Importer(
        client,
        site="blog",
        model=lambda: model,
        labeller="import:wordpress",
        publish=publish,
        batch_size=batch_size,
    )


def history(
    client: redis.Redis, model: SpamModel, site: str = "blog"
) -> dict[str, tuple[int, str]]:
    width = model.features([CommentInput("x")]).shape[1]
    loaded = SiteLabels(client, site, model.feature_space).load(width)
    return {
        k: (int(label), who)
        for k, label, who in zip(loaded.keys, loaded.labels, loaded.labellers, strict=True)
    }


def test_labels_go_to_the_sites_history(redis_client: redis.Redis, model: SpamModel) -> None:
    stats = importer(redis_client, model).run(wp_comments(wxr([(POST, COMMENTS)])))
    assert (stats.read, stats.ham, stats.spam, stats.batches) == (7, 4, 1, 1)
    assert dict(stats.skipped) == {"pending": 1, "pingback": 1}
    assert stats.history == 5
    recorded = history(redis_client, model)
    labels = {k.rsplit(":", 1)[1]: v for k, v in recorded.items()}
    assert labels == {
        "1": (0, "import:wordpress"),
        "2": (1, "import:wordpress"),
        "3": (0, "import:wordpress"),
        "4": (0, "import:wordpress"),
        "7": (0, "import:wordpress"),
    }
    assert history(redis_client, model, "default") == {}
    assert stats.published == 0
    assert not redis_client.exists(store_keys.thread_published("blog", POST))


def test_importing_again_changes_nothing(redis_client: redis.Redis, model: SpamModel) -> None:
    document = wxr([(POST, COMMENTS)])
    first = importer(redis_client, model, publish=True, batch_size=2).run(wp_comments(document))
    before = history(redis_client, model)
    stored = sorted(redis_client.keys("cg:*"))
    again = importer(redis_client, model, publish=True, batch_size=2).run(wp_comments(document))
    assert (first.published, again.published) == (4, 0)
    assert (first.batches, again.batches) == (3, 3)
    assert history(redis_client, model) == before
    assert sorted(redis_client.keys("cg:*")) == stored
    assert redis_client.zcard(store_keys.thread_published("blog", POST)) == 4


def test_publish_shows_approved_comments_in_their_thread(
    redis_client: redis.Redis, model: SpamModel, client: FlaskClient
) -> None:
    other = "https://blog.example/2021/07/other"
    document = wxr([(POST, COMMENTS), (other, [WpComment(1, "On another post.")])])
    importer(redis_client, model, publish=True).run(wp_comments(document))
    page = client.get("/api/v1/comments", query_string={"thread": POST, "site": "blog"}).get_json()
    bodies = [c["body"] for c in page["comments"]]
    assert bodies == [  # oldest first, by the export's dates; spam, pending, pingback left out
        "Thanks, that helped.",
        "Which index type suits a log table?",
        "A B-tree, unless you only append.",
        "Replying to the spam.",
    ]
    by_body = {c["body"]: c for c in page["comments"]}
    question = by_body["Which index type suits a log table?"]
    assert question["created_at"] == "2021-06-01T09:00:00.000+00:00"
    assert by_body["A B-tree, unless you only append."]["parent_id"] == question["id"]
    assert by_body["Replying to the spam."]["parent_id"] is None  # its parent was spam
    assert "author_email" not in question
    other_page = client.get(
        "/api/v1/comments", query_string={"thread": other, "site": "blog"}
    ).get_json()
    assert [c["body"] for c in other_page["comments"]] == ["On another post."]
    stored = CommentStore(redis_client).get(question["id"])
    assert stored is not None
    assert stored.status is CommentStatus.PUBLISHED
    assert stored.reasons == ["imported"]
    assert stored.site == "blog"
    default_page = client.get("/api/v1/comments", query_string={"thread": POST}).get_json()
    assert default_page["comments"] == []  # the default site has no such thread
    assert redis_client.zscore(store_keys.status_index("published"), question["id"]) is not None


def test_ids_are_derived_from_the_source_ids(redis_client: redis.Redis, model: SpamModel) -> None:
    document = disqus([("1", "https://forum.example/t")], [DsqPost("501", "1", "<p>Hello.</p>")])
    Importer(
        redis_client, site="forum", model=lambda: model, labeller="import:disqus", publish=True
    ).run(parse_disqus(io.BytesIO(document.encode()), "d.xml"))
    stored = CommentStore(redis_client).get(imported_comment_id("disqus:501"))
    assert stored is not None
    assert (stored.thread, stored.body, stored.site) == (
        "https://forum.example/t",
        "Hello.",
        "forum",
    )


def test_a_comment_moderated_since_is_left_alone(
    redis_client: redis.Redis, model: SpamModel
) -> None:
    document = wxr([(POST, COMMENTS[:1])])
    importer(redis_client, model, publish=True).run(wp_comments(document))
    (comment_id,) = [
        m.decode() for m in redis_client.zrange(store_keys.thread_published("blog", POST), 0, -1)
    ]
    redis_client.hset(store_keys.comment(comment_id), "status", "spam")  # as a moderator would
    redis_client.zrem(store_keys.thread_published("blog", POST), comment_id)
    again = importer(redis_client, model, publish=True).run(wp_comments(document))
    assert again.published == 0
    assert redis_client.zcard(store_keys.thread_published("blog", POST)) == 0


def test_a_parse_error_keeps_whole_batches_only(
    redis_client: redis.Redis, model: SpamModel
) -> None:
    comments = [WpComment(n, f"Reader note number {n}.") for n in range(1, 6)]
    cut = wxr_head() + wp_item(POST, comments) + "<item><wp:comment>" + WXR_TAIL
    run = importer(redis_client, model, publish=True, batch_size=2)
    with pytest.raises(ImportFormatError, match="mismatched tag"):
        run.run(wp_comments(cut))
    assert (run.stats.read, run.stats.ham, run.stats.batches, run.stats.published) == (5, 4, 2, 4)
    assert run.stats.pending == 1
    assert len(history(redis_client, model)) == 4  # the fifth comment's batch never completed
    complete = importer(redis_client, model, publish=True, batch_size=2).run(
        wp_comments(wxr([(POST, comments)]))
    )
    assert (complete.published, len(history(redis_client, model))) == (1, 5)


def test_a_dry_run_writes_nothing(redis_client: redis.Redis) -> None:
    stats = Importer(None, site="blog", model=None, labeller="x", dry_run=True).run(
        wp_comments(wxr([(POST, COMMENTS)]))
    )
    assert (stats.read, stats.ham, stats.spam) == (7, 4, 1)
    assert redis_client.dbsize() == 0


def test_record_labels_is_called_in_batches(redis_client: redis.Redis, model: SpamModel) -> None:
    calls: list[list[str]] = []

    def record(
        client: redis.Redis, site: str, examples: Sequence[LabelledComment], m: SpamModel
    ) -> int:
        calls.append([e.key.rsplit(":", 1)[1] for e in examples])
        assert (site, m) == ("blog", model)
        return record_labels(client, site, examples, m)

    Importer(
        redis_client,
        site="blog",
        model=lambda: model,
        labeller="import:wordpress",
        batch_size=2,
        record=record,
    ).run(wp_comments(wxr([(POST, COMMENTS)])))
    assert calls == [["1", "2"], ["3", "4"], ["7"]]
