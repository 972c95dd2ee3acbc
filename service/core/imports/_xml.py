"""What both export parsers share: a safe streaming XML reader, HTML to text, dates.

User-supplied XML is hostile input. :func:`xml_events` reads it with defusedxml's
``iterparse``, which refuses a DTD (and with it entity declarations, the "billion
laughs" expansion and external entities such as ``file:///etc/passwd``) before
reading any further. No export from WordPress or Disqus carries a DTD.
"""

from __future__ import annotations

import gzip
import html
import re
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from html.parser import HTMLParser
from typing import BinaryIO, cast
from xml.etree.ElementTree import Element, ParseError
from xml.parsers.expat import ErrorString

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden
from defusedxml import ElementTree as SafeElementTree

from service.core.imports import ImportFormatError, ImportRefusedError

__all__ = [
    "CountingReader",
    "attribute",
    "html_to_text",
    "local_name",
    "namespace",
    "open_export",
    "parse_time",
    "xml_events",
]


class CountingReader:
    """A binary file wrapper that counts the bytes read (for progress).

    Args:
        raw: The open file.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        """Read like the wrapped file, and count."""
        data = self._raw.read(size)
        self.position += len(data)
        return data


def open_export(raw: BinaryIO) -> tuple[CountingReader, BinaryIO]:
    """Wrap an open export: a byte counter on the file, and the stream to parse.

    A gzip-compressed export (Disqus mails ``.xml.gz`` files) is decompressed as it is
    read, so it never needs unpacking on disk; progress still counts the file's bytes.

    Args:
        raw: The file, opened in binary mode (seekable).

    Returns:
        (the counter, whose ``position`` is the bytes of the file read so far; the
        stream of XML to parse).
    """
    compressed = raw.read(2) == b"\x1f\x8b"
    raw.seek(0)
    reader = CountingReader(raw)
    if compressed:
        return reader, cast(BinaryIO, gzip.GzipFile(fileobj=cast(BinaryIO, reader), mode="rb"))
    return reader, cast(BinaryIO, reader)


def xml_events(source: CountingReader | BinaryIO, name: str) -> Iterator[tuple[str, Element]]:
    """Stream ("start" | "end", element) pairs from ``source``, refusing DTDs.

    Args:
        source: The export, opened in binary mode.
        name: The file's name, for messages.

    Raises:
        ImportRefusedError: The document declares a DTD or entities.
        ImportFormatError: It is not well-formed XML (with line and column).
    """
    try:
        yield from SafeElementTree.iterparse(source, events=("start", "end"), forbid_dtd=True)
    except ParseError as exc:
        line, column = exc.position
        reason = ErrorString(exc.code) if exc.code else "not XML"
        raise ImportFormatError(
            f"{name}: not well-formed XML at line {line}, column {column + 1}: {reason}"
        ) from None
    except DTDForbidden:
        raise ImportRefusedError(
            f"{name}: refused for safety: it declares a DTD (<!DOCTYPE ...>), which exports "
            "never need and which can expand entities or read other files"
        ) from None
    except EntitiesForbidden:
        raise ImportRefusedError(
            f"{name}: refused for safety: it declares XML entities, which exports never need"
        ) from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ImportFormatError(f"{name}: not a readable gzip file: {exc}") from None
    except DefusedXmlException as exc:
        raise ImportRefusedError(
            f"{name}: refused for safety: {type(exc).__name__} (external references)"
        ) from None


def namespace(tag: str) -> str:
    """The namespace URI of an ElementTree tag, ``""`` for none."""
    return tag[1 : tag.index("}")] if tag.startswith("{") else ""


@lru_cache(maxsize=256)  # an export repeats a few dozen tags; bounded for hostile ones
def local_name(tag: str) -> str:
    """The tag without its namespace."""
    return tag.rsplit("}", 1)[-1]


def attribute(element: Element, name: str) -> str:
    """The value of the attribute called ``name`` in any namespace (``dsq:id``), or ``""``."""
    for key, value in element.attrib.items():
        if local_name(key) == name:
            return value.strip()
    return ""


def parse_time(value: str) -> float | None:
    """Unix time of ``2019-03-04 10:11:12`` or ``2019-03-04T10:11:12Z`` (UTC when naive).

    Returns:
        The time, or ``None`` for an empty or invalid value (WordPress writes
        ``0000-00-00 00:00:00`` for "no date").
    """
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


_BLOCKS = frozenset(
    {"p", "div", "blockquote", "pre", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr"}
)
_SKIP_CONTENT = frozenset({"script", "style"})
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_ELLIPSIS = ("...", "\u2026")


class _TextParser(HTMLParser):
    """Collects the text of an HTML fragment; paragraphs become lines, links keep URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._links: list[tuple[str, int]] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_CONTENT:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a":
            href = next((v or "" for k, v in attrs if k == "href"), "")
            self._links.append((href.strip(), len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_CONTENT:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            if href.lower().startswith(("http://", "https://")):
                shown = "".join(self.parts[start:]).strip()
                del self.parts[start:]
                self.parts.append(_link_text(shown, href))

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _link_text(shown: str, href: str) -> str:
    """What a link reads as in plain text: the URL as typed, or "text (URL)".

    Disqus turns a typed URL into a link whose text is the URL, often shortened
    (``example.com/a-long-pa...``): that becomes the URL again. A link with other text
    keeps both, so the URL a spammer hid behind words is not lost to the model.
    """
    bare = shown
    for mark in _ELLIPSIS:
        bare = bare.removesuffix(mark)
    bare_href = href.split("://", 1)[-1]
    if (
        not shown
        or shown == href
        or (bare and (href.startswith(bare) or bare_href.startswith(bare)))
    ):
        return href
    return f"{shown} ({href})"


def html_to_text(content: str) -> str:
    """Turn a comment's HTML into the plain text a reader sees.

    Paragraphs and line breaks become lines, tags go, entities are decoded, and links
    keep their URL (see :func:`_link_text`). Text without markup is returned stripped.
    """
    if "<" not in content:
        return html.unescape(content).strip() if "&" in content else content.strip()
    parser = _TextParser()
    parser.feed(content)
    parser.close()
    text = _TRAILING_SPACE.sub("\n", "".join(parser.parts))
    return _BLANK_LINES.sub("\n\n", text).strip()
