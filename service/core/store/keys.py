"""Every Redis key name commentgate uses: all of them start with ``cg:``.

No other module spells a key; each imports its names from here. Keys that belong to
one site are under ``cg:sites:<site>:``. RQ's own keys (``rq:``) are RQ's.
"""

from __future__ import annotations

import hashlib

PREFIX = "cg:"
#: The site every comment belongs to until sites are configured (issue: sites).
DEFAULT_SITE = "default"
PENDING = PREFIX + "pending"  # zset id -> created_at: stored, waiting for a worker
INFLIGHT = PREFIX + "inflight"  # zset id -> lease deadline: claimed by a worker
DRAIN_SCHEDULED = PREFIX + "drain:scheduled"  # flag: a scoring job is queued
#: Retired: unkeyed digests of the e-mail addresses with a published comment, which made
#: anyone typing such an address "previously approved" (issue 13). Commenter tokens
#: (service.core.commenter_tokens) replaced it; nothing writes or reads it, and the key
#: layout 4 upgrade deletes it (store/upgrade.py).
LEGACY_APPROVED_AUTHORS = PREFIX + "authors:approved"
#: Layout 2's one stream of moderators' labels; layout 3 keeps one per site
#: (:func:`feedback`) and moves this one to the default site's (store/upgrade.py).
LEGACY_FEEDBACK = PREFIX + "feedback"
AUDIT = PREFIX + "audit"  # stream of moderation decisions
OUTBOX = PREFIX + "outbox"  # stream of follow-up work committed with a state change
CLIENT_DATA_CURSOR = PREFIX + "privacy:cursor"  # JSON [created_at, id]: IPs hashed up to here
CLIENT_DATA_DEFERRED = PREFIX + "privacy:deferred"  # zset: past retention, still undecided
#: Flask-Limiter's counters (the prefix it puts before its own key names).
RATE_LIMITS = PREFIX + "ratelimit"
ADMISSION = PREFIX + "admission:intake"  # GCRA schedule of intake admission, in us
MODERATORS = PREFIX + "moderators"  # hash name -> JSON account
SITES = PREFIX + "site-registry"  # hash site name -> JSON site (its key only as a digest)
SITE_KEYS = PREFIX + "site-keys"  # hash site key digest -> site name
#: hash Akismet-shaped key digest -> site name (a site's alias key, valid on /1.1/ only)
SITE_AKISMET_KEYS = PREFIX + "site-akismet-keys"
MODERATOR_TOKENS = PREFIX + "moderators:tokens"  # hash token digest -> name
METRIC_COUNTERS = PREFIX + "metrics:counters"
METRIC_HISTOGRAMS = PREFIX + "metrics:histograms"
METRIC_MODELS = PREFIX + "metrics:models"
SCHEMA = PREFIX + "schema"  # the key layout's version (service.core.store.upgrade)
#: Layout 2's cursor of the default site's learning (moved to :func:`learning_cursor`).
LEGACY_LEARNING_CURSOR = PREFIX + "learning:cursor"
LEARNING_LOCK = PREFIX + "learning:lock"  # + ":<site>": one update at a time per site
LEARNING_TRAINED = PREFIX + "learning:trained"  # hash site -> history revision last judged


def status_index(status: str) -> str:
    """Sorted set of the comments with a final status, by creation time."""
    return f"{PREFIX}status:{status}"


def site_status_index(site: str, status: str) -> str:
    """Sorted set of a site's comments with a final status, by creation time.

    Beside the all-sites :func:`status_index`: a site's queue and counts read only it.
    """
    return site_scoped(site, f"status:{status}")


def comment(comment_id: str) -> str:
    """Hash holding one comment."""
    return f"{PREFIX}comment:{comment_id}"


def thread_published(site: str, thread: str) -> str:
    """Sorted set of a site's thread's published comments, by creation time.

    A thread id is unique within its site. The thread is hashed so that any URL or
    slug makes a short, safe key.
    """
    digest = hashlib.sha256(thread.encode()).hexdigest()[:32]
    return site_scoped(site, f"thread:{digest}:published")


def spent_nonce(nonce: str) -> str:
    """Marker of a captcha token already used."""
    return f"{PREFIX}captcha:spent:{nonce}"


def captcha_attempts(nonce: str) -> str:
    """Counter of wrong answers given to one captcha token."""
    return f"{PREFIX}captcha:attempts:{nonce}"


def site_labels(site: str, feature_space: str) -> str:
    """Hash of a site's labelled history in one feature space (see service.core.site_labels).

    Beside it: ``:order`` (zset, key -> time of the label) and ``:revision`` (counter).
    """
    return site_scoped(site, f"labels:{feature_space}")


def campaigns(site: str) -> str:
    """Stream of a site's moderator-labelled comment signatures (campaign memory)."""
    return site_scoped(site, "campaigns")


def feedback(site: str) -> str:
    """Stream of a site's moderators' labels (approve = ham, spam = spam)."""
    return site_scoped(site, "feedback")


def learning_cursor(site: str) -> str:
    """Id of the last entry of a site's feedback stream its learning consumed."""
    return site_scoped(site, "learning:cursor")


def learning_scheduled(site: str) -> str:
    """Flag: an update job of the site's model is queued."""
    return site_scoped(site, "learning:scheduled")


def site_scoped(site: str, name: str) -> str:
    """A key that belongs to one site: ``cg:sites:<site>:<name>``."""
    return f"{PREFIX}sites:{site}:{name}"


def models_index(site: str) -> str:
    """Sorted set of a site's stored model versions, by time stored."""
    return site_scoped(site, "models:index")


def models_current(site: str) -> str:
    """The version a site's comments are decided with (absent: the base model)."""
    return site_scoped(site, "models:current")


def models_history(site: str) -> str:
    """List of a site's promotions and rollbacks, newest first."""
    return site_scoped(site, "models:history")


def model_version(site: str, version: str) -> str:
    """Hash holding one of a site's stored model versions (its bytes and card)."""
    return site_scoped(site, f"models:v:{version}")


def event(event_id: str) -> str:
    """Key holding one webhook event's JSON body."""
    return f"{PREFIX}event:{event_id}"


def moderation_list(site: str, name: str, kind: str) -> str:
    """Set of a site's block or allow list entries of one kind (terms, emails, ...)."""
    return site_scoped(site, f"list:{name}:{kind}")


def site_labels_order(labels_key: str) -> str:
    """Sorted set beside a site history: example key -> time of its label."""
    return labels_key + ":order"


def site_labels_revision(labels_key: str) -> str:
    """Counter beside a site history, moved by every write."""
    return labels_key + ":revision"


def moderator_session(sid: str) -> str:
    """A live moderation UI session (its value is the moderator's name)."""
    return f"{PREFIX}moderate:session:{sid}"


def site_webhooks(site: str) -> str:
    """Hash of a site's own webhook receivers: URL -> ``whsec_`` secret."""
    return site_scoped(site, "webhooks")


def akismet_fingerprint(site: str, digest: str) -> str:
    """A comment checked through the Akismet protocol, by the digest of what identifies it.

    Its value is the comment's id: ``submit-spam`` and ``submit-ham`` without a ``guid``
    find the comment by its content, author and address (service.core.akismet).
    """
    return site_scoped(site, f"akismet:{digest}")


def form_retry(retry_id: str) -> str:
    """JSON of a comment form a browser posted and the intake refused, for its next page.

    Expires after a few minutes (service.web.pages.form_state.RETRY_TTL_SECONDS).
    """
    return f"{PREFIX}form-retry:{retry_id}"
