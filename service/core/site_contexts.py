"""What a long-lived process judges each site's comments with, kept per site.

A worker (or the web process answering the Akismet protocol) serves every site. For
each site it meets it keeps, created on first use and cached for the process:

* a :class:`~service.core.model_holder.ModelHolder` on the site's own model registry,
  sharing the ONE base model the process loaded (a site without a promoted model
  decides with it);
* the site's :class:`~service.core.campaigns.CampaignMemory` and block and allow lists;
* the decision policy: the model card's thresholds unless the site's own settings or
  the global ones override them (:meth:`~service.core.sites.Site.settings_over`).

:meth:`SiteContexts.judge` refreshes all of it for one batch of a site's comments: the
site's record (one HGET and one HGETALL, so a moderator's ``commentgate sites
configure`` applies from the next batch), the promoted model (one GET), the campaign
memory (one XRANGE) and the lists (two round trips). The judge it returns is a snapshot
the caller keeps as long as it chooses: a worker for one batch, the web process's
Akismet checks for a second.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import redis

from classifier import SpamModel
from service.core.campaigns import CampaignMemory
from service.core.decision import Policy, policy_for
from service.core.judging import SiteJudge
from service.core.model_holder import ModelHolder
from service.core.model_registry import ModelRegistry
from service.core.settings import Settings
from service.core.sites import Site, SiteRegistry
from service.core.store import CommentStore
from service.core.store.lists import ListStore

__all__ = ["SiteContext", "SiteContexts"]

logger = logging.getLogger(__name__)

#: What a site's policy depends on besides the global settings: the model version and
#: the site's own premoderation and thresholds.
_PolicyKey = tuple[str, bool | None, float | None, float | None]


@dataclass(slots=True)
class SiteContext:
    """One site's model holder, campaign memory and lists, and its last-read record.

    Attributes:
        name: The site's id.
        models: The site's model (its promoted site model or the shared base).
        campaigns: The site's campaign memory.
        lists: The site's block and allow lists.
        site: The site's record as last read (its settings and webhook receivers).
    """

    name: str
    models: ModelHolder
    campaigns: CampaignMemory
    lists: ListStore
    site: Site
    _policy: tuple[_PolicyKey, Policy] | None = field(default=None, repr=False)

    def policy(self, model: SpamModel, settings: Settings) -> Policy:
        """The policy for ``model`` under this site's settings (recomputed on change)."""
        site = self.site
        key = (model.version, site.premoderation, site.publish_below, site.spam_above)
        if self._policy is None or self._policy[0] != key:
            self._policy = (key, policy_for(model.card, site.settings_over(settings)))
        return self._policy[1]


class SiteContexts:
    """Each site's judging context, created on first use and kept for the process.

    Args:
        client: Redis connection.
        base: The base model, loaded once per process and shared by every site.
        settings: The global settings.
        store: The comment store.
    """

    def __init__(
        self, client: redis.Redis, base: SpamModel, settings: Settings, store: CommentStore
    ) -> None:
        self.client = client
        self.base = base
        self.settings = settings
        self.store = store
        self.registry = SiteRegistry(client)
        self._contexts: dict[str, SiteContext] = {}

    def __len__(self) -> int:
        return len(self._contexts)

    def context(self, name: str) -> SiteContext:
        """The site's context (no I/O but on first use, which reads nothing either)."""
        found = self._contexts.get(name)
        if found is None:
            registry = ModelRegistry(self.client, site=name, keep=self.settings.model_keep_versions)
            found = SiteContext(
                name=name,
                models=ModelHolder(self.base, self.settings, registry),
                campaigns=CampaignMemory(self.client, name),
                lists=ListStore(self.client, name),
                site=Site(name=name),
            )
            self._contexts[name] = found
            logger.info("judging comments of site %s", name)
        return found

    def judge(self, name: str) -> tuple[SiteJudge, Site]:
        """Refresh a site's settings, model and campaign memory; return its judge.

        A site unknown to the registry (removed since its comments came) is judged with
        the global settings, its own model registry and lists.

        Returns:
            The judge of the site's comments, and the site's record just read.
        """
        ctx = self.context(name)
        ctx.site = self.registry.get(name) or Site(name=name)
        model, _ = ctx.models.refresh()  # one GET: picks up a newly promoted model
        ctx.campaigns.refresh()  # one XRANGE: what moderators labelled since
        policy = ctx.policy(model, self.settings)
        judge = SiteJudge(
            model,
            policy,
            ctx.campaigns,
            ctx.lists.matcher("block"),  # each one round trip
            ctx.lists.matcher("allow"),
            self.store,
        )
        return judge, ctx.site
