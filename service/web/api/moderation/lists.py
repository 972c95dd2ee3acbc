"""The moderation API's block and allow lists: moderators read them, admins change them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, g, request

from service.core.accounts import Role
from service.core.exceptions import NotFoundError, ValidationFailedError
from service.core.store.lists import LIST_KINDS, LIST_NAMES, ListKind, ListName, ListStore
from service.web.api.models import ListEntryAdded, Lists, Removed, respond
from service.web.api.moderation.blueprint import bp, moderation_doc
from service.web.api.moderation.schemas import ListEntry, SiteQuery
from service.web.api.request_body import read_body
from service.web.api.schemas import validate
from service.web.apidoc import Reply
from service.web.apidoc.replies import NOT_FOUND
from service.web.auth import requires
from service.web.services import services

#: A list and a kind of entries, as path parameters.
_LIST_PATH: dict[str, tuple[str, Mapping[str, Any] | None]] = {
    "name": ("The list.", {"type": "string", "enum": list(LIST_NAMES)}),
    "kind": ("The kind of entries.", {"type": "string", "enum": list(LIST_KINDS)}),
}


def _lists(site: str) -> ListStore:
    """A site's lists, when the moderator may see that site (else 404, as if absent)."""
    if not g.moderator.sees(site):
        raise NotFoundError(f"no site named {site!r}")
    return ListStore(services().redis, site)


def _list_target(name: str, kind: str) -> tuple[ListName, ListKind]:
    if name not in LIST_NAMES or kind not in LIST_KINDS:
        raise NotFoundError(f"lists are {', '.join(LIST_NAMES)}; kinds are {', '.join(LIST_KINDS)}")
    return name, kind


@bp.get("/lists")
@moderation_doc({200: Reply("Every entry.", Lists)}, query=SiteQuery)
def lists() -> Response:
    """A site's block and allow lists."""
    store = _lists(validate(SiteQuery, request.args.to_dict()).site)
    return respond(Lists.model_validate({name: store.entries(name) for name in LIST_NAMES}))


@bp.post("/lists/<name>/<kind>")
@moderation_doc(
    {201: Reply("The entry as stored.", ListEntryAdded), 404: NOT_FOUND},
    admin=True,
    body=ListEntry,
    path=_LIST_PATH,
)
@requires(Role.ADMIN)
def add_entry(name: str, kind: str) -> Response:
    """Add a list entry (the allow list takes e-mails, domains and IPs, not terms)."""
    list_name, list_kind = _list_target(name, kind)
    entry = validate(ListEntry, read_body())
    try:
        value = _lists(entry.site).add(list_name, list_kind, entry.value)
    except ValueError as exc:
        raise ValidationFailedError("invalid entry", errors={"value": str(exc)}) from None
    added = ListEntryAdded.model_validate({"list": list_name, "kind": list_kind, "value": value})
    return respond(added, 201)


@bp.delete("/lists/<name>/<kind>")
@moderation_doc(
    {200: Reply("Removed.", Removed), 404: NOT_FOUND},
    admin=True,
    query=ListEntry,
    path=_LIST_PATH,
)
@requires(Role.ADMIN)
def remove_entry(name: str, kind: str) -> Response:
    """Remove a list entry (given as `?value=`)."""
    list_name, list_kind = _list_target(name, kind)
    entry = validate(ListEntry, request.args.to_dict())
    try:
        removed = _lists(entry.site).remove(list_name, list_kind, entry.value)
    except ValueError as exc:
        raise ValidationFailedError("invalid entry", errors={"value": str(exc)}) from None
    if not removed:
        raise NotFoundError(f"{entry.value!r} is not on the {list_name} list of {list_kind}")
    return respond(Removed(removed=True))
