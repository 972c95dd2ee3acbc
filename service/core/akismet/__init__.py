"""The Akismet protocol (REST API 1.1) on commentgate: a site's key is its Akismet key.

Flask-free: :mod:`service.web.akismet` answers the HTTP requests with what this
package decides. See docs/akismet.md for what clients send and what they get.
"""

from service.core.akismet.checking import (
    DISCARD_SHARE,
    RECHECK_AFTER_SECONDS,
    AkismetChecker,
    Verdict,
    blatant,
)
from service.core.akismet.fields import MissingFieldError, Submission, read_submission
from service.core.akismet.reports import labeller, report

__all__ = [
    "DISCARD_SHARE",
    "RECHECK_AFTER_SECONDS",
    "AkismetChecker",
    "MissingFieldError",
    "Submission",
    "Verdict",
    "blatant",
    "labeller",
    "read_submission",
    "report",
]
