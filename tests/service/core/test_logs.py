"""Structured logs: one JSON object per line, with the request id, never a body."""

import json
import logging
from typing import Any

import pytest

from service.core.logs import JsonFormatter, request_id_var
from tests.conftest import new_comment


@pytest.fixture
def json_lines(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.INFO)
    formatter = JsonFormatter()

    def lines() -> list[dict[str, Any]]:
        return [json.loads(formatter.format(record)) for record in caplog.records]

    return lines


def test_formatter_renders_extras_and_request_id() -> None:
    token = request_id_var.set("req-42")
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "did %s", ("it",), None)
        record.job_id = "j1"
        record.empty = None
        entry = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert entry["msg"] == "did it"
    assert entry["request_id"] == "req-42"
    assert entry["job_id"] == "j1"
    assert "empty" not in entry


def test_one_access_line_per_request_with_ids_and_no_body(client: Any, json_lines: Any) -> None:
    payload = new_comment(client, body="a very private sentence", author_email="secret@example.org")
    response = client.post("/api/v1/comments", json=payload, headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    access = [line for line in json_lines() if line["logger"] == "commentgate.access"]
    post = [line for line in access if line["method"] == "POST"]
    assert len(post) == 1
    assert post[0]["request_id"] == "abc-123"
    assert post[0]["status"] == 202
    assert post[0]["comment_id"] == response.get_json()["id"]
    text = json.dumps(json_lines())
    assert "private sentence" not in text
    assert "secret@example.org" not in text


def test_invalid_request_id_is_replaced(client: Any) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "bad id; DROP"})
    assert response.headers["X-Request-ID"] != "bad id"
    assert len(response.headers["X-Request-ID"]) == 32


def test_probes_answered_as_expected_are_not_logged_at_info(
    client: Any, json_lines: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quiet development log: no line for every readiness or health probe."""
    for path in ("/healthz", "/readyz", "/healthz"):
        client.get(path)
    client.get("/api/v1/captcha")
    paths = [line["path"] for line in json_lines() if line["logger"] == "commentgate.access"]
    assert paths == ["/api/v1/captcha"]


def test_the_reconcilers_routine_line_is_debug() -> None:
    from workers.jobs import job_log_level

    assert job_log_level("reconcile", "finished") == logging.DEBUG
    assert job_log_level("reconcile", "failed") == logging.INFO
    assert job_log_level("score_pending", "finished") == logging.INFO
