"""What a provisioned person's SCIM resource means here: the local handle a `userName` gets,
the handles it may not take, and the account columns projected from the resource (display
name, e-mail, the directory attributes title, department, location, organization,
employee_number, manager) — the one mapping SCIM's writes go through."""

from __future__ import annotations

import re
from dataclasses import dataclass

from scim2_models import EnterpriseUser
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.accounts import MAX_DISPLAY_NAME, USERNAME_RE, find_local, refusal_of_name
from node.domains import canonical_domain
from node.federate import queue_fanout
from node.queues import ActorUpdated
from node.scim_schema import ScimUserModel, taken
from storage.models import Account, ScimUser

_NOT_HANDLE = re.compile(r"[^A-Za-z0-9_.-]+")
MAX_COLUMN = 255


def handle_for(user_name: str) -> str:
    """The local handle of a `userName`: itself when it is a valid handle, else its part before
    `@` (Entra ID sends the userPrincipalName, `alice@contoso.com`), with what a handle cannot
    hold made `_` and cut to 30 characters. OIDC sign-in matches a provisioned account by it."""
    if USERNAME_RE.fullmatch(user_name):
        return user_name
    local = user_name.rsplit("@", 1)[0] if "@" in user_name else user_name
    handle = _NOT_HANDLE.sub("_", local)[:30].strip(".-") or "_"
    return handle if USERNAME_RE.fullmatch(handle) else "_" + handle[:29].strip(".-")


async def check_free(s: AsyncSession, user_name: str, *, own_account: int | None = None) -> str:
    """The handle a new `userName` gets, or `taken` (409) with the reason: another provisioned
    person has it; an account of this node has the handle and was not provisioned (SCIM never
    takes over an account), or was deleted (its handle stays reserved); or it is the handle of a
    person of another node known here."""
    key = user_name.lower()
    other = await s.scalar(select(ScimUser.account_id).where(ScimUser.user_name_key == key))
    if other is not None and other != own_account:
        raise taken(f"userName {user_name!r} is already provisioned")
    if own_account is not None:
        return ""  # a rename: the account keeps its handle
    if "@" in user_name:
        name, _, domain = user_name.rpartition("@")
        try:
            canonical = canonical_domain(domain)
        except ValueError:
            canonical = ""
        if canonical and await s.scalar(select(Account.id).where(
                func.lower(Account.username) == name.lower(), Account.domain == canonical)) is not None:
            raise taken(f"userName {user_name!r} is the handle of a person of another node known here")
    handle = handle_for(user_name)
    existing = await find_local(s, handle)
    if existing is not None:
        if existing.deleted_at is not None or existing.is_group:  # a community's name is taken too
            raise taken(refusal_of_name(existing))
        raise taken(f"an account named {handle!r} already exists on this node and was not provisioned by SCIM")
    return handle


@dataclass(frozen=True)
class Projection:
    """The account columns a resource sets."""

    display_name: str
    email: str | None
    title: str
    department: str
    location: str
    organization: str
    employee_number: str
    manager: str
    active: bool


def project(user: ScimUserModel) -> Projection:
    ext = user[EnterpriseUser]
    name = user.name
    given = " ".join(p for p in (name.given_name, name.family_name) if p) if name else ""
    display = user.display_name or (name.formatted if name and name.formatted else "") or given or user.user_name or ""
    emails = user.emails or []
    email = next((e.value for e in emails if e.primary), None) or next((e.value for e in emails if e.value), None)
    addresses = user.addresses or []
    address = next((a for a in addresses if a.primary), addresses[0] if addresses else None)
    manager = ""
    if ext is not None and ext.manager is not None:
        manager = ext.manager.display_name or ext.manager.value or ""
    return Projection(
        display_name=display[:MAX_DISPLAY_NAME],
        email=str(email)[:320] if email else None,
        title=(user.title or "")[:MAX_COLUMN],
        department=(ext.department if ext and ext.department else "")[:MAX_COLUMN],
        location=(address.locality if address and address.locality else "")[:MAX_COLUMN],
        organization=(ext.organization if ext and ext.organization else "")[:MAX_COLUMN],
        employee_number=(ext.employee_number if ext and ext.employee_number else "")[:64],
        manager=manager[:MAX_COLUMN],
        active=user.active is not False,
    )


async def apply(s: AsyncSession, account: Account, user: ScimUserModel, p: Projection) -> None:
    """Write the projection on the account; a manager who is a provisioned person here is
    named by their handle (Entra ID and Okta send the manager's SCIM id). A change to what
    the actor document shows is told to the peers that know the account (an actor Update)."""
    before = _shown(account)
    account.display_name = p.display_name or account.username
    account.email = p.email
    account.title, account.department, account.location = p.title, p.department, p.location
    account.organization, account.employee_number, account.manager = p.organization, p.employee_number, p.manager
    ext = user[EnterpriseUser]
    if ext is not None and ext.manager is not None and ext.manager.value:
        handle = await s.scalar(select(Account.username).join(ScimUser, ScimUser.account_id == Account.id)
                                .where(ScimUser.scim_id == ext.manager.value))
        if handle is not None:
            account.manager = handle
    if account.id is not None and _shown(account) != before:
        await queue_fanout(s, ActorUpdated(account.id))


def _shown(a: Account) -> tuple[str | None, ...]:
    return (a.display_name, a.title, a.department, a.location, a.organization, a.employee_number, a.manager)

