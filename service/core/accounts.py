"""Moderator accounts and their API tokens (stored only as SHA-256 digests)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, cast

import redis

from service.core.sites import NAME_PATTERN as SITE_NAME_PATTERN
from service.core.store import keys

TOKEN_PREFIX = "cgm_"  # noqa: S105 - a prefix that marks tokens, not a secret
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Role(StrEnum):
    """What a moderator may do: admins also manage lists and moderators."""

    MODERATOR = "moderator"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        """Whether this role includes ``needed``."""
        return self is Role.ADMIN or needed is Role.MODERATOR


@dataclass(frozen=True, slots=True)
class Moderator:
    """An account (without its token).

    Attributes:
        name: The account's name.
        role: What it may do.
        created_at: When it was created (epoch seconds).
        sites: The sites whose comments it sees and acts on; ``None``: every site.
    """

    name: str
    role: Role
    created_at: float
    sites: tuple[str, ...] | None = None

    def sees(self, site: str) -> bool:
        """Whether this moderator may see and act on ``site``'s comments."""
        return self.sites is None or site in self.sites


def account_from_json(data: dict[str, Any]) -> Moderator:
    """An account as stored (JSON), without its digest."""
    sites = data.get("sites")
    return Moderator(
        data["name"],
        Role(data["role"]),
        data["created_at"],
        tuple(sites) if sites is not None else None,
    )


class AccountError(ValueError):
    """An invalid name, a duplicate or an unknown account."""


def token_digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


class ModeratorStore:
    """Creates, lists, revokes and authenticates moderators."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def add(
        self, name: str, role: Role = Role.MODERATOR, sites: Sequence[str] | None = None
    ) -> str:
        """Create an account and return its token (shown once, never stored).

        Args:
            name: The account's name.
            role: What it may do.
            sites: The only sites it sees (``None``: every site). They need not exist
                yet; a name that is not a site's name is refused.

        Raises:
            AccountError: The name is invalid or taken, or a site name is invalid.
        """
        if sites is not None:
            bad = next((s for s in sites if not SITE_NAME_PATTERN.match(s)), None)
            if bad is not None or not sites:
                raise AccountError(f"not a site name: {bad!r}" if bad else "no sites given")
        if not NAME_PATTERN.match(name):
            raise AccountError(
                "name must be 1 to 64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        digest = token_digest(token)
        account: dict[str, Any] = {
            "name": name,
            "role": role.value,
            "created_at": time.time(),
            "digest": digest,
        }
        if sites is not None:
            account["sites"] = sorted(set(sites))
        if not self.client.hsetnx(keys.MODERATORS, name, json.dumps(account)):
            raise AccountError(f"moderator {name!r} exists already")
        self.client.hset(keys.MODERATOR_TOKENS, digest, name)
        return token

    def list(self) -> list[Moderator]:
        """Every account, by name."""
        raw = cast(dict[bytes, bytes], self.client.hgetall(keys.MODERATORS))
        return sorted(
            (account_from_json(json.loads(value)) for value in raw.values()), key=lambda m: m.name
        )

    def revoke(self, name: str) -> None:
        """Delete an account; its token stops working at once.

        Raises:
            AccountError: No such account.
        """
        raw = cast(bytes | None, self.client.hget(keys.MODERATORS, name))
        if raw is None:
            raise AccountError(f"no moderator named {name!r}")
        digest = json.loads(raw)["digest"]
        with self.client.pipeline() as pipe:
            pipe.hdel(keys.MODERATOR_TOKENS, digest)
            pipe.hdel(keys.MODERATORS, name)
            pipe.execute()

    def authenticate(self, token: str) -> Moderator | None:
        """The account a token belongs to, or ``None``."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = token_digest(token)
        name = cast(bytes | None, self.client.hget(keys.MODERATOR_TOKENS, digest))
        if name is None:
            return None
        raw = cast(bytes | None, self.client.hget(keys.MODERATORS, name))
        if raw is None:
            return None
        account = json.loads(raw)
        if not hmac.compare_digest(account["digest"], digest):
            return None
        return account_from_json(account)


def describe(moderator: Moderator) -> dict[str, object]:
    """JSON view of an account."""
    data = asdict(moderator)
    data["role"] = moderator.role.value
    data["sites"] = list(moderator.sites) if moderator.sites is not None else None
    return data
