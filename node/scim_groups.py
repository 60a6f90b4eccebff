"""SCIM `Groups`: the company directory's groups and who is in them. A person's role here
follows the groups they are in (node/group_roles.py, with `auth.oidc.admin_groups` and
`moderator_groups`), re-read whenever a group or its members change; a node that names no
such groups leaves roles alone. Every write is one transaction with its audit entries."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from scim2_models import Context, Group, GroupMember, SearchRequest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from node import audit
from node.context import NodeContext
from node.group_roles import role_for_groups
from node.scim_schema import ScimError, fixed_operations, location, meta, narrowed, parsed, patched, with_refs
from storage.models import Account, ScimGroup, ScimGroupMember, ScimUser, utcnow

KIND = "Group"


def _normalised(ctx: NodeContext, payload: dict[str, Any]) -> dict[str, Any]:
    if "members" in payload:
        payload = {**payload, "members": with_refs(ctx, payload["members"], "Users")}
    return payload


def _fix_value(ctx: NodeContext) -> Callable[[str, Any], Any]:
    def fix(path: str, value: Any) -> Any:
        if path == "members":
            return with_refs(ctx, value, "Users")
        return _normalised(ctx, value) if not path and isinstance(value, dict) else value

    return fix


def _document(group: Group) -> str:
    doc = group.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    for key in ("id", "meta", "members"):
        doc.pop(key, None)
    return json.dumps(doc)


async def _members(s: AsyncSession, gids: list[str]) -> dict[str, list[ScimGroupMember]]:
    rows = (await s.scalars(select(ScimGroupMember).where(ScimGroupMember.group_id.in_(gids))
                            .order_by(ScimGroupMember.position))).all()
    out: dict[str, list[ScimGroupMember]] = {}
    for m in rows:
        out.setdefault(m.group_id, []).append(m)
    return out


def _model(ctx: NodeContext, row: ScimGroup, members: list[ScimGroupMember]) -> Group:
    data = json.loads(row.document)
    data["id"] = row.scim_id
    data["meta"] = meta(ctx, KIND, row.scim_id, row.created_at, row.updated_at, row.version).model_dump(
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    group = Group.model_validate(data, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    group.members = [GroupMember.model_validate(
        {"value": m.member_id, "$ref": location(ctx, f"{m.kind}s", m.member_id), "type": m.kind, "display": m.display or None}
    ) for m in members] or None
    return group


async def _row(s: AsyncSession, scim_id: str) -> ScimGroup:
    row = await s.get(ScimGroup, scim_id)
    if row is None:
        raise ScimError(f"no group {scim_id!r}", status=404)
    return row


async def _set_members(s: AsyncSession, group: ScimGroup, members: list[GroupMember]) -> set[str]:
    """Write the group's members; returns every person's id it had or has (their roles may change)."""
    before = set((await s.scalars(select(ScimGroupMember.member_id).where(
        ScimGroupMember.group_id == group.scim_id, ScimGroupMember.kind == "User"))).all())
    await s.execute(delete(ScimGroupMember).where(ScimGroupMember.group_id == group.scim_id))
    seen: set[str] = set()
    users: set[str] = set()
    for position, member in enumerate(members):
        value = member.value or ""
        if not value or value in seen:
            continue
        seen.add(value)
        user = await s.scalar(select(ScimUser).where(ScimUser.scim_id == value))
        if user is not None:
            kind, display = "User", member.display or json.loads(user.document).get("displayName") or user.user_name
            users.add(value)
        elif value != group.scim_id and await s.get(ScimGroup, value) is not None:
            kind, display = "Group", member.display or ""
        else:
            raise ScimError(f"member {value!r} is neither a provisioned user nor a group", scim_type="invalidValue")
        s.add(ScimGroupMember(group_id=group.scim_id, member_id=value, kind=kind, position=position,
                              display=(display or "")[:255]))
    await s.flush()
    return before | users


async def _refresh_roles(ctx: NodeContext, s: AsyncSession, user_ids: set[str], by: str) -> None:
    """Each person's role from the groups they are now in, when the node maps groups to roles."""
    if not (ctx.admin_groups or ctx.moderator_groups) or not user_ids:
        return
    for scim_id in sorted(user_ids):
        user = await s.scalar(select(ScimUser).where(ScimUser.scim_id == scim_id))
        account = await s.get(Account, user.account_id) if user is not None else None
        if account is None:
            continue
        groups = (await s.execute(select(ScimGroup.display_name, ScimGroup.external_id, ScimGroup.scim_id)
                                  .join(ScimGroupMember, ScimGroupMember.group_id == ScimGroup.scim_id)
                                  .where(ScimGroupMember.member_id == scim_id))).all()
        names = [n for row in groups for n in row if n]
        role = role_for_groups(names, admin_groups=ctx.admin_groups, moderator_groups=ctx.moderator_groups)
        if role != account.role:
            old, account.role = account.role, role
            await audit.record(s, direction="admin", peer="", obj=f"accounts/{account.username}", decision="accepted",
                               rule="scim:role", reason=f"by SCIM token {by}: {old} -> {role} from the directory's groups")


async def _audit(s: AsyncSession, row: ScimGroup, action: str, by: str) -> None:
    await audit.record(s, direction="admin", peer="", obj=f"scim/groups/{row.scim_id}", decision="accepted",
                       rule=f"scim:{action}", reason=f"by SCIM token {by}: {row.display_name}")


async def create_group(ctx: NodeContext, payload: dict[str, Any], *, by: str) -> Group:
    group = parsed(Group, _normalised(ctx, payload), Context.RESOURCE_CREATION_REQUEST, "the group")
    if not group.display_name:
        raise ScimError("displayName is required", scim_type="invalidValue")
    async with ctx.db.session() as s:
        row = ScimGroup(scim_id=str(uuid.uuid4()), display_name=group.display_name[:255],
                        external_id=group.external_id, document=_document(group), version=1)
        s.add(row)
        await s.flush()
        changed = await _set_members(s, row, group.members or [])
        await _refresh_roles(ctx, s, changed, by)
        await _audit(s, row, "group-create", by)
        return _model(ctx, row, (await _members(s, [row.scim_id])).get(row.scim_id, []))


async def get_group(ctx: NodeContext, scim_id: str) -> Group:
    async with ctx.db.reader() as s:
        row = await _row(s, scim_id)
        return _model(ctx, row, (await _members(s, [scim_id])).get(scim_id, []))


async def search_groups(ctx: NodeContext, req: SearchRequest[Group]) -> tuple[int, list[Group]]:
    async with ctx.db.reader() as s:
        rows = list((await s.scalars(select(ScimGroup).order_by(ScimGroup.created_at, ScimGroup.scim_id))).all())
        members = await _members(s, [r.scim_id for r in rows])
    groups = narrowed(req, [_model(ctx, r, members.get(r.scim_id, [])) for r in rows])
    return len(groups), groups


async def replace_group(ctx: NodeContext, scim_id: str, payload: dict[str, Any], *, by: str) -> Group:
    group = parsed(Group, _normalised(ctx, payload), Context.RESOURCE_REPLACEMENT_REQUEST, "the group")
    return await _write(ctx, scim_id, group, by)


async def patch_group(ctx: NodeContext, scim_id: str, payload: dict[str, Any], *, by: str) -> Group:
    group = await patched(Group, fixed_operations(payload, _fix_value(ctx)), lambda: get_group(ctx, scim_id))
    return await _write(ctx, scim_id, group, by)


async def _write(ctx: NodeContext, scim_id: str, group: Group, by: str) -> Group:
    if not group.display_name:
        raise ScimError("displayName is required", scim_type="invalidValue")
    async with ctx.db.session() as s:
        row = await _row(s, scim_id)
        row.display_name, row.external_id = group.display_name[:255], group.external_id
        row.document, row.version, row.updated_at = _document(group), row.version + 1, utcnow()
        changed = await _set_members(s, row, group.members or [])
        await _refresh_roles(ctx, s, changed, by)
        await _audit(s, row, "group-update", by)
        return _model(ctx, row, (await _members(s, [scim_id])).get(scim_id, []))


async def delete_group(ctx: NodeContext, scim_id: str, *, by: str) -> None:
    async with ctx.db.session() as s:
        row = await _row(s, scim_id)
        users = set((await s.scalars(select(ScimGroupMember.member_id).where(
            ScimGroupMember.group_id == scim_id, ScimGroupMember.kind == "User"))).all())
        await s.execute(delete(ScimGroupMember).where(
            (ScimGroupMember.group_id == scim_id) | (ScimGroupMember.member_id == scim_id)))
        await _audit(s, row, "group-delete", by)
        await s.delete(row)
        await s.flush()
        await _refresh_roles(ctx, s, users, by)
