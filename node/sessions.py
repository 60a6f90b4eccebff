"""Web sessions: a signed-in browser holds a random token; the table keeps only its hash.

A session is void once it expires, once its account is disabled, or once the account's
`credentials_version` moves past the one it was made with (password change, disable).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete

from node.context import NodeContext
from storage.models import Account, WebSession, utcnow

LIFETIME = timedelta(days=30)
# last_seen_at is refreshed at most this often: a page view should not always be a write.
TOUCH_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class SignedIn:
    account: Account
    csrf_token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create(ctx: NodeContext, account: Account, user_agent: str = "") -> tuple[str, SignedIn]:
    """A new session for `account` (always a new token: no fixation). Returns (cookie token, session)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    async with ctx.db.session() as s:
        s.add(
            WebSession(
                token_hash=_hash(token),
                account_id=account.id,
                csrf_token=csrf,
                credentials_version=account.credentials_version,
                user_agent=user_agent[:512],
                created_at=now,
                last_seen_at=now,
                expires_at=now + LIFETIME,
            )
        )
    return token, SignedIn(account, csrf)


async def lookup(ctx: NodeContext, token: str) -> SignedIn | None:
    """The signed-in account for a cookie token, or None when the session is void."""
    if not token or len(token) > 128:
        return None
    now = utcnow()
    async with ctx.db.reader() as s:
        row = await s.get(WebSession, _hash(token))
        account = await s.get(Account, row.account_id) if row is not None else None
    if row is None or account is None:
        return None
    if (
        row.expires_at <= now
        or account.disabled
        or account.suspended
        or account.domain is not None
        or account.credentials_version != row.credentials_version
    ):
        await revoke(ctx, token)
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        async with ctx.db.session() as s:
            fresh = await s.get(WebSession, row.token_hash)
            if fresh is not None:
                fresh.last_seen_at = now
    return SignedIn(account, row.csrf_token)


async def revoke(ctx: NodeContext, token: str) -> None:
    async with ctx.db.session() as s:
        await s.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))


async def revoke_all(ctx: NodeContext, account_id: int) -> None:
    async with ctx.db.session() as s:
        await s.execute(delete(WebSession).where(WebSession.account_id == account_id))
