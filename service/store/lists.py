"""Block and allow lists (terms, e-mails, domains, IP ranges) kept in Redis."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

import redis

from service.store import keys
from service.store.models import Comment

ListName = Literal["block", "allow"]
ListKind = Literal["terms", "emails", "domains", "ips"]
LIST_NAMES: tuple[ListName, ...] = ("block", "allow")
LIST_KINDS: tuple[ListKind, ...] = ("terms", "emails", "domains", "ips")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _key(name: ListName, kind: ListKind) -> str:
    return f"{keys.PREFIX}list:{name}:{kind}"


def normalise_entry(kind: ListKind, value: str) -> str:
    """Canonical form of a list entry.

    Raises:
        ValueError: The value is not a valid entry of that kind.
    """
    value = value.strip()
    if not value or len(value) > 320:
        raise ValueError("entry must be 1 to 320 characters")
    if kind == "ips":
        return str(ipaddress.ip_network(value, strict=False))
    if kind == "domains":
        value = value.lower().removeprefix("*.").strip(".")
        if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", value):
            raise ValueError("not a domain name")
        return value
    if kind == "emails":
        if "@" not in value:
            raise ValueError("not an e-mail address")
        return value.lower()
    return value.lower()


@dataclass(frozen=True)
class ListMatcher:
    """One list's entries compiled for matching many comments."""

    emails: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()
    term_pattern: re.Pattern[str] | None = None
    domain_pattern: re.Pattern[str] | None = field(default=None)

    @classmethod
    def build(
        cls, terms: Iterable[str], emails: Iterable[str], domains: Iterable[str], ips: Iterable[str]
    ) -> ListMatcher:
        """Compile the entries of one list."""
        term_list = sorted(set(terms), key=len, reverse=True)
        domain_set = frozenset(domains)
        return cls(
            emails=frozenset(emails),
            domains=domain_set,
            networks=tuple(ipaddress.ip_network(ip, strict=False) for ip in ips),
            term_pattern=(
                re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, term_list)) + r")(?!\w)", re.I)
                if term_list
                else None
            ),
            domain_pattern=(
                re.compile(
                    r"(?<![\w.-])(?:[\w-]+\.)*(?:"
                    + "|".join(map(re.escape, sorted(domain_set)))
                    + r")(?![\w-])",
                    re.I,
                )
                if domain_set
                else None
            ),
        )

    def matches(self, comment: Comment) -> bool:
        """Whether any entry matches the comment's text, author, e-mail or IP."""
        email = comment.author_email.lower()
        if email and email in self.emails:
            return True
        hosts = [email.rpartition("@")[2]] if email else []
        if comment.author_url:
            hosts.append((urlsplit(comment.author_url).hostname or "").lower())
        for host in filter(None, hosts):
            parts = host.split(".")
            if any(".".join(parts[i:]) in self.domains for i in range(len(parts) - 1)):
                return True
        text = f"{comment.body}\n{comment.author_name}"
        if self.domain_pattern is not None and self.domain_pattern.search(text):
            return True
        if self.term_pattern is not None and self.term_pattern.search(text):
            return True
        if comment.ip and self.networks:
            try:
                address = ipaddress.ip_address(comment.ip)
            except ValueError:
                return False
            return any(address in network for network in self.networks)
        return False


class ListStore:
    """Reads and edits the block and allow lists."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def add(self, name: ListName, kind: ListKind, value: str) -> str:
        """Add an entry; returns it in canonical form."""
        entry = normalise_entry(kind, value)
        self.client.sadd(_key(name, kind), entry)
        return entry

    def remove(self, name: ListName, kind: ListKind, value: str) -> bool:
        """Remove an entry; True when it was there."""
        entry = normalise_entry(kind, value)
        return bool(self.client.srem(_key(name, kind), entry))

    def entries(self, name: ListName) -> dict[ListKind, list[str]]:
        """Every entry of one list, by kind, sorted."""
        with self.client.pipeline(transaction=False) as pipe:
            for kind in LIST_KINDS:
                pipe.smembers(_key(name, kind))
            rows = pipe.execute()
        return {
            kind: sorted(v.decode() for v in row)
            for kind, row in zip(LIST_KINDS, rows, strict=True)
        }

    def matcher(self, name: ListName) -> ListMatcher:
        """The list compiled for matching."""
        e = self.entries(name)
        return ListMatcher.build(e["terms"], e["emails"], e["domains"], e["ips"])
