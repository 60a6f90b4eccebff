"""SCIM bearer tokens: an admin makes one per identity provider (`atrium scim token create`),
the node keeps only its SHA-256, and every SCIM request must present a live one."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from node import audit
from node.context import NodeContext
from storage.errors import AtriumError, Conflict, Invalid, NotFound
from storage.models import ScimToken, utcnow

PREFIX = "atrium_scim_"
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class Unauthorized(AtriumError):
    """No bearer token, or not a live one (401)."""

    status = 401


@dataclass(frozen=True)
class TokenInfo:
    """What `atrium scim token list` shows of a token (never the token itself)."""

    name: str
    created_at: str
    last_used_at: str | None
    revoked: bool


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(ctx: NodeContext, name: str | None = None) -> tuple[str, str]:
    """A new token: returns (its name, the token), the token shown this once only."""
    name = name or f"scim-{secrets.token_hex(3)}"
    if not NAME_RE.fullmatch(name):
        raise Invalid(f"invalid token name {name!r}: 1-64 letters, digits, '.', '_' or '-'")
    token = PREFIX + secrets.token_urlsafe(32)
    try:
        async with ctx.db.session() as s:
            if await s.scalar(select(ScimToken.id).where(ScimToken.name == name)) is not None:
                raise Conflict(f"a SCIM token named {name!r} already exists")
            s.add(ScimToken(name=name, token_hash=_digest(token)))
            await audit.record(s, direction="admin", peer="", obj=f"scim/tokens/{name}", decision="accepted",
                               rule="scim:token-create", reason=f"SCIM token {name} created")
    except IntegrityError as exc:
        raise Conflict(f"a SCIM token named {name!r} already exists") from exc
    return name, token


async def list_tokens(ctx: NodeContext) -> list[TokenInfo]:
    async with ctx.db.reader() as s:
        rows = (await s.scalars(select(ScimToken).order_by(ScimToken.created_at, ScimToken.id))).all()
    return [TokenInfo(r.name, r.created_at.isoformat(timespec="seconds"),
                      r.last_used_at.isoformat(timespec="seconds") if r.last_used_at else None,
                      r.revoked_at is not None) for r in rows]


async def revoke_token(ctx: NodeContext, name: str) -> None:
    async with ctx.db.session() as s:
        row = await s.scalar(select(ScimToken).where(ScimToken.name == name))
        if row is None:
            raise NotFound(f"no SCIM token named {name!r}")
        if row.revoked_at is not None:
            raise Conflict(f"the SCIM token {name!r} is already revoked")
        row.revoked_at = utcnow()
        await audit.record(s, direction="admin", peer="", obj=f"scim/tokens/{name}", decision="accepted",
                           rule="scim:token-revoke", reason=f"SCIM token {name} revoked")


async def authenticate(ctx: NodeContext, authorization: str | None) -> str:
    """The name of the live token an `Authorization: Bearer` header carries, else Unauthorized."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a SCIM request needs a bearer token (atrium scim token create)")
    async with ctx.db.session() as s:
        row = await s.scalar(select(ScimToken).where(ScimToken.token_hash == _digest(token.strip())))
        if row is None:
            raise Unauthorized("this bearer token is not a SCIM token of this node")
        if row.revoked_at is not None:
            raise Unauthorized("this SCIM token was revoked")
        row.last_used_at = utcnow()
        return row.name
