"""What ``commentgate dev`` waits for, and the banner it then prints."""

from __future__ import annotations

import contextlib
import socket

import httpx
import redis
from rq import Worker

from service.core.accounts import AccountError, ModeratorStore, Role
from service.core.redis_client import connect

#: The development moderator account ``commentgate dev`` (re)creates at each start.
DEV_MODERATOR = "dev-admin"


def _parent_of(pid: int) -> int | None:
    """The parent process id of ``pid`` (Linux's /proc), or None when unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def ready(base: str, redis_url: str, launchers: set[int]) -> bool:
    """Whether the web app answers ``/healthz`` and every worker has registered.

    Args:
        base: The web app's URL.
        redis_url: Where the workers register.
        launchers: The process ids of the workers' launchers (their parents).
    """
    try:
        if httpx.get(f"{base}/healthz", timeout=1.0, trust_env=False).status_code != 200:
            return False
    except httpx.HTTPError:
        return False
    connection = connect(redis_url, socket_connect_timeout=2, socket_timeout=5)
    hostname = socket.gethostname()
    try:
        registered = {
            w.pid
            for w in Worker.all(connection=connection)
            if w.pid is not None and w.hostname == hostname
        }
    except redis.RedisError:
        return False
    finally:
        connection.close()
    parents = {_parent_of(pid) for pid in registered}
    if None in parents:  # no /proc: count them
        return len(registered) >= len(launchers)
    return launchers <= parents


def moderator_token_lines(redis_url: str, base: str) -> list[str]:
    """Create the development admin account afresh and give its token for the banner.

    The account is recreated at every start, so a token printed by an earlier run
    stops working: only the one on screen does.
    """
    store = ModeratorStore(connect(redis_url))
    with contextlib.suppress(AccountError):
        store.revoke(DEV_MODERATOR)
    token = store.add(DEV_MODERATOR, Role.ADMIN)
    return [
        f"  Moderation UI    {base}/moderate",
        f"  Moderator token  {token}",
        f"                   (admin {DEV_MODERATOR!r}; paste it at {base}/moderate or send it",
        "                   as Authorization: Bearer <token> to /api/v1/moderation/)",
    ]


def banner(base: str, redis_url: str, redis_lines: list[str], pids: dict[str, int]) -> list[str]:
    """The lines printed once everything is ready.

    Args:
        base: The web app's URL.
        redis_url: The Redis in use (the development account is made there).
        redis_lines: What to say about that Redis.
        pids: Process name -> id.
    """
    processes = " ".join(f"{name}={pid}" for name, pid in pids.items())
    return [
        "",
        "commentgate is running (development mode)",
        "",
        f"  Demo page        {base}/",
        f"  API              {base}/api/v1/",
        f"  Health           {base}/healthz",
        f"  Readiness        {base}/readyz",
        *redis_lines,
        f"  Processes        {processes}",
        "",
        *moderator_token_lines(redis_url, base),
        "",
        "  Admin commands run in this folder use the same Redis and secret key, e.g.",
        "  .venv/bin/commentgate moderators add alice",
        "",
        "Press Ctrl-C to stop.",
        "",
    ]
