"""Export files written by the tests: WordPress WXR and Disqus XML, small and generated.

Every comment text here is written for these tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

WP_NS = "http://wordpress.org/export/1.2/"


@dataclass(frozen=True)
class WpComment:
    """One ``<wp:comment>`` to write."""

    comment_id: int
    content: str
    approved: str = "1"
    kind: str = ""
    parent: int = 0
    author: str = "Reader"
    email: str = "reader@example.org"
    url: str = ""
    ip: str = "192.0.2.10"
    date_gmt: str = "2021-06-01 09:30:00"
    date: str = "2021-06-01 11:30:00"


def cdata(text: str) -> str:
    """Text as a CDATA section (splitting any ``]]>`` it holds)."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def wp_comment(c: WpComment) -> str:
    return (
        "<wp:comment>"
        f"<wp:comment_id>{c.comment_id}</wp:comment_id>"
        f"<wp:comment_author>{cdata(c.author)}</wp:comment_author>"
        f"<wp:comment_author_email>{escape(c.email)}</wp:comment_author_email>"
        f"<wp:comment_author_url>{escape(c.url)}</wp:comment_author_url>"
        f"<wp:comment_author_IP>{escape(c.ip)}</wp:comment_author_IP>"
        f"<wp:comment_date>{c.date}</wp:comment_date>"
        f"<wp:comment_date_gmt>{c.date_gmt}</wp:comment_date_gmt>"
        f"<wp:comment_content>{cdata(c.content)}</wp:comment_content>"
        f"<wp:comment_approved>{c.approved}</wp:comment_approved>"
        f"<wp:comment_type>{c.kind}</wp:comment_type>"
        f"<wp:comment_parent>{c.parent}</wp:comment_parent>"
        "<wp:comment_user_id>0</wp:comment_user_id>"
        "<wp:commentmeta><wp:meta_key>akismet_result</wp:meta_key>"
        "<wp:meta_value>false</wp:meta_value></wp:commentmeta>"
        "</wp:comment>\n"
    )


def wp_item(link: str, comments: Iterable[WpComment], *, post_id: int = 1) -> str:
    body = "".join(wp_comment(c) for c in comments)
    return (
        f"<item><title>Post {post_id}</title><link>{escape(link)}</link>"
        f"<pubDate>Tue, 01 Jun 2021 08:00:00 +0000</pubDate>"
        f"<dc:creator>{cdata('editor')}</dc:creator>"
        f'<guid isPermaLink="false">{escape(link)}?p={post_id}</guid>'
        f"<content:encoded>{cdata('<p>The post itself, which the import ignores.</p>')}"
        "</content:encoded>"
        f"<wp:post_id>{post_id}</wp:post_id><wp:status>publish</wp:status>"
        f"<wp:post_type>post</wp:post_type>\n{body}</item>\n"
    )


def wxr_head(ns: str = WP_NS) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" ?>\n'
        '<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        f'xmlns:wp="{ns}">\n<channel><title>A test blog</title>'
        "<link>https://blog.example</link><wp:wxr_version>1.2</wp:wxr_version>"
        "<wp:author><wp:author_id>1</wp:author_id><wp:author_login>editor</wp:author_login>"
        "</wp:author>\n"
    )


WXR_TAIL = "</channel>\n</rss>\n"


def wxr(posts: Sequence[tuple[str, Sequence[WpComment]]], *, ns: str = WP_NS) -> str:
    """A whole WXR document: (post link, comments) per post."""
    items = "".join(wp_item(link, cs, post_id=i + 1) for i, (link, cs) in enumerate(posts))
    return wxr_head(ns) + items + WXR_TAIL


@dataclass(frozen=True)
class DsqPost:
    """One Disqus ``<post>`` to write."""

    post_id: str
    thread_id: str
    message: str
    spam: bool = False
    deleted: bool = False
    parent: str = ""
    name: str = "Reader"
    email: str = "reader@example.org"
    ip: str = "198.51.100.7"
    created: str = "2020-02-03T04:05:06Z"


DSQ_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    '<category dsq:id="10"><forum>testforum</forum><title>General</title>'
    "<isDefault>true</isDefault></category>\n"
)
DSQ_TAIL = "</disqus>\n"


def dsq_thread(thread_id: str, link: str) -> str:
    return (
        f"<thread dsq:id={quoteattr(thread_id)}><id /><forum>testforum</forum>"
        '<category dsq:id="10" />'
        f"<link>{escape(link)}</link><title>A thread</title><message />"
        "<createdAt>2020-01-01T00:00:00Z</createdAt>"
        "<author><name>Editor</name><isAnonymous>false</isAnonymous></author>"
        "<isClosed>false</isClosed><isDeleted>false</isDeleted></thread>\n"
    )


def dsq_post(p: DsqPost) -> str:
    parent = f"<parent dsq:id={quoteattr(p.parent)} />" if p.parent else ""
    return (
        f"<post dsq:id={quoteattr(p.post_id)}><id />"
        f"<message>{cdata(p.message)}</message>"
        f"<createdAt>{p.created}</createdAt>"
        f"<isDeleted>{'true' if p.deleted else 'false'}</isDeleted>"
        f"<isSpam>{'true' if p.spam else 'false'}</isSpam>"
        f"<author><email>{escape(p.email)}</email><name>{escape(p.name)}</name>"
        "<isAnonymous>false</isAnonymous><username>reader</username></author>"
        f"<ipAddress>{p.ip}</ipAddress>"
        f"<thread dsq:id={quoteattr(p.thread_id)} />{parent}</post>\n"
    )


def disqus(threads: Sequence[tuple[str, str]], posts: Sequence[DsqPost]) -> str:
    """A whole Disqus export: (thread id, link) per thread, then the posts."""
    return (
        DSQ_HEAD
        + "".join(dsq_thread(t, link) for t, link in threads)
        + "".join(dsq_post(p) for p in posts)
        + DSQ_TAIL
    )


# -- generated large exports --------------------------------------------------------

_HAM = (
    "Thanks for walking through the migration step by step; the part about the index "
    "rebuild saved my evening. One question: does the same apply on version {n}?"
)
_SPAM = (
    "Earn money from home today!!! Visit https://cheap-deals-{n}.example for the best "
    "offers on watches and pills, limited time only, call now."
)


def generated_label(n: int) -> str:
    """``wp:comment_approved`` of generated comment ``n``: ham, a third spam, 2% pending."""
    return "spam" if n % 3 == 0 else "0" if n % 50 == 1 else "1"


def write_large_wxr(path: Path, comments: int, *, per_post: int = 100) -> dict[str, int]:
    """Write a WXR export of ``comments`` comments, streaming; returns the expected counts."""
    counts = {"ham": 0, "spam": 0, "pending": 0}
    with path.open("w", encoding="utf-8") as out:
        out.write(wxr_head())
        for first in range(0, comments, per_post):
            batch = []
            for n in range(first, min(first + per_post, comments)):
                approved = generated_label(n)
                counts[{"1": "ham", "spam": "spam", "0": "pending"}[approved]] += 1
                text = (_SPAM if approved == "spam" else _HAM).format(n=n)
                batch.append(WpComment(n + 1, text, approved=approved, author=f"Reader {n}"))
            out.write(wp_item(f"https://blog.example/posts/{first}", batch, post_id=first + 1))
        out.write(WXR_TAIL)
    return counts


def write_large_disqus(path: Path, posts: int, *, per_thread: int = 100) -> dict[str, int]:
    """Write a Disqus export of ``posts`` posts, streaming; returns the expected counts."""
    counts = {"ham": 0, "spam": 0, "deleted": 0}
    with path.open("w", encoding="utf-8") as out:
        out.write(DSQ_HEAD)
        for t in range(0, posts, per_thread):
            out.write(dsq_thread(str(t), f"https://forum.example/t/{t}"))
        for n in range(posts):
            spam, deleted = n % 3 == 0, n % 50 == 1
            counts["spam" if spam else "deleted" if deleted else "ham"] += 1
            text = (_SPAM if spam else _HAM).format(n=n)
            thread = str(n // per_thread * per_thread)
            out.write(dsq_post(DsqPost(str(100000 + n), thread, f"<p>{text}</p>", spam, deleted)))
        out.write(DSQ_TAIL)
    return counts
