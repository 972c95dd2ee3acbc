"""The hostile request corpus of ``test_hostile_input.py``: data, and how to send it.

Field-level cases carry a correctly solved captcha, so what refuses them is the rule
under test, not the captcha.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import new_comment

INTAKE = "/api/v1/comments"
API = "/api/v1/moderation"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
MB = 2**20
UNKNOWN_ID = "AAAAAAAAAAAAAAAAAAAAAA"

Build = Callable[[FlaskClient], dict[str, Any]]


@dataclass(frozen=True)
class Hostile:
    """One hostile request and the status it must get."""

    name: str
    method: str
    url: str
    build: Build
    status: int
    html: bool = False  # a browser's form post: the HTML error page, not problem JSON


CAPTCHA = ("captcha_token", "captcha_answer")
NAN_CURSOR = base64.urlsafe_b64encode(b'[NaN, "x"]').decode().rstrip("=")


def fields(**values: Any) -> Build:
    """A JSON comment with a solved captcha and ``values`` replacing its fields."""
    return lambda client: {"json": new_comment(client, **values)}


def without(*names: str) -> Build:
    """A JSON comment with a solved captcha, missing ``names``."""

    def build(client: FlaskClient) -> dict[str, Any]:
        payload = new_comment(client)
        for name in names:
            payload.pop(name)
        return {"json": payload}

    return build


def splice(client: FlaskClient, field: str, literal: bytes) -> dict[str, Any]:
    """A JSON comment with a solved captcha whose ``field`` is the raw bytes ``literal``."""
    text = json.dumps(new_comment(client, **{field: "\x01SPLICE\x01"}))
    data = text.encode().replace(b'"\\u0001SPLICE\\u0001"', literal)
    assert literal in data
    return {"data": data, "content_type": JSON}


def browser_form(**values: Any) -> Build:
    """A browser's form post with a solved captcha and ``values`` replacing its fields."""
    return lambda client: {"data": new_comment(client, **values), "headers": BROWSER}


#: name -> fields replacing those of a valid JSON comment (solved captcha): all get 422.
BAD_FIELDS: dict[str, dict[str, Any]] = {
    # wrong types
    "body-number": {"body": 42},
    "body-null": {"body": None},
    "body-array": {"body": ["a", "b"]},
    "body-object": {"body": {"text": "hi"}},
    "body-bool": {"body": True},
    "thread-number": {"thread": 1},
    "author-name-object": {"author_name": {"first": "Ada"}},
    "author-url-array": {"author_url": ["https://a.example"]},
    "captcha-answer-array": {"captcha_answer": [7]},
    "captcha-answer-object": {"captcha_answer": {"a": 7}},
    "captcha-answer-float": {"captcha_answer": 7.5},
    "captcha-token-number": {"captcha_token": 5},
    # 10,000-character single words
    "10000-char-word-body": {"body": "a" * 10_000},
    "10000-char-word-name": {"author_name": "a" * 10_000},
    "10000-char-word-thread": {"thread": "a" * 10_000},
    "10000-char-word-url": {"author_url": "https://a.example/" + "a" * 10_000},
    "10000-char-captcha-token": {"captcha_token": "a" * 10_000},
    # NUL and other controls
    "nul-body": {"body": "hi\x00there"},
    "nul-thread": {"thread": "t\x00"},
    "nul-name": {"author_name": "Ada\x00"},
    "nul-url": {"author_url": "https://a.example/\x00"},
    "nul-parent-id": {"parent_id": "AAAAAAAA\x00"},
    "escape-body": {"body": "\x1b[31mred"},
    "delete-char-name": {"author_name": "Ada\x7f"},
    # bidirectional overrides and invisible characters
    "bidi-override-body": {"body": "evil \u202egnp.exe"},
    "bidi-isolate-body": {"body": "\u2066hidden\u2069"},
    "bidi-override-name": {"author_name": "\u202eadA"},
    "bidi-override-thread": {"thread": "t\u202e"},
    "zero-width-only-body": {"body": "\u200b\u200c\u200d\u2060\ufeff"},
    "zero-width-joiners-only-body": {"body": "\u200d\u200d\u200d"},
    "soft-hyphens-only-body": {"body": "\u00ad\u00ad"},
    "hangul-fillers-only-body": {"body": "\u3164\u115f\u1160\uffa0"},
    "braille-blank-only-body": {"body": "\u2800\u2800"},
    "combining-marks-only-body": {"body": "\u0301\u0301\u034f"},
    "unicode-spaces-only-body": {"body": "\u00a0\u2003\u3000\u205f"},
    "zero-width-name": {"author_name": "Ada\u200b"},
    "hangul-filler-name": {"author_name": "\u3164"},
    "zero-width-thread": {"thread": "\u200b"},
    "zero-width-url": {"author_url": "https://a.example/\u200b"},
    # author URLs
    "javascript-url": {"author_url": "javascript:alert(1)"},
    "javascript-url-mixed-case": {"author_url": "JaVaScRiPt:alert(1)"},
    "javascript-url-leading-space": {"author_url": "  javascript:alert(1)"},
    "javascript-url-tab": {"author_url": "java\tscript:alert(1)"},
    "javascript-url-entity": {"author_url": "javascript&colon;alert(1)"},
    "data-url": {"author_url": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="},
    "vbscript-url": {"author_url": "vbscript:msgbox(1)"},
    "file-url": {"author_url": "file:///etc/passwd"},
    "scheme-relative-url": {"author_url": "//evil.example/"},
    "url-without-host": {"author_url": "https:///path"},
    "url-bad-ipv6": {"author_url": "http://[::1"},
    "url-with-space": {"author_url": "https://a.example/a b"},
    "url-line-separator": {"author_url": "https://a\u2028b.example/"},
    # CRLF in fields
    "crlf-name": {"author_name": "Ada\r\nX-Injected: 1"},
    "crlf-thread": {"thread": "t\r\nSet-Cookie: a=b"},
    "crlf-url": {"author_url": "https://ok.example/\r\nSet-Cookie: x=1"},
    "crlf-email": {"author_email": "a@b.example\r\nBcc: c@d.example"},
    "crlf-parent-id": {"parent_id": "AAAAAAAA\r\n"},
    # size, and parents
    "unknown-parent": {"parent_id": UNKNOWN_ID},
    "path-traversal-parent": {"parent_id": "../../etc/passwd"},
}
#: name -> (field, raw JSON bytes spliced in as its value, status).
SPLICED: dict[str, tuple[str, bytes, int]] = {
    "json-raw-control-character": ("body", b'"a\x00b"', 400),
    "duplicate-key": ("body", b'"one", "body": "two"', 400),
    "captcha-answer-huge-float": ("captcha_answer", b"1e400", 422),
    "utf8-invalid-bytes": ("body", b'"\xff\xfe"', 400),
    "utf8-overlong-slash": ("body", b'"\xc0\xaf"', 400),
    "utf8-encoded-surrogate": ("body", b'"\xed\xa0\x80"', 400),
    "utf8-truncated": ("body", b'"\xe2\x82"', 400),
    "lone-surrogate-escape-body": ("body", b'"hi \\ud800"', 422),
    "lone-surrogate-escape-thread": ("thread", b'"\\udfff"', 422),
    "lone-surrogate-escape-name": ("author_name", b'"A\\ud83d"', 422),
    "lone-surrogate-escape-token": ("captcha_token", b'"\\ud800"', 422),
    "nested-body-field": ("body", b"[" * 500 + b"]" * 500, 422),
}
#: name -> (raw body, content type, status).
RAW: dict[str, tuple[bytes, str | None, int]] = {
    "json-truncated": (b'{"thread": "t", "body": ', JSON, 400),
    "json-single-quotes": (b"{'thread': 't'}", JSON, 400),
    "json-trailing-comma": (b'{"thread": "t",}', JSON, 400),
    "json-trailing-garbage": (b'{"thread": "t"} x', JSON, 400),
    "json-empty": (b"", JSON, 400),
    "json-nan": (b'{"body": NaN}', JSON, 400),
    "json-infinity": (b'{"body": -Infinity}', JSON, 400),
    "top-level-array": (b'[{"thread": "t"}]', JSON, 400),
    "top-level-string": (b'"thread"', JSON, 400),
    "top-level-null": (b"null", JSON, 400),
    "empty-object": (b"{}", JSON, 422),
    "duplicate-form-field": (b"body=a&body=b&thread=t", FORM, 400),
    "1mb-json-body": (json.dumps({"thread": "t", "body": "x" * MB}).encode(), JSON, 413),
    "1mb-json-whitespace": (b" " * MB + b"{}", JSON, 413),
    "1mb-multipart": (b"--b\r\n" + b"x" * MB, "multipart/form-data; boundary=b", 413),
    "utf16-json": ('{"thread": "t"}'.encode("utf-16"), JSON, 400),
    "nested-arrays-5000": (b"[" * 5000 + b"]" * 5000, JSON, 400),
    "nested-objects-5000": (b'{"a":' * 5000 + b"1" + b"}" * 5000, JSON, 400),
    "nested-arrays-100000": (b"[" * 100_000 + b"]" * 100_000, JSON, 413),
    "text-plain": (b'{"thread": "t"}', "text/plain", 415),
    "xml": (b"<comment/>", "application/xml", 415),
    "no-content-type": (b'{"thread": "t"}', None, 415),
    "json-lookalike-type": (b"{}", "application/jsonx", 415),
    "html-type": (b"<b>x</b>", "text/html", 415),
    "json-sent-as-form": (b'{"thread": "t", "body": "b"}', FORM, 422),
    "multipart-without-boundary": (b"body=x", "multipart/form-data", 422),
}
#: name -> fields of a browser's form post (solved captcha): an HTML error page.
BROWSER_FORMS: dict[str, tuple[dict[str, Any], int]] = {
    "form-nul-body": ({"body": "a\x00b"}, 422),
    "form-javascript-url": ({"author_url": "javascript:alert(1)"}, 422),
    "form-zero-width-body": ({"body": "\u200b"}, 422),
    "form-bidi-name": ({"author_name": "\u202eadA"}, 422),
    "form-crlf-thread": ({"thread": "t\r\nX: y"}, 422),
    "form-1mb": ({"body": "x" * MB}, 413),
}
#: name -> (URL, status) of GET requests to the public reading API.
READS: dict[str, tuple[str, int]] = {
    **{
        f"thread-limit-{label}": (f"{INTAKE}?thread=t&limit={value}", 422)
        for label, value in {
            "negative": "-1",
            "zero": "0",
            "over-maximum": "101",
            "huge": "1" + "0" * 30,
            "ten-thousand-digits": "9" * 10_000,
            "exponent": "1e3",
            "nan": "NaN",
            "infinity": "inf",
            "empty": "",
            "word": "ten",
            "hex": "0x10",
        }.items()
    },
    "thread-cursor-junk": (f"{INTAKE}?thread=t&cursor=junk", 400),
    "thread-cursor-padding": (f"{INTAKE}?thread=t&cursor====", 400),
    "thread-cursor-long": (f"{INTAKE}?thread=t&cursor={'A' * 513}", 422),
    "thread-cursor-object": (f"{INTAKE}?thread=t&cursor=e30", 400),
    "thread-missing": (INTAKE, 422),
    "thread-empty": (f"{INTAKE}?thread=", 422),
    "thread-nul": (f"{INTAKE}?thread=t%00", 422),
    "thread-crlf": (f"{INTAKE}?thread=t%0D%0ASet-Cookie:%20a=b", 422),
    "thread-bidi": (f"{INTAKE}?thread=%E2%80%AEt", 422),
    "thread-zero-width": (f"{INTAKE}?thread=%E2%80%8B", 422),
    "thread-10000-chars": (f"{INTAKE}?thread={'a' * 10_000}", 422),
    "thread-invalid-utf8": (f"{INTAKE}?thread=%FF%FE%00", 422),
    **{
        f"comment-id-{label}": (f"{INTAKE}/{value}", 404)
        for label, value in {
            "unknown": UNKNOWN_ID,
            "too-short": "abc",
            "10000-chars": "a" * 10_000,
            "nul": "AAAAAAAA%00",
            "crlf": "AAAAAAAA%0D%0AX:%20y",
            "invalid-utf8": "%FF%FE%FD%FC%FB%FA%F9%F8",
            "bidi": "%E2%80%AEAAAAAAAA",
            "script": "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            "sql": "'%20OR%201=1%20--",
            "traversal": "..%2F..%2Fetc%2Fpasswd",
            "dots": "........",
        }.items()
    },
}
#: name -> ("METHOD path" under /api/v1/moderation, body, status); an admin's token is sent.
#: The body is a dict (JSON), raw JSON bytes, (bytes, content type) or None.
MODERATION: dict[str, tuple[str, Any, int]] = {
    "act-invalid-json": ("POST /comments/{held}", b'{"action":', 400),
    "act-duplicate-key": ("POST /comments/{held}", b'{"action": "spam", "action": "spam"}', 400),
    "act-invalid-utf8": ("POST /comments/{held}", b'{"action": "\xff"}', 400),
    "act-1mb": ("POST /comments/{held}", b'{"action": "' + b"a" * MB + b'"}', 413),
    "act-nested": ("POST /comments/{held}", b"[" * 5000 + b"]" * 5000, 400),
    "act-text-plain": ("POST /comments/{held}", (b"action=spam", "text/plain"), 415),
    "act-no-body": ("POST /comments/{held}", None, 415),
    "act-missing-action": ("POST /comments/{held}", {}, 422),
    "act-action-number": ("POST /comments/{held}", {"action": 1}, 422),
    "act-action-null": ("POST /comments/{held}", {"action": None}, 422),
    "act-action-nul": ("POST /comments/{held}", {"action": "spam\x00"}, 422),
    "act-action-crlf": ("POST /comments/{held}", {"action": "spam\r\n"}, 422),
    "act-action-surrogate": ("POST /comments/{held}", b'{"action": "\\ud800"}', 422),
    "act-expected-bogus": ("POST /comments/{held}", {"action": "spam", "expected_status": 1}, 422),
    "act-unknown-id": (f"POST /comments/{UNKNOWN_ID}", {"action": "spam"}, 404),
    "act-malformed-id": ("POST /comments/..%2Fx", {"action": "spam"}, 404),
    "act-10000-char-id": ("POST /comments/" + "a" * 10_000, {"action": "spam"}, 404),
    "bulk-ids-string": ("POST /bulk", {"ids": "{held}", "action": "spam"}, 422),
    "bulk-ids-empty": ("POST /bulk", {"ids": [], "action": "spam"}, 422),
    "bulk-ids-501": (
        "POST /bulk",
        {"ids": [f"{i:08d}" for i in range(501)], "action": "spam"},
        422,
    ),
    "bulk-ids-repeated": ("POST /bulk", {"ids": ["{held}", "{held}"], "action": "spam"}, 422),
    "bulk-ids-nul": ("POST /bulk", {"ids": ["AAAAAAAA\x00"], "action": "spam"}, 422),
    "bulk-ids-nested": ("POST /bulk", {"ids": [[UNKNOWN_ID]], "action": "spam"}, 422),
    "bulk-ids-surrogate": ("POST /bulk", b'{"ids": ["\\ud800AAAAAAAA"], "action": "spam"}', 422),
    "bulk-unknown-id": ("POST /bulk", {"ids": [UNKNOWN_ID], "action": "spam"}, 404),
    "queue-limit-zero": ("GET /queue?limit=0", None, 422),
    "queue-limit-huge": ("GET /queue?limit=" + "9" * 100, None, 422),
    "queue-limit-negative": ("GET /queue?limit=-50", None, 422),
    "queue-status-pending": ("GET /queue?status=pending", None, 422),
    "queue-status-nul": ("GET /queue?status=held%00", None, 422),
    "queue-cursor-junk": ("GET /queue?cursor=%FF%FE", None, 400),
    "queue-q-10000-chars": ("GET /queue?q=" + "a" * 10_000, None, 422),
    "audit-limit-over-maximum": ("GET /audit?limit=501", None, 422),
    "audit-cursor-zero": ("GET /audit?cursor=0-0", None, 422),
    "audit-cursor-past-64-bits": ("GET /audit?cursor=99999999999999999999-1", None, 422),
    "audit-cursor-three-parts": ("GET /audit?cursor=1-2-3", None, 422),
    "audit-cursor-negative": ("GET /audit?cursor=-1-1", None, 422),
    "audit-cursor-arabic-digits": ("GET /audit?cursor=%D9%A1-%D9%A1", None, 422),
    "export-format-xml": ("GET /export?format=xml", None, 422),
    "list-unknown-name": ("POST /lists/nope/terms", {"value": "x"}, 404),
    "list-unknown-kind": ("POST /lists/block/nope", {"value": "x"}, 404),
    "list-value-missing": ("POST /lists/block/terms", {}, 422),
    "list-value-number": ("POST /lists/block/terms", {"value": 5}, 422),
    "list-value-10000-chars": ("POST /lists/block/terms", {"value": "a" * 10_000}, 422),
    "list-value-nul": ("POST /lists/block/terms", {"value": "\x00"}, 422),
    "list-value-crlf": ("POST /lists/block/terms", {"value": "buy\r\nnow"}, 422),
    "list-value-zero-width": ("POST /lists/block/terms", {"value": "\u200b"}, 422),
    "list-value-bidi": ("POST /lists/block/terms", {"value": "\u202ecasino"}, 422),
    "list-value-surrogate": ("POST /lists/block/terms", b'{"value": "\\udc00"}', 422),
    "list-bad-network": ("POST /lists/block/ips", {"value": "10.0.0.0/99"}, 422),
    "list-bad-domain": ("POST /lists/block/domains", {"value": "javascript:alert(1)"}, 422),
    "list-remove-missing": ("DELETE /lists/block/terms?value=never-added", None, 404),
    "list-remove-nul": ("DELETE /lists/block/terms?value=%00", None, 422),
    "moderator-name-traversal": ("POST /moderators", {"name": "../../x"}, 422),
    "moderator-name-crlf": ("POST /moderators", {"name": "eve\r\nX: y"}, 422),
    "moderator-name-10000-chars": ("POST /moderators", {"name": "a" * 10_000}, 422),
    "moderator-role-root": ("POST /moderators", {"name": "eve", "role": "root"}, 422),
    "moderator-duplicate": ("POST /moderators", {"name": "ada"}, 422),
    "moderator-revoke-unknown": ("DELETE /moderators/nobody", None, 404),
}
#: Outside this change's files (see the report); strict, so they fail once fixed.
#: Cases that once answered 500, kept as regressions.
REGRESSIONS: dict[str, Hostile] = {
    "captcha-answer-5000-digits": Hostile(
        "", "POST", INTAKE, lambda c: splice(c, "captcha_answer", b"1" * 5000), 400
    ),
    "thread-cursor-nan": Hostile(
        "", "GET", f"{INTAKE}?thread=t&cursor={NAN_CURSOR}", lambda _: {}, 400
    ),
    "queue-cursor-nan": Hostile("", "GET", f"{API}/queue?cursor={NAN_CURSOR}", lambda _: {}, 400),
}
#: Known failures, expected to fail (strict): empty when there are none.
KNOWN_BUGS: dict[str, tuple[Hostile, str]] = {}


def _moderation(name: str, spec: tuple[str, Any, int]) -> Hostile:
    target, body, status = spec
    method, path = target.split(" ", 1)
    if body is None:
        build: Build = lambda _: {}  # noqa: E731
    elif isinstance(body, dict):
        build = lambda _: {"json": body}  # noqa: E731
    elif isinstance(body, tuple):
        build = lambda _: {"data": body[0], "content_type": body[1]}  # noqa: E731
    else:
        build = lambda _: {"data": body, "content_type": JSON}  # noqa: E731
    return Hostile(name, method, API + path, build, status)


def corpus() -> list[Any]:
    """Every case, as pytest parameters named after the case."""
    cases = [
        Hostile(name, "POST", INTAKE, fields(**values), 422) for name, values in BAD_FIELDS.items()
    ]
    cases += [
        Hostile(name, "POST", INTAKE, lambda c, f=field, b=literal: splice(c, f, b), status)
        for name, (field, literal, status) in SPLICED.items()
    ]
    cases += [
        Hostile(
            name, "POST", INTAKE, lambda _, d=data, t=ctype: {"data": d, "content_type": t}, code
        )
        for name, (data, ctype, code) in RAW.items()
    ]
    cases += [Hostile(f"missing-{f}", "POST", INTAKE, without(f), 422) for f in ("body", "thread")]
    cases.append(Hostile("missing-captcha", "POST", INTAKE, without(*CAPTCHA), 422))
    cases += [
        Hostile(name, "POST", INTAKE, browser_form(**values), status, html=True)
        for name, (values, status) in BROWSER_FORMS.items()
    ]
    cases += [Hostile(name, "GET", url, lambda _: {}, code) for name, (url, code) in READS.items()]
    cases += [
        Hostile(f"captcha-{method.lower()}", method, "/api/v1/captcha", lambda _: {}, 405)
        for method in ("POST", "PUT", "DELETE", "PATCH")
    ]
    cases += [_moderation(name, spec) for name, spec in MODERATION.items()]
    cases += [replace(case, name=name) for name, case in REGRESSIONS.items()]
    params = [pytest.param(case, id=case.name) for case in cases]
    for name, (case, reason) in KNOWN_BUGS.items():
        mark = pytest.mark.xfail(strict=True, reason=reason)
        params.append(pytest.param(replace(case, name=name), id=name, marks=mark))
    return params
