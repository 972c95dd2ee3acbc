"""Fixtures shared by the whole suite: a real Redis database flushed per test."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

REPO_ROOT = Path(__file__).resolve().parent.parent
DATASET_DIR = REPO_ROOT.parent / "shared" / "datasets" / "youtube-spam-collection"
#: A dedicated database number so tests never touch data on database 0.
TEST_REDIS_URL = os.environ.get("COMMENTGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """URL of the test database, flushed before and after the test."""
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:  # pragma: no cover - environment problem
        pytest.fail(f"tests need Redis at {TEST_REDIS_URL}: {exc}")
    client.flushdb()
    yield TEST_REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client on the flushed test database."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def dataset_dir() -> Path:
    """The YouTube Spam Collection, or a skip when ../shared is absent."""
    if not DATASET_DIR.is_dir() or not list(DATASET_DIR.glob("*.csv")):
        pytest.skip(f"dataset not found at {DATASET_DIR} (needs ../shared)")
    return DATASET_DIR


# -- the web app ---------------------------------------------------------------------

TEST_SECRET = "test-secret-key-not-for-production"


def solve(question: str) -> int:
    """Answer a captcha question such as ``"? \u2212 3 = 4"``."""
    left, result = question.split(" = ")
    a, op, b = left.split(" ")
    ops = {"+": "+", "\u2212": "-", "\u00d7": "x"}[op]
    if result == "?":
        x, y = int(a), int(b)
        return x + y if ops == "+" else x - y if ops == "-" else x * y
    r = int(result)
    if a == "?":
        y = int(b)
        return r - y if ops == "+" else r + y if ops == "-" else r // y
    x = int(a)
    return r - x if ops == "+" else x - r if ops == "-" else r // x


def run_commentgate(
    redis_url: str, *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the ``commentgate`` console script on the test database; never raises on failure."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "commentgate"), *args],
        env=settings_env(redis_url),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def settings_env(redis_url: str, **extra: str) -> dict[str, str]:
    """Environment for commentgate subprocesses on the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTGATE_")}
    env.update(
        COMMENTGATE_REDIS_URL=redis_url,
        COMMENTGATE_SECRET_KEY=TEST_SECRET,
        COMMENTGATE_CAPTCHA_MIN_SOLVE_SECONDS="0",
    )
    env.update(extra)
    return env


@pytest.fixture
def make_settings(redis_url: str) -> Any:
    """Build settings on the test database, with overrides."""
    from service.core.settings import Settings

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "redis_url": redis_url,
            "secret_key": TEST_SECRET,
            "captcha_min_solve_seconds": 0,
        }
        values.update(overrides)
        return Settings(**values)

    return build


@pytest.fixture
def app(make_settings: Any) -> Flask:
    from service.web.app import create_app

    return create_app(make_settings())


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def solved(challenge: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    """A valid comment payload answering ``challenge`` (a captcha as JSON); ``fields`` override."""
    payload: dict[str, Any] = {
        "thread": "https://blog.example/posts/hello",
        "body": "Thanks for the write-up, the part about caching helped me.",
        "author_name": "Ada",
        "captcha_token": challenge["token"],
        "captcha_answer": str(solve(challenge["question"])),
    }
    payload.update(fields)
    return payload


def new_comment(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    """A valid comment payload with a freshly solved captcha."""
    return solved(client.get("/api/v1/captcha").get_json(), **fields)


# -- moderation ------------------------------------------------------------------------

THREAD = "https://blog.example/posts/moderated"


@pytest.fixture
def tokens(redis_client: redis.Redis) -> dict[str, str]:
    """Tokens of a moderator (``mia``) and an admin (``ada``)."""
    from service.core.accounts import ModeratorStore, Role

    store = ModeratorStore(redis_client)
    return {"moderator": store.add("mia"), "admin": store.add("ada", Role.ADMIN)}


def auth(token: str) -> dict[str, str]:
    """The header that authenticates a moderator."""
    return {"Authorization": f"Bearer {token}"}


def decided(
    redis_client: redis.Redis,
    status: str = "held",
    *,
    body: str = "a comment",
    thread: str = THREAD,
    created_at: float | None = None,
    email: str = "",
    author_name: str = "Sam",
    author_url: str = "",
    parent_id: str = "",
) -> str:
    """A comment stored and decided through the store, as intake and a worker would."""
    from service.core.store import Comment, CommentStatus, CommentStore, Decision, new_comment_id

    store = CommentStore(redis_client)
    comment = Comment(
        id=new_comment_id(),
        thread=thread,
        body=body,
        author_name=author_name,
        author_email=email,
        author_url=author_url,
        parent_id=parent_id,
        ip="198.51.100.4",
        created_at=created_at or time.time(),
        status=CommentStatus.PENDING,
    )
    store.accept(comment, nonce=None, nonce_ttl=60)
    store.record_decisions(
        [Decision(comment, CommentStatus(status), 0.5, "cg-test", ("model_score",))]
    )
    return comment.id
