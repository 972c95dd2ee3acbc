"""``/api/v1/comments``: intake and public reading.

The one blueprint, :data:`bp`, is this package's face; importing the package adds every
route to it.

Modules:
    blueprint: the blueprint.
    intake: ``POST /api/v1/comments`` (JSON, a form, or a site's server with its key).
    reading: a comment's status, a thread's published comments, a commenter's token.
"""

from service.web.api.comments import intake, reading  # noqa: F401 (they add routes)
from service.web.api.comments.blueprint import bp

__all__ = ["bp"]
