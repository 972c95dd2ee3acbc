"""Synthetic comments for load: varied, made up here (no dataset text)."""

from __future__ import annotations

import itertools
import random
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import Any

import redis

from benchmarks._common import SECRET
from service.core.captcha import CaptchaIssuer
from service.core.store import Comment, CommentStatus, keys
from service.core.store.keys import DEFAULT_SITE
from tests.conftest import solved

_WORDS = (
    "great",
    "video",
    "thanks",
    "for",
    "sharing",
    "the",
    "song",
    "this",
    "part",
    "really",
    "helped",
    "me",
    "understand",
    "love",
    "music",
    "guitar",
    "chorus",
    "lyrics",
    "remember",
    "when",
    "first",
    "heard",
    "years",
    "ago",
    "still",
    "good",
    "subscribe",
    "channel",
    "check",
    "out",
    "my",
    "new",
    "free",
    "gift",
    "card",
    "win",
    "click",
    "here",
    "visit",
    "website",
    "best",
    "deal",
    "offer",
    "today",
    "cheap",
    "followers",
    "views",
    "promo",
    "code",
    "money",
    "fast",
    "easy",
)
_DOMAINS = ("example-shop.com", "bit.ly", "my-music-blog.net", "tinyurl.com", "news-site.org")


def synthetic_body(rng: random.Random) -> str:
    """A comment body of 5 to 40 words, sometimes with a link."""
    words = rng.choices(_WORDS, k=rng.randint(5, 40))
    if rng.random() < 0.3:
        words.insert(
            rng.randrange(len(words)), f"http://{rng.choice(_DOMAINS)}/{rng.randint(1, 999)}"
        )
    if rng.random() < 0.2:
        words = [w.upper() for w in words]
    return " ".join(words)


def solved_posts(
    seed: int, *, thread_prefix: str = "bench/thread", threads: int = 50, emails: bool = False
) -> Iterator[dict[str, Any]]:
    """Endless comment posts, each with its own solved captcha (a captcha is single use).

    Args:
        seed: Seeds the bodies (the captchas are random).
        thread_prefix: Post ``i`` goes to thread ``{thread_prefix}-{i % threads}``.
        threads: How many threads the posts are spread over.
        emails: Give each post an author e-mail address.
    """
    rng = random.Random(seed)
    issuer = CaptchaIssuer(SECRET)
    for i in itertools.count():
        fields = {
            "thread": f"{thread_prefix}-{i % threads}",
            "body": synthetic_body(rng),
            "author_name": f"user{i}",
        }
        if emails:
            fields["author_email"] = f"user{i}@mail.example"
        yield solved(asdict(issuer.issue()), **fields)


def seed_pending(
    client: redis.Redis,
    count: int,
    *,
    seed: int = 7,
    bodies: list[str] | None = None,
    sites: Sequence[str] = (DEFAULT_SITE,),
) -> list[str]:
    """Store ``count`` pending comments as intake would (without scheduling a job).

    ``bodies``, when given, are used in turn instead of synthetic ones (real comments);
    the comments go to ``sites`` in turn.
    """
    rng = random.Random(seed)
    now = time.time()
    ids: list[str] = []
    with client.pipeline(transaction=False) as pipe:
        for i in range(count):
            comment = Comment(
                id=secrets.token_urlsafe(16),
                thread=f"bench/thread-{i % 50}",
                body=bodies[i % len(bodies)] if bodies else synthetic_body(rng),
                author_name=f"user{rng.randint(1, 5000)}",
                author_email=f"user{rng.randint(1, 5000)}@mail.example"
                if rng.random() < 0.5
                else "",
                created_at=now + i * 1e-6,
                status=CommentStatus.PENDING,
                site=sites[i % len(sites)],
            )
            ids.append(comment.id)
            pipe.hset(keys.comment(comment.id), mapping=comment.to_redis())
            pipe.zadd(keys.PENDING, {comment.id: comment.created_at})
            if len(pipe) >= 2000:
                pipe.execute()
        pipe.execute()
    return ids
