"""Comment storage on Redis, shared by the web app and the workers."""

from service.core.store.comments import (
    CommentStore,
    Decision,
    InvalidCursorError,
    NonceSpentError,
    Page,
)
from service.core.store.models import (
    DECIDED_STATUSES,
    FINAL_STATUSES,
    Comment,
    CommentStatus,
    isoformat,
    new_comment_id,
)

__all__ = [
    "DECIDED_STATUSES",
    "FINAL_STATUSES",
    "Comment",
    "CommentStatus",
    "CommentStore",
    "Decision",
    "InvalidCursorError",
    "NonceSpentError",
    "Page",
    "isoformat",
    "new_comment_id",
]
