"""The comment record's helpers."""

from __future__ import annotations

import re

import pytest

from service.core.store import models, new_comment_id


def test_a_new_comment_id_is_22_url_safe_characters() -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", new_comment_id())


def test_a_new_comment_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = ["-startsWithADash000000", "--twoDashes00000000000", "k7Zq" * 5 + "x-"]
    draws = iter(drawn)
    monkeypatch.setattr(models.secrets, "token_urlsafe", lambda nbytes: next(draws))
    assert new_comment_id() == drawn[-1]
