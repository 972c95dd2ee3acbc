"""The clients the web app shares between requests, kept in ``app.extensions``."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from service.core.captcha import CaptchaIssuer
from service.core.commenter_tokens import CommenterTokens
from service.core.metrics import Metrics
from service.core.queues import Queues
from service.core.redis_client import connect
from service.core.settings import Settings
from service.core.store import CommentStore
from service.core.store.lists import ListStore
from service.web.request_context import current_flask_app
from service.web.sites import SiteDirectory

EXTENSION_KEY = "commentgate"


@dataclass(frozen=True)
class Services:
    """Settings and clients of one app instance."""

    settings: Settings
    redis: redis.Redis
    store: CommentStore
    lists: ListStore
    queues: Queues
    captcha: CaptchaIssuer
    tokens: CommenterTokens
    metrics: Metrics
    sites: SiteDirectory

    @classmethod
    def build(cls, settings: Settings) -> Services:
        """Create the clients named by the settings (connections open lazily)."""
        client = connect(
            settings.redis_url,
            socket_connect_timeout=2,
            socket_timeout=5,
            health_check_interval=30,
        )
        return cls(
            settings=settings,
            redis=client,
            store=CommentStore(client, schedule_ttl=settings.reconcile_after_seconds),
            lists=ListStore(client),
            queues=Queues.connect(client),
            captcha=CaptchaIssuer(
                settings.secret,
                ttl_seconds=settings.captcha_ttl_seconds,
                operations=settings.captcha_operations,
                max_operand=settings.captcha_max_operand,
            ),
            tokens=CommenterTokens(
                settings.secret, ttl_seconds=settings.commenter_token_ttl_days * 86400
            ),
            metrics=Metrics(client, fail_silently=True),
            sites=SiteDirectory(client, settings),
        )


def services() -> Services:
    """The services of the app handling the current request."""
    found: Services = current_flask_app().extensions[EXTENSION_KEY]
    return found
