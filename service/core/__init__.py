"""The Flask-free core that the web app, the workers and the command line share.

Settings, the Redis client and every Redis key (:mod:`service.core.store.keys`), the
comment store and its statuses, the decision policy with its reason codes and
thresholds (:mod:`service.core.decision`), queues, events, metrics, moderation and
the site's learning history. Nothing here imports Flask; the web app
(:mod:`service.web`) and the workers import this package, never each other.
"""
