"""Block and allow lists (terms, e-mails, domains, IP ranges) kept in Redis.

The block list says who or what is spam: it matches the commenter's e-mail, the
domain of their e-mail or website, their IP address, and terms or domains anywhere in
the body or the name. The allow list says who is trusted: it matches only the
commenter's identity (e-mail, e-mail domain, IP address), never what the comment says
nor the website it claims, which anyone can write; it holds no terms.

Terms, e-mails and text are compared in :func:`classifier.matching_key` form (NFKC,
format characters removed, UTS #39 skeleton, case folded), the form the classifier
reads, so ``m\u0430rmalade`` (Cyrillic a) or ``marma\u200blade`` (zero-width space)
match the term ``marmalade``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

import redis

from classifier import matching_key
from service.core.store import keys
from service.core.store.keys import DEFAULT_SITE
from service.core.store.models import Comment

ListName = Literal["block", "allow"]
ListKind = Literal["terms", "emails", "domains", "ips"]
LIST_NAMES: tuple[ListName, ...] = ("block", "allow")
LIST_KINDS: tuple[ListKind, ...] = ("terms", "emails", "domains", "ips")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def normalise_entry(kind: ListKind, value: str) -> str:
    """Canonical form of a list entry: terms, e-mails and domains as matching keys.

    Raises:
        ValueError: The value is not a valid entry of that kind.
    """
    value = value.strip()
    if not value or len(value) > 320:
        raise ValueError("entry must be 1 to 320 characters")
    if kind == "ips":
        return str(ipaddress.ip_network(value, strict=False))
    entry = matching_key(value)
    if kind == "domains":
        entry = entry.removeprefix("*.").strip(".")
        if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", entry):
            raise ValueError("not a domain name")
    elif kind == "emails" and "@" not in entry:
        raise ValueError("not an e-mail address")
    elif not entry:
        raise ValueError("entry must hold visible characters")
    return entry


@dataclass(frozen=True)
class ListMatcher:
    """One list's entries compiled for matching many comments.

    Attributes:
        identity_only: Match the commenter's e-mail, e-mail domain and IP only (the
            allow list); otherwise also the website's domain and the text.
    """

    emails: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()
    term_pattern: re.Pattern[str] | None = None
    domain_pattern: re.Pattern[str] | None = field(default=None)
    identity_only: bool = False

    @classmethod
    def build(
        cls,
        terms: Iterable[str],
        emails: Iterable[str],
        domains: Iterable[str],
        ips: Iterable[str],
        *,
        identity_only: bool = False,
    ) -> ListMatcher:
        """Compile the entries of one list (terms are ignored when ``identity_only``)."""
        term_list = [] if identity_only else sorted(set(terms), key=len, reverse=True)
        domain_set = frozenset(domains)
        return cls(
            identity_only=identity_only,
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
        """Whether an entry matches the comment.

        Every list matches the e-mail, its domain and the IP address; a list that is not
        ``identity_only`` also matches the website's domain and terms or domains in the
        body and the name.
        """
        email = matching_key(comment.author_email) if comment.author_email else ""
        if email and email in self.emails:
            return True
        hosts = [email.rpartition("@")[2]] if email else []
        if comment.author_url and not self.identity_only:
            hosts.append(matching_key(urlsplit(comment.author_url).hostname or ""))
        if self.domains and any(map(self._listed_domain, filter(None, hosts))):
            return True
        if self._matches_ip(comment.ip):
            return True
        if self.identity_only or (self.term_pattern is None and self.domain_pattern is None):
            return False
        text = matching_key(f"{comment.body}\n{comment.author_name}")
        if self.domain_pattern is not None and self.domain_pattern.search(text):
            return True
        return self.term_pattern is not None and bool(self.term_pattern.search(text))

    def _listed_domain(self, host: str) -> bool:
        """Whether ``host`` or a domain it belongs to is listed."""
        parts = host.split(".")
        return any(".".join(parts[i:]) in self.domains for i in range(len(parts) - 1))

    def _matches_ip(self, ip: str) -> bool:
        if not ip or not self.networks:
            return False
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


class ListStore:
    """Reads and edits the block and allow lists."""

    def __init__(self, client: redis.Redis, site: str = DEFAULT_SITE) -> None:
        self.site = site
        self.client = client

    def add(self, name: ListName, kind: ListKind, value: str) -> str:
        """Add an entry; returns it in canonical form.

        Raises:
            ValueError: The value is not a valid entry, or a term for the allow list.
        """
        if name == "allow" and kind == "terms":
            raise ValueError("the allow list matches commenters (emails, domains, ips), not terms")
        entry = normalise_entry(kind, value)
        self.client.sadd(keys.moderation_list(self.site, name, kind), entry)
        return entry

    def remove(self, name: ListName, kind: ListKind, value: str) -> bool:
        """Remove an entry; True when it was there."""
        entry = normalise_entry(kind, value)
        return bool(self.client.srem(keys.moderation_list(self.site, name, kind), entry))

    def entries(self, name: ListName) -> dict[ListKind, list[str]]:
        """Every entry of one list, by kind, sorted."""
        with self.client.pipeline(transaction=False) as pipe:
            for kind in LIST_KINDS:
                pipe.smembers(keys.moderation_list(self.site, name, kind))
            rows = pipe.execute()
        return {
            kind: sorted(v.decode() for v in row)
            for kind, row in zip(LIST_KINDS, rows, strict=True)
        }

    def matcher(self, name: ListName) -> ListMatcher:
        """The list compiled for matching."""
        e = self.entries(name)
        return ListMatcher.build(
            e["terms"], e["emails"], e["domains"], e["ips"], identity_only=name == "allow"
        )
