"""Web sessions in the node layer, on SQLite and PostgreSQL: only a hash is stored, and a
session dies with sign-out, expiry, a password change or a disabled account."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select, update

from node import accounts, sessions
from node.context import NodeContext
from storage.db import Database
from storage.models import WebSession, utcnow
from tests.factory import node_context


async def _ctx_and_user(db: Database) -> tuple[NodeContext, int]:
    ctx = node_context(db, "eng.example")
    account = await accounts.create_user(ctx, "alice", "alice-password")
    return ctx, account.id


async def test_a_session_is_found_by_its_token_and_only_its_hash_is_stored(db: Database) -> None:
    ctx, alice_id = await _ctx_and_user(db)
    alice = await accounts.get_account(ctx, alice_id)
    token, made = await sessions.create(ctx, alice, "test browser")
    found = await sessions.lookup(ctx, token)
    assert found is not None and found.account.id == alice_id and found.csrf_token == made.csrf_token
    async with db.reader() as s:
        stored = (await s.scalars(select(WebSession.token_hash))).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert await sessions.lookup(ctx, token + "x") is None


async def test_each_sign_in_makes_a_new_session(db: Database) -> None:
    ctx, alice_id = await _ctx_and_user(db)
    alice = await accounts.get_account(ctx, alice_id)
    first, _ = await sessions.create(ctx, alice)
    second, _ = await sessions.create(ctx, alice)
    assert first != second
    await sessions.revoke(ctx, first)
    assert await sessions.lookup(ctx, first) is None
    assert await sessions.lookup(ctx, second) is not None


async def test_a_password_change_or_disable_voids_sessions(db: Database) -> None:
    ctx, alice_id = await _ctx_and_user(db)
    token, _ = await sessions.create(ctx, await accounts.get_account(ctx, alice_id))
    await accounts.set_password(ctx, "alice", "a-new-password")
    assert await sessions.lookup(ctx, token) is None
    token, _ = await sessions.create(ctx, await accounts.get_account(ctx, alice_id))
    await accounts.disable(ctx, "alice")
    assert await sessions.lookup(ctx, token) is None


async def test_an_expired_session_is_void(db: Database) -> None:
    ctx, alice_id = await _ctx_and_user(db)
    token, _ = await sessions.create(ctx, await accounts.get_account(ctx, alice_id))
    async with db.session() as s:
        await s.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert await sessions.lookup(ctx, token) is None
