"""The moderation API's accounts: the moderator's own, and (admins) everyone's."""

from __future__ import annotations

from flask import Response, g

from service.core.accounts import AccountError, ModeratorStore, Role, describe
from service.core.exceptions import ForbiddenError, NotFoundError, ValidationFailedError
from service.web.api.models import (
    ModeratorAccount,
    ModeratorCreated,
    ModeratorList,
    Revoked,
    respond,
)
from service.web.api.moderation.blueprint import bp, moderation_doc
from service.web.api.moderation.schemas import NewModerator
from service.web.api.request_body import read_body
from service.web.api.schemas import validate
from service.web.apidoc import Reply
from service.web.apidoc.replies import NOT_FOUND
from service.web.auth import requires
from service.web.services import services


@bp.get("/me")
@moderation_doc({200: Reply("The account.", ModeratorAccount)})
def me() -> Response:
    """The authenticated moderator."""
    return respond(ModeratorAccount.model_validate(describe(g.moderator)))


@bp.get("/moderators")
@moderation_doc({200: Reply("Every account.", ModeratorList)}, admin=True)
@requires(Role.ADMIN)
def moderators() -> Response:
    """Moderator accounts."""
    accounts = ModeratorStore(services().redis).list()
    return respond(
        ModeratorList(moderators=[ModeratorAccount.model_validate(describe(m)) for m in accounts])
    )


@bp.post("/moderators")
@moderation_doc(
    {201: Reply("The account and its token (shown once).", ModeratorCreated)},
    admin=True,
    body=NewModerator,
)
@requires(Role.ADMIN)
def add_moderator() -> Response:
    """Create a moderator account.

    Its token is in this response only.
    """
    body = validate(NewModerator, read_body())
    mine = g.moderator.sites
    if mine is not None and (body.sites is None or not set(body.sites) <= set(mine)):
        raise ForbiddenError("an admin limited to some sites creates accounts for those only")
    try:
        token = ModeratorStore(services().redis).add(body.name, body.role, body.sites)
    except AccountError as exc:
        raise ValidationFailedError(str(exc), errors={"name": str(exc)}) from None
    created = ModeratorCreated(
        name=body.name,
        role=body.role,
        token=token,
        sites=sorted(set(body.sites)) if body.sites is not None else None,
    )
    return respond(created, 201)


@bp.delete("/moderators/<name>")
@moderation_doc(
    {200: Reply("Revoked.", Revoked), 404: NOT_FOUND},
    admin=True,
    path={"name": ("The account's name.", {"type": "string", "minLength": 1})},
)
@requires(Role.ADMIN)
def revoke_moderator(name: str) -> Response:
    """Revoke a moderator account.

    Its token stops working at once.
    """
    try:
        ModeratorStore(services().redis).revoke(name)
    except AccountError as exc:
        raise NotFoundError(str(exc)) from None
    return respond(Revoked(revoked=name))
