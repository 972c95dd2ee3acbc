"""The shape of the code: who may import whom, and where Redis keys are spelled.

- Flask (and anything built on it) is imported only under ``service/web``.
- ``service/core`` and ``workers`` never import the web app or the command line.
- ``classifier`` imports nothing of ours, nor Flask, Redis or RQ.
- Every Redis key name is spelled in ``service/core/store/keys.py`` (the keys of earlier
  layouts in ``upgrade.py``, which moves them).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

WEB_LIBRARIES = ("flask", "flask_cors", "flask_limiter", "flask_wtf", "werkzeug", "jinja2")
KEYS_MODULE = REPO_ROOT / "service" / "core" / "store" / "keys.py"
#: Names the keys of earlier layouts, which it moves to where keys.py puts them now.
UPGRADE_MODULE = REPO_ROOT / "service" / "core" / "store" / "upgrade.py"


def modules(folder: str) -> list[Path]:
    return sorted((REPO_ROOT / folder).rglob("*.py"))


def imported(path: Path) -> Iterator[str]:
    """Every module name ``path`` imports (at any depth, under TYPE_CHECKING too)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def violations(folders: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for folder in folders:
        for path in modules(folder):
            for name in imported(path):
                if any(name == f or name.startswith(f + ".") for f in forbidden):
                    found.append(f"{path.relative_to(REPO_ROOT)} imports {name}")
    return found


def test_flask_is_imported_only_by_the_web_app() -> None:
    outside = [p for p in modules("service") if "web" not in p.relative_to(REPO_ROOT).parts]
    found = [
        f"{path.relative_to(REPO_ROOT)} imports {name}"
        for path in outside + modules("workers") + modules("classifier")
        for name in imported(path)
        if name.split(".")[0] in WEB_LIBRARIES
    ]
    assert found == []


@pytest.mark.parametrize("folder", ["service/core", "workers"])
def test_the_core_and_the_workers_never_import_the_web_app_or_the_command_line(
    folder: str,
) -> None:
    assert violations((folder,), ("service.web", "service.cli")) == []


def test_the_classifier_imports_nothing_of_ours() -> None:
    assert violations(("classifier",), ("service", "workers", "redis", "rq", "flask")) == []


def test_every_redis_key_is_spelled_in_the_keys_module() -> None:
    key_literal = re.compile(r"""["'](cg:|rq:)""")
    found = [
        f"{path.relative_to(REPO_ROOT)}:{number}"
        for folder in ("service", "workers")
        for path in modules(folder)
        if path not in (KEYS_MODULE, UPGRADE_MODULE)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if key_literal.search(line) or re.search(r"\bkeys\.PREFIX\b|\bPREFIX \+", line)
    ]
    assert found == []
