"""The Disqus parser: labels, skipped kinds, threads, parents, HTML messages, format errors."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from service.core.imports import ImportedComment, ImportFormatError
from service.core.imports.disqus import parse_disqus
from tests.service.core.imports.exports import DSQ_HEAD, DSQ_TAIL, DsqPost, WpComment, disqus, wxr

THREADS = [("7001", "https://forum.example/t/welcome"), ("7002", "https://forum.example/t/faq")]


def parse(document: str) -> list[ImportedComment]:
    return list(parse_disqus(io.BytesIO(document.encode()), "disqus.xml"))


def test_spam_deleted_and_ham() -> None:
    posts = [
        DsqPost("1", "7001", "<p>Glad to be here.</p>"),
        DsqPost("2", "7001", "<p>Cheap loans, apply today.</p>", spam=True),
        DsqPost("3", "7001", "<p>Removed by its author.</p>", deleted=True),
        DsqPost("4", "7001", "<p>Deleted as spam.</p>", spam=True, deleted=True),
        DsqPost("5", "7001", "", deleted=True),
        DsqPost("6", "7001", "<p></p>"),
    ]
    got = [(c.key, c.label, c.skipped) for c in parse(disqus(THREADS, posts))]
    assert got == [
        ("disqus:1", 0, ""),
        ("disqus:2", 1, ""),
        ("disqus:3", None, "deleted"),
        ("disqus:4", 1, ""),
        ("disqus:5", None, "deleted"),
        ("disqus:6", None, "empty"),
    ]


def test_threads_parents_authors_and_dates() -> None:
    posts = [
        DsqPost("11", "7002", "<p>How do I reset it?</p>", name="Bo", email="bo@example.org"),
        DsqPost("12", "7002", "<p>Hold the button.</p>", parent="11", ip="203.0.113.5"),
        DsqPost("13", "9999", "<p>Thread not listed.</p>"),
    ]
    question, answer, orphan = parse(disqus(THREADS, posts))
    assert question.thread == answer.thread == "https://forum.example/t/faq"
    assert (question.author_name, question.author_email) == ("Bo", "bo@example.org")
    assert question.parent_key == ""
    assert answer.parent_key == "disqus:11"
    assert answer.ip == "203.0.113.5"
    assert answer.source == "disqus"
    assert question.created_at == datetime(2020, 2, 3, 4, 5, 6, tzinfo=UTC).timestamp()
    assert orphan.thread == "disqus-thread:9999"


def test_messages_become_plain_text_with_their_links() -> None:
    message = (
        "<p>First paragraph &amp; more.</p><p>Line one<br>line two</p>"
        '<p>See <a href="https://docs.example/guide/install/linux" rel="nofollow noopener" '
        'title="https://docs.example/guide/install/linux">docs.example/guide/ins...</a> and '
        '<a href="https://shop.example/deal" rel="nofollow">this offer</a></p>'
    )
    (post,) = parse(disqus(THREADS, [DsqPost("1", "7001", message)]))
    assert post.text == (
        "First paragraph & more.\n\nLine one\nline two\n\n"
        "See https://docs.example/guide/install/linux and this offer (https://shop.example/deal)"
    )


def test_a_document_without_namespaces_is_read_too() -> None:
    document = (
        "<disqus><thread id='1'><link>https://x.example/a</link></thread>"
        "<post id='5'><message>hi</message><isSpam>false</isSpam><thread id='1'/></post></disqus>"
    )
    (post,) = parse(document)
    assert (post.key, post.thread, post.label) == ("disqus:5", "https://x.example/a", 0)


def test_a_wordpress_export_is_named_as_such() -> None:
    with pytest.raises(ImportFormatError, match=r"WordPress export.*commentgate import wordpress"):
        parse(wxr([("https://blog.example/p", [WpComment(1, "Hi")])]))


def test_another_document() -> None:
    with pytest.raises(ImportFormatError, match=r"<feed>, expected <disqus>"):
        parse('<feed xmlns="http://www.w3.org/2005/Atom"></feed>')


def test_an_export_without_posts() -> None:
    with pytest.raises(ImportFormatError, match="holds no posts"):
        parse(disqus(THREADS, []))
    with pytest.raises(ImportFormatError, match="holds no posts"):
        parse(DSQ_HEAD + DSQ_TAIL)
