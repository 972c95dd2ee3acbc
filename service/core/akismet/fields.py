"""The Akismet protocol's request fields, read into what commentgate judges and stores.

Akismet clients post form fields (``blog``, ``user_ip``, ``comment_content``, ...) and
many more that commentgate does not use (WordPress adds every ``POST_*`` field of the
comment form and the ``HTTP_*`` server variables): those are ignored, as Akismet does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "MissingFieldError",
    "Submission",
    "read_submission",
]

#: What every check and report must carry (Akismet's required fields besides the key).
REQUIRED = ("blog", "user_ip")
#: Hidden fields that a person never fills: the client names its own with
#: ``honeypot_field_name``; WordPress's Akismet plugin sends its comment form's
#: hidden textarea as ``POST_ak_hp_textarea``.
KNOWN_HONEYPOTS = ("POST_ak_hp_textarea",)
#: Longest kept value of each stored field (longer values are cut).
_LIMITS = {
    "thread": 2048,
    "author": 200,
    "email": 254,
    "url": 2048,
    "ip": 64,
    "user_agent": 512,
}
_FALSE = frozenset({"", "0", "false", "no", "off"})


class MissingFieldError(ValueError):
    """A required field is absent or empty.

    Attributes:
        field: The field's name.
    """

    def __init__(self, field: str) -> None:
        super().__init__(f"Missing required field: {field}.")
        self.field = field


def _cut(value: str, name: str) -> str:
    return value.strip()[: _LIMITS[name]]


def _flag(value: str) -> bool:
    return value.strip().lower() not in _FALSE


@dataclass(frozen=True, slots=True)
class Submission:
    """One comment as an Akismet client describes it.

    Attributes:
        blog: The site's front page, as the client knows it.
        user_ip: The commenter's address.
        user_agent: The commenter's browser.
        referrer: The page the commenter came from.
        permalink: The page the comment is on (its thread).
        comment_type: ``comment``, ``reply``, ``forum-post``, ``contact-form``, ...
        author: The name the commenter gave.
        author_email: Their e-mail address.
        author_url: Their website.
        content: The comment's text.
        is_test: A test call: answered, never stored nor learnt from.
        honeypot: A hidden field that people leave empty was filled.
        guid: The ``X-akismet-guid`` of an earlier check (reports carry it).
        recheck_reason: Set when the client checks again a comment it checked before.
        user_role: The commenter's roles on the site (``administrator`` is trusted).
    """

    blog: str
    user_ip: str
    user_agent: str = ""
    referrer: str = ""
    permalink: str = ""
    comment_type: str = ""
    author: str = ""
    author_email: str = ""
    author_url: str = ""
    content: str = ""
    is_test: bool = False
    honeypot: bool = False
    guid: str = ""
    recheck_reason: str = ""
    user_role: str = ""

    @property
    def thread(self) -> str:
        """The thread the comment is stored in: its page, else the site's front page."""
        return _cut(self.permalink or self.blog, "thread")

    @property
    def trusted_author(self) -> bool:
        """Whether the client says the commenter administers the site (Akismet: never spam)."""
        return "administrator" in {r.strip().lower() for r in self.user_role.split(",")}

    def fingerprint(self) -> str:
        """What finds this comment again without its guid: its text, author and address.

        White space is folded, so a report of a comment its site re-wrapped still matches.
        """
        parts = (" ".join(self.content.split()), self.author.strip(), self.user_ip.strip())
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def read_submission(form: Mapping[str, str]) -> Submission:
    """Read a comment-check or submit-spam/ham request's fields.

    Args:
        form: The request's form fields (unknown ones are ignored).

    Returns:
        The submission.

    Raises:
        MissingFieldError: ``blog`` or ``user_ip`` is missing.
    """
    for name in REQUIRED:
        if not form.get(name, "").strip():
            raise MissingFieldError(name)
    honeypot_name = form.get("honeypot_field_name", "").strip()
    honeypots = (honeypot_name, *KNOWN_HONEYPOTS) if honeypot_name else KNOWN_HONEYPOTS
    return Submission(
        blog=form["blog"].strip(),
        user_ip=_cut(form["user_ip"], "ip"),
        user_agent=_cut(form.get("user_agent", ""), "user_agent"),
        referrer=form.get("referrer", "").strip(),
        permalink=form.get("permalink", "").strip(),
        comment_type=form.get("comment_type", "").strip(),
        author=_cut(form.get("comment_author", ""), "author"),
        author_email=_cut(form.get("comment_author_email", ""), "email"),
        author_url=_cut(form.get("comment_author_url", ""), "url"),
        content=form.get("comment_content", ""),
        is_test=_flag(form.get("is_test", "")),
        honeypot=any(form.get(name, "").strip() for name in honeypots),
        guid=form.get("guid", "").strip(),
        recheck_reason=form.get("recheck_reason", "").strip(),
        user_role=form.get("user_role", ""),
    )
