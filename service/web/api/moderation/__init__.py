"""``/api/v1/moderation/``: queues, decisions, audit, lists, moderators and export.

Every route needs a moderator's bearer token; list and account management need an
admin (see :mod:`service.web.auth`). The one blueprint, :data:`bp`, is this package's
face; importing the package adds every route to it.

Modules:
    blueprint: the blueprint, its token check and how its routes are documented.
    queues: the queues, decisions, audit log and export.
    lists: a site's block and allow lists.
    accounts: the moderator's own account, and the admins' management of accounts.
    schemas: what the routes accept (their bodies and query strings).
"""

from service.web.api.moderation import accounts, lists, queues  # noqa: F401 (they add routes)
from service.web.api.moderation.blueprint import bp

__all__ = ["bp"]
