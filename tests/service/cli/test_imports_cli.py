"""``commentgate import wordpress|disqus``, through the real console script."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient
from rq.job import Job

from classifier import load_model
from service.core.queues import LEARNING
from service.core.site_labels import SiteLabels
from service.core.store.keys import learning_scheduled
from tests.conftest import run_commentgate, settings_env
from tests.service.core.imports.exports import (
    WXR_TAIL,
    DsqPost,
    WpComment,
    disqus,
    wp_item,
    wxr,
    wxr_head,
)
from tests.service.core.imports.test_xml import BILLION_LAUGHS, EXTERNAL_ENTITY

POST = "https://blog.example/2021/06/indexes"
WP = wxr(
    [
        (
            POST,
            [
                WpComment(1, "Which index type suits a log table?"),
                WpComment(2, "Cheap followers at our shop, visit now.", approved="spam"),
                WpComment(3, "Waiting for review.", approved="0"),
                WpComment(4, "Linked from elsewhere.", kind="pingback"),
                WpComment(5, "Deleted by the owner.", approved="trash"),
            ],
        )
    ]
)
THREAD = "https://forum.example/t/welcome"
DISQUS = disqus(
    [("70", THREAD)],
    [
        DsqPost("1", "70", "<p>Glad this forum moved.</p>", created="2020-02-03T04:05:06Z"),
        DsqPost(
            "2", "70", "<p>Replying <b>here</b>.</p>", parent="1", created="2020-02-04T00:00:00Z"
        ),
        DsqPost("3", "70", "<p>Casino bonus, click.</p>", spam=True),
        DsqPost("4", "70", "<p>Gone.</p>", deleted=True),
    ],
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def history_size(client: redis.Redis, site: str) -> int:
    return len(SiteLabels(client, site, load_model().feature_space))


def test_wordpress_records_labels_once_and_queues_learning(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    export = write(tmp_path, "blog.xml", WP)
    result = run_commentgate(redis_url, "import", "wordpress", str(export), "--site", "blog")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "read 5, ham 1, spam 1, skipped 3 (pending 1, trash 1, pingback 1), "
        "published 0, batches 1, site blog"
    )
    assert "import: 100% of blog.xml" in result.stderr
    assert history_size(redis_client, "blog") == 2
    assert redis_client.llen(f"rq:queue:{LEARNING}") == 1
    assert redis_client.exists(learning_scheduled("blog"))  # the update of that site
    job = Job.fetch(redis_client.lindex(f"rq:queue:{LEARNING}", 0).decode(), redis_client)
    assert list(job.args) == ["blog"]
    again = run_commentgate(redis_url, "import", "wordpress", str(export), "--site", "blog")
    assert again.returncode == 0, again.stderr
    assert again.stdout == result.stdout
    assert history_size(redis_client, "blog") == 2
    assert redis_client.llen(f"rq:queue:{LEARNING}") == 1  # one update waiting is enough


def test_disqus_gzipped_publish_shows_the_comments_in_their_thread(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path, client: FlaskClient
) -> None:
    export = tmp_path / "disqus.xml.gz"  # as Disqus mails it
    export.write_bytes(gzip.compress(DISQUS.encode()))
    result = run_commentgate(redis_url, "import", "disqus", str(export), "--publish")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "read 4, ham 2, spam 1, skipped 1 (deleted 1), published 2, batches 1, site default"
    )
    page = client.get("/api/v1/comments", query_string={"thread": THREAD}).get_json()
    first, reply = page["comments"]
    assert (first["body"], first["created_at"]) == (
        "Glad this forum moved.",
        "2020-02-03T04:05:06.000+00:00",
    )
    assert (reply["body"], reply["parent_id"]) == ("Replying here.", first["id"])
    assert history_size(redis_client, "default") == 3
    again = run_commentgate(redis_url, "import", "disqus", str(export), "--publish")
    assert "published 0," in again.stdout
    assert (
        len(client.get("/api/v1/comments", query_string={"thread": THREAD}).json["comments"]) == 2
    )


@pytest.mark.parametrize(
    ("command", "text", "message"),
    [
        (
            "wordpress",
            "<rss><channel>\n<item>\n<link>x</lnk>",
            "not well-formed XML at line 3, column 10",
        ),
        ("wordpress", "not xml at all", "not well-formed XML at line 1, column 1"),
        ("wordpress", BILLION_LAUGHS, "refused for safety: it declares a DTD"),
        ("wordpress", EXTERNAL_ENTITY, "refused for safety: it declares a DTD"),
        ("disqus", BILLION_LAUGHS.replace("rss", "disqus"), "refused for safety"),
        ("wordpress", DISQUS, "this is a Disqus export, not a WordPress one"),
        ("disqus", WP, "this is a WordPress export (RSS), not a Disqus one"),
        ("wordpress", wxr([(POST, [])]), "the WordPress export holds no comments"),
        ("disqus", disqus([("1", THREAD)], []), "the Disqus export holds no posts"),
    ],
    ids=[
        "malformed",
        "not-xml",
        "billion-laughs",
        "external-entity",
        "disqus-dtd",
        "disqus-as-wordpress",
        "wordpress-as-disqus",
        "no-comments",
        "no-posts",
    ],
)
def test_bad_exports_are_one_line_errors(
    redis_url: str,
    redis_client: redis.Redis,
    tmp_path: Path,
    command: str,
    text: str,
    message: str,
) -> None:
    export = write(tmp_path, "export.xml", text)
    result = run_commentgate(redis_url, "import", command, str(export), "--publish")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: export.xml: ")
    assert message in last
    assert "Traceback" not in result.stderr
    assert "root:" not in result.stderr + result.stdout  # /etc/passwd was never read
    assert redis_client.dbsize() == 0


def test_a_missing_file_and_a_bad_site(redis_url: str, tmp_path: Path) -> None:
    missing = run_commentgate(redis_url, "import", "wordpress", str(tmp_path / "nope.xml"))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    export = write(tmp_path, "blog.xml", WP)
    bad_site = run_commentgate(redis_url, "import", "wordpress", str(export), "--site", "a b")
    assert bad_site.returncode == 2
    assert "--site" in bad_site.stderr
    assert "Traceback" not in missing.stderr + bad_site.stderr


def test_redis_unreachable(tmp_path: Path) -> None:
    export = write(tmp_path, "blog.xml", WP)
    result = run_commentgate("redis://127.0.0.1:1/0", "import", "wordpress", str(export))
    assert result.returncode == 1
    assert "Error: Redis at COMMENTGATE_REDIS_URL is unreachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_dry_run_needs_no_redis(tmp_path: Path) -> None:
    export = write(tmp_path, "blog.xml", WP)
    result = run_commentgate(
        "redis://127.0.0.1:1/0", "import", "wordpress", "--dry-run", str(export)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("dry run, nothing written: read 5, ham 1, spam 1,")


def test_an_error_in_the_middle_says_how_far_it_got(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    good = wp_item(POST, [WpComment(n, f"Reader note number {n}.") for n in range(1, 4)])
    export = write(tmp_path, "cut.xml", wxr_head() + good + "<item><wp:comment>" + WXR_TAIL)
    result = run_commentgate(redis_url, "import", "wordpress", str(export))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: cut.xml: not well-formed XML at line")
    assert lines[-2].startswith("stopped after read 3, ham 0, spam 0,")
    assert "the 3 labelled comments read since the last one were not recorded" in lines[-2]
    assert "importing the file again records nothing twice" in lines[-2]
    assert "Traceback" not in result.stderr
    assert history_size(redis_client, "default") == 0  # the batch never completed


def test_the_command_does_not_import_flask(redis_url: str, tmp_path: Path) -> None:
    export = write(tmp_path, "blog.xml", WP)
    code = (
        "import sys\n"
        "from service.cli import cli\n"
        f"cli.main(['import', 'wordpress', {str(export)!r}], standalone_mode=False)\n"
        "print('flask' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=settings_env(redis_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_the_default_site_is_the_site_labels_one() -> None:
    from service.cli import imports
    from service.core.store.keys import DEFAULT_SITE

    assert imports.DEFAULT_SITE == DEFAULT_SITE
