"""Comment storage on Redis, shared by the web app and the workers."""

from service.store.comments import (
    CommentStore,
    Decision,
    InvalidCursorError,
    NonceSpentError,
    Page,
)
from service.store.models import FINAL_STATUSES, Comment, CommentStatus, isoformat

__all__ = [
    "FINAL_STATUSES",
    "Comment",
    "CommentStatus",
    "CommentStore",
    "Decision",
    "InvalidCursorError",
    "NonceSpentError",
    "Page",
    "isoformat",
]
