"""The WordPress (WXR) parser: labels, skipped kinds, threads, parents, dates, format errors."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime

import pytest

from service.core.imports import ImportedComment, ImportFormatError
from service.core.imports.wordpress import parse_wordpress
from tests.service.core.imports.exports import (
    DSQ_HEAD,
    DSQ_TAIL,
    WXR_TAIL,
    DsqPost,
    WpComment,
    dsq_post,
    wxr,
    wxr_head,
)

POST = "https://blog.example/2021/06/indexes"


def parse(document: str) -> list[ImportedComment]:
    return list(parse_wordpress(io.BytesIO(document.encode()), "export.xml"))


def key(comment_id: int, link: str = POST) -> str:
    return f"wordpress:{hashlib.sha1(link.encode()).hexdigest()}:{comment_id}"


def test_every_status_maps_to_a_label_or_a_skip() -> None:
    comments = [
        WpComment(1, "Approved reader question about indexes.", approved="1"),
        WpComment(2, "Buy followers cheap at our store.", approved="spam"),
        WpComment(3, "Waiting for a moderator.", approved="0"),
        WpComment(4, "Thrown away by the owner.", approved="trash"),
        WpComment(5, "On a post that was trashed.", approved="post-trashed"),
        WpComment(6, "Another blog linked here.", approved="1", kind="pingback"),
        WpComment(7, "A trackback excerpt.", approved="1", kind="trackback"),
        WpComment(8, "Order status changed.", approved="1", kind="order_note"),
        WpComment(9, "   ", approved="1"),
        WpComment(10, "Marked approved with an odd value.", approved="approved"),
        WpComment(11, "An explicit comment type.", approved="spam", kind="comment"),
    ]
    got = {c.key: (c.label, c.skipped) for c in parse(wxr([(POST, comments)]))}
    assert got == {
        key(1): (0, ""),
        key(2): (1, ""),
        key(3): (None, "pending"),
        key(4): (None, "trash"),
        key(5): (None, "trash"),
        key(6): (None, "pingback"),
        key(7): (None, "pingback"),
        key(8): (None, "other"),
        key(9): (None, "empty"),
        key(10): (None, "other"),
        key(11): (1, ""),
    }


def test_fields_thread_parent_and_date() -> None:
    other = "https://blog.example/2021/07/caching"
    document = wxr(
        [
            (POST, [WpComment(1, "First!", author="Ana", email="ana@example.org")]),
            (
                other,
                [
                    WpComment(1, "Same id, other post.", url="https://ana.example"),
                    WpComment(2, "A reply.", parent=1, ip="203.0.113.9"),
                ],
            ),
        ]
    )
    first, second, reply = parse(document)
    assert first.key == key(1)
    assert second.key == key(1, other) != first.key  # ids are per post
    assert (first.thread, second.thread) == (POST, other)
    assert (first.author_name, first.author_email) == ("Ana", "ana@example.org")
    assert second.author_url == "https://ana.example"
    assert first.parent_key == ""
    assert reply.parent_key == key(1, other)
    assert reply.ip == "203.0.113.9"
    assert first.source == "wordpress"
    assert first.created_at == datetime(2021, 6, 1, 9, 30, tzinfo=UTC).timestamp()


def test_local_date_when_the_gmt_date_is_empty() -> None:
    comment = WpComment(1, "Pending once.", date_gmt="0000-00-00 00:00:00")
    (parsed,) = parse(wxr([(POST, [comment])]))
    assert parsed.created_at == datetime(2021, 6, 1, 11, 30, tzinfo=UTC).timestamp()


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_every_wxr_version(version: str) -> None:
    document = wxr([(POST, [WpComment(1, "Hello.")])], ns=f"http://wordpress.org/export/{version}/")
    assert [c.label for c in parse(document)] == [0]


def test_html_in_a_comment_becomes_text() -> None:
    content = (
        "I tried <strong>both</strong> &amp; it failed:\n"
        '<a href="https://pastebin.example/x1">my log</a>\n'
        "<blockquote>quoted</blockquote>"
    )
    (parsed,) = parse(wxr([(POST, [WpComment(1, content)])]))
    assert (
        parsed.text == "I tried both & it failed:\nmy log (https://pastebin.example/x1)\n\nquoted"
    )


def test_comments_before_the_link_still_get_their_thread() -> None:
    comment = (
        "<wp:comment><wp:comment_id>4</wp:comment_id><wp:comment_content>Early.</wp:comment_content>"
        "<wp:comment_approved>1</wp:comment_approved></wp:comment>"
    )
    document = wxr_head() + f"<item>{comment}<link>{POST}</link></item>" + WXR_TAIL
    (parsed,) = parse(document)
    assert (parsed.thread, parsed.key) == (POST, key(4))


def test_a_disqus_export_is_named_as_such() -> None:
    document = DSQ_HEAD + dsq_post(DsqPost("1", "2", "<p>Hi</p>")) + DSQ_TAIL
    with pytest.raises(ImportFormatError, match=r"Disqus export.*commentgate import disqus"):
        parse(document)


def test_an_rss_feed_without_wordpress_namespace() -> None:
    feed = '<rss version="2.0"><channel><item><link>x</link></item></channel></rss>'
    with pytest.raises(ImportFormatError, match="not a WordPress export"):
        parse(feed)


def test_another_document() -> None:
    with pytest.raises(ImportFormatError, match=r"<html>, expected <rss>"):
        parse("<html><body>hello</body></html>")


def test_an_export_without_comments() -> None:
    with pytest.raises(ImportFormatError, match="holds no comments"):
        parse(wxr([(POST, [])]))
