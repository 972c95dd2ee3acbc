"""The comment form's state after a failed post, and where it waits for the next page.

A browser whose demo-form post was refused (a wrong captcha, invalid fields) is sent
back to the demo page with ``?retry=<id>`` (post/redirect/get): the address bar shows
the page, not the intake, and reloading does not post the form again. What the page
needs to show the form again (the visitor's input, never the captcha answer or the
honeypot, and the messages) waits in Redis under :func:`service.core.store.keys.form_retry`
for :data:`RETRY_TTL_SECONDS`.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis

from service.core.store import keys

logger = logging.getLogger(__name__)

#: How long a refused form waits for its page (a reload after that shows an empty form).
RETRY_TTL_SECONDS = 600
#: What a retry id looks like (``secrets.token_urlsafe(16)``; anything else is unknown).
RETRY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

#: Form field name -> id of its input in the demo form.
FIELD_IDS: dict[str, str] = {
    "body": "comment",
    "author_name": "author",
    "author_email": "email",
    "author_url": "url",
    "captcha_answer": "captcha-answer",
    "captcha_token": "captcha-answer",
}
#: Form field name -> label people see (used in error messages).
FIELD_LABELS: dict[str, str] = {
    "body": "Comment",
    "author_name": "Name",
    "author_email": "Email",
    "author_url": "Website",
    "captcha_answer": "Spam check",
    "captcha_token": "Spam check",
    "thread": "Post",
    "parent_id": "Reply",
}
#: Fields whose input is kept when the form is shown again with errors.
KEPT_FIELDS = ("body", "author_name", "author_email", "author_url")

#: What to tell people for each reason a captcha was not accepted.
CAPTCHA_MESSAGES: dict[str, str] = {
    "wrong_answer": "That answer to the spam check was not right. Please answer the new question.",
    "expired": "The spam-check question expired. Please answer the new one.",
    "reused": "That spam-check question was already used. Please answer the new one.",
    "missing": "Please answer the spam-check question.",
    "forged": "The spam-check question could not be checked. Please answer the new one.",
}


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One problem with the form, for the error summary."""

    field_id: str
    message: str


@dataclass(frozen=True)
class FormState:
    """What the comment form shows: kept values and per-field messages."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    problems: list[FieldProblem] = field(default_factory=list)

    @classmethod
    def from_problem(cls, body: Mapping[str, Any], form: Mapping[str, str]) -> FormState:
        """The form to show again after a failed post.

        Args:
            body: The problem body (``errors``, and ``reason`` for captcha problems).
            form: The submitted form fields.

        Returns:
            The user's input (never the captcha answer or honeypot) and the messages,
            keyed by input id.
        """
        values = {name: str(form.get(name, "")) for name in KEPT_FIELDS}
        errors: dict[str, str] = {}
        problems: list[FieldProblem] = []
        raw_errors = body.get("errors")
        for name, message in (raw_errors if isinstance(raw_errors, dict) else {}).items():
            field_id = FIELD_IDS.get(name, "commentform")
            if name in ("captcha_answer", "captcha_token"):
                sentence = CAPTCHA_MESSAGES.get(
                    str(body.get("reason", "")), CAPTCHA_MESSAGES["missing"]
                )
            else:
                sentence = describe_error(name, str(message))
            if field_id in errors:
                continue
            errors[field_id] = sentence
            problems.append(FieldProblem(field_id=field_id, message=sentence))
        if not problems:
            detail = str(body.get("detail") or "The comment could not be posted.")
            problems.append(FieldProblem(field_id="commentform", message=sentence_case(detail)))
        return cls(values=values, errors=errors, problems=problems)

    def to_json(self) -> str:
        """The form as JSON, for :func:`save_form`."""
        problems = [[p.field_id, p.message] for p in self.problems]
        return json.dumps({"values": self.values, "errors": self.errors, "problems": problems})

    @classmethod
    def from_json(cls, raw: str | bytes) -> FormState | None:
        """The form :meth:`to_json` wrote, or ``None`` when ``raw`` is not one."""
        try:
            data = json.loads(raw)
            values = {k: v for k, v in data["values"].items() if k in KEPT_FIELDS}
            errors = dict(data["errors"])
            problems = [FieldProblem(field_id=f, message=m) for f, m in data["problems"]]
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        texts = [*values.values(), *errors, *errors.values()]
        texts += [t for p in problems for t in (p.field_id, p.message)]
        if not all(isinstance(t, str) for t in texts):
            return None
        return cls(values=values, errors=errors, problems=problems)


def describe_error(name: str, message: str) -> str:
    """Turn a field name and a validation message into a sentence.

    Args:
        name: The form field's name, e.g. ``author_email``.
        message: The validator's message, e.g. ``"is required"``.

    Returns:
        E.g. ``"Name is required."``.
    """
    label = FIELD_LABELS.get(name, name.replace("_", " ").capitalize())
    text = message.strip().rstrip(".")
    if text.lower() == "field required":
        text = "is required"
    if text.startswith(("is ", "must ")):
        return f"{label} {text}."
    return f"{label}: {text[:1].lower()}{text[1:]}."


def sentence_case(text: str) -> str:
    """Capitalise ``text`` and end it with a full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def save_form(client: redis.Redis, form: FormState) -> str:
    """Keep a refused form for the page the browser is sent back to.

    Args:
        client: The app's Redis client.
        form: The form to show again.

    Returns:
        A new random retry id for the page's ``?retry=``.

    Raises:
        redis.RedisError: Redis is unreachable or refused the write.
    """
    retry_id = secrets.token_urlsafe(16)
    client.set(keys.form_retry(retry_id), form.to_json(), ex=RETRY_TTL_SECONDS)
    return retry_id


def load_form(client: redis.Redis, retry_id: str) -> FormState | None:
    """The refused form kept under ``retry_id``, if it is still there.

    The form stays until it expires, so reloading the page shows it again.

    Args:
        client: The app's Redis client.
        retry_id: The page's ``?retry=`` value, as sent (anything).

    Returns:
        The form, or ``None`` for a malformed, unknown or expired id.

    Raises:
        redis.RedisError: Redis is unreachable.
    """
    if not RETRY_ID_PATTERN.match(retry_id):
        return None
    raw = client.get(keys.form_retry(retry_id))
    if raw is None:
        return None
    form = FormState.from_json(raw)
    if form is None:
        logger.warning("kept form %s could not be read; showing an empty form", retry_id)
    return form
