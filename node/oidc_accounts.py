"""Who a checked single sign-on is here: the account linked to the provider's subject, else
one made just in time from the claims, else a provisioned account (SCIM: no password, no link
yet) of the same username — never a password account, which would be a takeover. The role is
re-read from the group claim at each sign-in (node/group_roles.py, the rule SCIM uses too)
when the node maps groups at all. node/signin.py `single_sign_on` is the door that calls it."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from node import audit
from node.accounts import MAX_DISPLAY_NAME, USERNAME_RE, find_local
from node.context import NodeContext
from node.group_roles import role_for_groups
from node.oidc import Identity, Provider, SignInRefused
from storage.errors import Conflict, Forbidden
from storage.models import Account, OidcLink, utcnow


def username_from(value: object) -> str:
    """A username under node/accounts.py's rules from a claim: an e-mail address gives its
    local part, accents are dropped, every other character is `_`, dots and hyphens are kept
    only inside, at most 30 characters. SignInRefused when nothing usable is left."""
    if not isinstance(value, str) or not value.strip():
        raise SignInRefused("the identity provider sent no username claim for this person")
    text = value.strip().split("@", 1)[0]
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:30].strip(".-")
    text = re.sub(r"_+$", "", text) or text
    if not USERNAME_RE.fullmatch(text):
        raise SignInRefused(f"the username claim {value[:64]!r} gives no valid username here")
    return text


def _text(claims: dict[str, Any], name: str, limit: int) -> str | None:
    value = claims.get(name)
    if not isinstance(value, str):
        return None
    value = "".join(c for c in value.strip() if c.isprintable())
    return value[:limit] or None


def _groups(claims: dict[str, Any], name: str) -> list[str]:
    value = claims.get(name)
    if isinstance(value, str):
        return [value]
    return [g for g in value if isinstance(g, str)] if isinstance(value, list) else []


def _role(p: Provider, claims: dict[str, Any], current: str) -> str:
    """The role the groups give, when the node maps groups to roles; else the role as it is."""
    if not p.admin_groups and not p.moderator_groups:
        return current
    return role_for_groups(_groups(claims, p.config.groups_claim), admin_groups=p.admin_groups,
                           moderator_groups=p.moderator_groups)


async def _note(s: AsyncSession, account: Account, rule: str, reason: str) -> None:
    await audit.record(s, direction="admin", peer="", obj=f"accounts/{account.username}", decision="accepted",
                       rule=f"account:{rule}", reason=reason)


async def _provisioned(s: AsyncSession, identity: Identity, username: str) -> Account | None:
    """The local account of that username, when a single sign-on may become it: one made with
    no password (provisioned from the directory) and linked to no subject yet."""
    account = await find_local(s, username)
    if account is None:
        return None
    linked = await s.scalar(select(OidcLink).where(OidcLink.account_id == account.id))
    if account.password_hash is not None or linked is not None or account.deleted_at is not None:
        raise Conflict(f"an account named {username!r} already exists on this node and is not yours to sign in "
                       "to with single sign-on: ask an admin")
    return account


async def account_for(ctx: NodeContext, p: Provider, identity: Identity) -> Account:
    """The account this identity signs in to (linked, provisioned or made now), its role and
    name kept up to date with the claims, all in one transaction."""
    claims = identity.claims
    try:
        async with ctx.db.session() as s:
            link = await s.scalar(select(OidcLink).where(OidcLink.issuer == identity.issuer,
                                                         OidcLink.subject == identity.subject))
            account = await s.get(Account, link.account_id) if link else None
            if link is None or account is None:
                username = username_from(claims.get(p.config.username_claim))
                account = await _provisioned(s, identity, username)
                if account is None:
                    account = Account(
                        username=username, domain=None, bio="", role="user", disabled=False, locked=False,
                        display_name=_text(claims, p.config.display_name_claim, MAX_DISPLAY_NAME) or username,
                        email=_text(claims, p.config.email_claim, 320), password_hash=None, credentials_version=0,
                    )
                    s.add(account)
                    await s.flush()
                    await _note(s, account, "sso-created", f"{identity.issuer} sub {identity.subject}")
                else:
                    await _note(s, account, "sso-linked", f"{identity.issuer} sub {identity.subject}")
                link = OidcLink(account_id=account.id, issuer=identity.issuer, subject=identity.subject,
                                created_at=utcnow())
                s.add(link)
            if account.disabled or account.suspended or account.deleted_at is not None:
                raise Forbidden("this account cannot sign in")
            role = _role(p, claims, account.role)
            if role != account.role:
                await _note(s, account, "sso-role", f"{account.role} -> {role} (identity provider groups)")
                account.role = role
            link.last_sign_in_at = utcnow()
            await s.flush()
            return account
    except IntegrityError as exc:  # a concurrent first sign-in of the same person or name
        raise Conflict("this account was being made by another sign-in: try again") from exc


async def refused(ctx: NodeContext, reason: str) -> None:
    """A single sign-on refused (a token that did not hold, a replayed state, a taken name):
    in the audit trail beside the ones that went through."""
    issuer = ctx.oidc.config.issuer if ctx.oidc else ""
    async with ctx.db.session() as s:
        await audit.record(s, direction="admin", peer="", obj=issuer or "auth.oidc", decision="refused",
                           rule="account:sso-refused", reason=reason)


async def linked(ctx: NodeContext, account_id: int) -> bool:
    """Whether the account signs in through the identity provider."""
    async with ctx.db.reader() as s:
        return await s.get(OidcLink, account_id) is not None
