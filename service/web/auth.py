"""Who is asking: moderators authenticate with ``Authorization: Bearer <token>``.

Every view of a moderation blueprint requires a moderator; views marked with
:func:`requires` ``(Role.ADMIN)`` require an admin. The check runs before the view, for
every route of the blueprint, so a new route cannot be left open by mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, g, request

from service.core.accounts import Moderator, ModeratorStore, Role
from service.core.exceptions import ForbiddenError, UnauthorizedError
from service.web.services import services

F = TypeVar("F", bound=Callable[..., object])
_ROLE_ATTRIBUTE = "_commentgate_required_role"


def requires(role: Role) -> Callable[[F], F]:
    """Mark a view as needing ``role`` (the default is any moderator)."""

    def mark(view: F) -> F:
        setattr(view, _ROLE_ATTRIBUTE, role)
        return view

    return mark


def required_role(endpoint: str | None) -> Role:
    """The role the view behind ``endpoint`` needs."""
    view = current_app.view_functions.get(endpoint or "")
    role: Role = getattr(view, _ROLE_ATTRIBUTE, Role.MODERATOR)
    return role


def bearer_moderator() -> Moderator | None:
    """The moderator whose token is in the Authorization header, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return ModeratorStore(services().redis).authenticate(token.strip())


def authorize(moderator: Moderator | None) -> Moderator:
    """Check the moderator may call the current endpoint; remember them in ``g``.

    Raises:
        UnauthorizedError: No valid credentials.
        ForbiddenError: The role is too small for the endpoint.
    """
    if moderator is None:
        raise UnauthorizedError(
            "a valid moderator token is required",
            extra={"hint": "send Authorization: Bearer <token> (commentgate moderators add)"},
        )
    needed = required_role(request.endpoint)
    if not moderator.role.allows(needed):
        raise ForbiddenError(f"this needs the {needed.value} role")
    g.moderator = moderator
    return moderator
