"""The moderator's browser session: a signed cookie naming the account and its token.

A moderator logs in once with their API token. The session then holds their name, the
token's SHA-256 digest (never the token) and a random session id, and every request
checks them against Redis: revoking the account, or giving it a new token, ends every
session at once, and logging out deletes the session's record, so a copy of the old
cookie is worthless afterwards.

The cookie is ``HttpOnly``, ``SameSite=Strict``, limited to ``/moderate`` and
``Secure`` when ``COMMENTGATE_SECURE_COOKIES`` says so (the default in production) or
the request came over HTTPS. A request that arrives without the cookie never ends the
session (the browser may have held the cookie back: see :func:`cookie_withheld`).
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from datetime import timedelta
from typing import Any, cast

from flask import Flask, Request, has_request_context, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from service.core.accounts import (
    Moderator,
    ModeratorStore,
    account_from_json,
    token_digest,
)
from service.core.settings import Settings
from service.core.store import keys
from service.web.services import services

logger = logging.getLogger(__name__)

COOKIE_NAME = "commentgate_moderator"
#: A session unused for this long ends (the cookie's expiry slides with each request).
IDLE_LIFETIME = timedelta(hours=8)
#: A session ends this long after the login, however busy the moderator is.
ABSOLUTE_LIFETIME = timedelta(hours=24)

_NAME = "moderator"
_DIGEST = "token_digest"
_LOGIN_AT = "login_at"
_SID = "sid"


def session_key(sid: str) -> str:
    """Redis key of one live session (its value is the moderator's name)."""
    return keys.moderator_session(sid)


class ModeratorSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, ``Secure`` also whenever the request is HTTPS.

    Only the moderation UI has sessions (its cookie's path is the UI's prefix): other
    requests (the API, intake) get a null session and skip the signing work.
    """

    def open_session(self, app: Flask, incoming: Request) -> SecureCookieSession | None:
        """Open the session of a moderation UI request; a null one for anything else."""
        if not incoming.path.startswith(app.config["SESSION_COOKIE_PATH"] or "/"):
            return self.make_null_session(app)
        return super().open_session(app, incoming)

    def get_cookie_secure(self, app: Flask) -> bool:
        """Whether the session cookie gets the ``Secure`` flag.

        Args:
            app: The app.

        Returns:
            True when configured (``SESSION_COOKIE_SECURE``) or the request is HTTPS.
        """
        configured = bool(app.config["SESSION_COOKIE_SECURE"])
        return configured or (has_request_context() and request.is_secure)


def secure_cookies(settings: Settings) -> bool:
    """Whether cookies are always ``Secure``: the setting, or on in production."""
    if settings.secure_cookies is not None:
        return settings.secure_cookies
    return settings.env == "production"


def configure_sessions(app: Flask, settings: Settings, path: str) -> None:
    """Set up the session cookie of the moderation UI on ``app``.

    Args:
        app: The app being built.
        settings: For ``secure_cookies``.
        path: The cookie's path (the UI's URL prefix).
    """
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=secure_cookies(settings),
        SESSION_COOKIE_PATH=path,
        PERMANENT_SESSION_LIFETIME=IDLE_LIFETIME,
    )
    app.session_interface = ModeratorSessionInterface()


def log_in(token: str) -> Moderator | None:
    """Start a session for the moderator whose API token this is.

    The old session (and its CSRF token) is discarded first, so a session planted
    before the login is never promoted.

    Args:
        token: What the moderator pasted.

    Returns:
        The moderator, or ``None`` when the token is not valid (nothing is stored).
    """
    token = token.strip()
    client = services().redis
    moderator = ModeratorStore(client).authenticate(token)
    if moderator is None:
        return None
    log_out()  # a login replaces whatever session this browser had
    sid = secrets.token_urlsafe(24)
    client.set(session_key(sid), moderator.name, ex=ABSOLUTE_LIFETIME)
    session.permanent = True
    session[_NAME] = moderator.name
    session[_DIGEST] = token_digest(token)
    session[_LOGIN_AT] = time.time()
    session[_SID] = sid
    return moderator


def log_out() -> None:
    """End the session, here and in Redis."""
    sid = session.get(_SID)
    if isinstance(sid, str):
        services().redis.delete(session_key(sid))
    session.clear()


def sent_cookie() -> bool:
    """Whether this request carried the session cookie (valid or not)."""
    return COOKIE_NAME in request.cookies


def cookie_withheld() -> bool:
    """Whether the browser may hold a session cookie it did not send with this request.

    The cookie is ``SameSite=Strict``: browsers leave it out of a navigation that
    starts on another site (``Sec-Fetch-Site: cross-site``), such as a link in an
    e-mail or on a forum. Answering such a request by clearing the session, or by a
    page that starts a new one (the login form's CSRF token), would log the moderator
    out; see ``views._continue_page``.
    """
    return (
        request.method in ("GET", "HEAD")
        and not sent_cookie()
        and request.headers.get("Sec-Fetch-Site") == "cross-site"
    )


def has_login() -> bool:
    """Whether the session names a moderator (valid or not)."""
    return _NAME in session


def current_moderator() -> Moderator | None:
    """The moderator of this session, checked against the accounts in Redis.

    Returns:
        The moderator; ``None`` without a login, after a logout, after
        ``ABSOLUTE_LIFETIME``, or when the account was revoked or its token replaced.
    """
    name, digest, sid = session.get(_NAME), session.get(_DIGEST), session.get(_SID)
    login_at = session.get(_LOGIN_AT)
    if not (isinstance(name, str) and isinstance(digest, str) and isinstance(sid, str)):
        return None
    if not isinstance(login_at, int | float):
        return None
    if time.time() - login_at > ABSOLUTE_LIFETIME.total_seconds():
        return None
    client = services().redis
    with client.pipeline(transaction=False) as pipe:
        pipe.hget(keys.MODERATOR_TOKENS, digest)
        pipe.hget(keys.MODERATORS, name)
        pipe.get(session_key(sid))
        owner, raw, live = cast(list[bytes | None], pipe.execute())
    if owner is None or raw is None or live is None:
        return None
    if not (hmac.compare_digest(owner, name.encode()) and hmac.compare_digest(live, owner)):
        return None
    account: dict[str, Any] = json.loads(raw)
    if not hmac.compare_digest(str(account.get("digest", "")), digest):
        return None
    return account_from_json(account)
