"""SCIM `Users`: a provisioned person is a local account without a password (they sign in
through the company's identity provider) plus their SCIM resource (storage/models/scim.py).
Create, read, search, replace, patch and delete, each write in one transaction with its audit
entry; `active: false` disables the account the one way `atrium user disable` does
(node/accounts.py set_disabled_in), and `DELETE` deletes it the one way every door does
(node/account_deletion.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from scim2_models import Context, GroupMembership, SearchRequest
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from node import audit
from node.account_deletion import delete_account
from node.accounts import insert_passwordless, set_disabled_in
from node.context import NodeContext
from node.scim_people import apply, check_free, project
from node.scim_schema import (
    ENTERPRISE,
    ScimError,
    ScimUserModel,
    fixed_operations,
    location,
    meta,
    narrowed,
    parsed,
    patched,
    taken,
    with_refs,
)
from storage.models import Account, ScimGroup, ScimGroupMember, ScimUser, utcnow

KIND = "User"


def _normalised(ctx: NodeContext, payload: dict[str, Any]) -> dict[str, Any]:
    """The enterprise extension's manager as a reference, however the identity provider sent it."""
    ext = payload.get(ENTERPRISE)
    if isinstance(ext, dict) and "manager" in ext:
        payload = {**payload, ENTERPRISE: {**ext, "manager": with_refs(ctx, ext["manager"], "Users")}}
    payload.pop("groups", None)  # read-only: memberships are written through Groups
    return payload


def _fix_value(ctx: NodeContext) -> Callable[[str, Any], Any]:
    def fix(path: str, value: Any) -> Any:
        if path.endswith("manager"):
            return with_refs(ctx, value, "Users")
        return _normalised(ctx, dict(value)) if not path and isinstance(value, dict) else value

    return fix


def _document(user: ScimUserModel) -> str:
    doc = user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    for key in ("id", "meta", "groups", "password"):
        doc.pop(key, None)
    return json.dumps(doc)


async def _groups_of(s: AsyncSession, scim_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    rows = (await s.execute(
        select(ScimGroupMember.member_id, ScimGroup.scim_id, ScimGroup.display_name)
        .join(ScimGroup, ScimGroup.scim_id == ScimGroupMember.group_id)
        .where(ScimGroupMember.member_id.in_(scim_ids)).order_by(ScimGroup.display_name)
    )).all()
    out: dict[str, list[tuple[str, str]]] = {}
    for member, gid, name in rows:
        out.setdefault(member, []).append((gid, name))
    return out


def _model(ctx: NodeContext, row: ScimUser, groups: list[tuple[str, str]]) -> ScimUserModel:
    data = json.loads(row.document)
    data["id"] = row.scim_id
    data["meta"] = meta(ctx, KIND, row.scim_id, row.created_at, row.updated_at, row.version).model_dump(
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    user = ScimUserModel.model_validate(data, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    user.groups = [GroupMembership.model_validate(
        {"value": gid, "$ref": location(ctx, "Groups", gid), "display": name, "type": "direct"}
    ) for gid, name in groups] or None
    return user


async def _row(s: AsyncSession, scim_id: str) -> ScimUser:
    row = await s.scalar(select(ScimUser).where(ScimUser.scim_id == scim_id))
    if row is None:
        raise ScimError(f"no provisioned user {scim_id!r}", status=404)
    return row


async def _audit(s: AsyncSession, account: Account, action: str, by: str, detail: str = "") -> None:
    await audit.record(s, direction="admin", peer="", obj=f"accounts/{account.username}", decision="accepted",
                       rule=f"scim:{action}", reason=f"by SCIM token {by}" + (f": {detail}" if detail else ""))


async def create_user(ctx: NodeContext, payload: dict[str, Any], *, by: str) -> ScimUserModel:
    user = parsed(ScimUserModel, _normalised(ctx, payload), Context.RESOURCE_CREATION_REQUEST, "the user")
    if not user.user_name:
        raise ScimError("userName is required", scim_type="invalidValue")
    p = project(user)
    try:
        async with ctx.db.session() as s:
            handle = await check_free(s, user.user_name)
            account = await insert_passwordless(s, handle, display_name=p.display_name or handle, email=p.email)
            await apply(s, account, user, p)
            if not p.active:
                await set_disabled_in(s, account, True)
            row = ScimUser(account_id=account.id, scim_id=str(uuid.uuid4()), user_name=user.user_name,
                           user_name_key=user.user_name.lower(), external_id=user.external_id,
                           document=_document(user), version=1)
            s.add(row)
            await s.flush()
            await _audit(s, account, "user-create", by, f"userName {user.user_name}" + ("" if p.active else ", inactive"))
            return _model(ctx, row, [])
    except IntegrityError as exc:  # a concurrent create of the same userName
        raise taken(f"userName {user.user_name!r} is already provisioned") from exc


async def get_user(ctx: NodeContext, scim_id: str) -> ScimUserModel:
    async with ctx.db.reader() as s:
        row = await _row(s, scim_id)
        return _model(ctx, row, (await _groups_of(s, [row.scim_id])).get(row.scim_id, []))


async def search_users(ctx: NodeContext, req: SearchRequest[ScimUserModel]) -> tuple[int, list[ScimUserModel]]:
    """Users matching the request's filter, sorted as asked (else by creation), and their total."""
    simple = req.filter and _simple_eq(str(req.filter))
    async with ctx.db.reader() as s:
        q = select(ScimUser).order_by(ScimUser.created_at, ScimUser.account_id)
        if simple and simple[0] == "username":
            q = q.where(ScimUser.user_name_key == simple[1].lower())
        elif simple and simple[0] == "externalid":
            q = q.where(ScimUser.external_id == simple[1])
        elif simple and simple[0] == "id":
            q = q.where(ScimUser.scim_id == simple[1])
        rows = list((await s.scalars(q)).all())
        groups = await _groups_of(s, [r.scim_id for r in rows])
    users = narrowed(req, [_model(ctx, r, groups.get(r.scim_id, [])) for r in rows])
    return len(users), users


def _simple_eq(text: str) -> tuple[str, str] | None:
    """`userName eq "x"` (and externalId, id): answered by an index instead of a scan."""
    attr, _, rest = text.strip().partition(" ")
    op, _, value = rest.strip().partition(" ")
    value = value.strip()
    if op.lower() != "eq" or len(value) < 2 or value[0] != '"' or value[-1] != '"' or '"' in value[1:-1] or "\\" in value:
        return None
    attr = attr.lower().removeprefix("urn:ietf:params:scim:schemas:core:2.0:user:")
    return (attr, value[1:-1]) if attr in ("username", "externalid", "id") else None


async def replace_user(ctx: NodeContext, scim_id: str, payload: dict[str, Any], *, by: str) -> ScimUserModel:
    user = parsed(ScimUserModel, _normalised(ctx, payload), Context.RESOURCE_REPLACEMENT_REQUEST, "the user")
    return await _write(ctx, scim_id, user, by)


async def patch_user(ctx: NodeContext, scim_id: str, payload: dict[str, Any], *, by: str) -> ScimUserModel:
    user = await patched(ScimUserModel, fixed_operations(payload, _fix_value(ctx)), lambda: get_user(ctx, scim_id))
    return await _write(ctx, scim_id, user, by)


async def _write(ctx: NodeContext, scim_id: str, user: ScimUserModel, by: str) -> ScimUserModel:
    if not user.user_name:
        raise ScimError("userName is required", scim_type="invalidValue")
    p = project(user)
    try:
        async with ctx.db.session() as s:
            row = await _row(s, scim_id)
            account = await s.get(Account, row.account_id)
            if account is None:
                raise ScimError(f"no provisioned user {scim_id!r}", status=404)
            if user.user_name.lower() != row.user_name_key:
                await check_free(s, user.user_name, own_account=account.id)
            was_active = json.loads(row.document).get("active") is not False
            await apply(s, account, user, p)
            row.user_name, row.user_name_key, row.external_id = user.user_name, user.user_name.lower(), user.external_id
            row.document, row.version, row.updated_at = _document(user), row.version + 1, utcnow()
            await _audit(s, account, "user-update", by)
            if was_active != p.active:
                await set_disabled_in(s, account, not p.active)
                await _audit(s, account, "user-reactivate" if p.active else "user-deactivate", by,
                             "sessions and tokens kept" if p.active else "sessions and tokens revoked, peers told")
            await s.flush()
            return _model(ctx, row, (await _groups_of(s, [row.scim_id])).get(row.scim_id, []))
    except IntegrityError as exc:
        raise taken(f"userName {user.user_name!r} is already provisioned") from exc


async def delete_user(ctx: NodeContext, scim_id: str, *, by: str) -> None:
    """Delete the person's account through the node's one deletion (holds respected: an account
    under legal hold is refused with 409, and nothing changes), then forget the resource."""
    async with ctx.db.reader() as s:
        row = await _row(s, scim_id)
        account_id = row.account_id
    await delete_account(ctx, account_id, by=f"scim:{by}", reason="deprovisioned by the company directory")
    async with ctx.db.session() as s:
        account = await s.get(Account, account_id)
        await s.execute(delete(ScimGroupMember).where(ScimGroupMember.member_id == scim_id))
        await s.execute(delete(ScimUser).where(ScimUser.scim_id == scim_id))
        if account is not None:
            await _audit(s, account, "user-delete", by, "account deleted")
