"""Blocks: no follows either way, and the blocked account's posts stay out of the blocker's
timelines. A block of a remote account is sent to its server (Mastodon does the same)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation import builders
from node.actors import account_uri
from node.context import NodeContext
from node.outbox import send_one
from node.pagination import Page, accounts_page
from storage.errors import Invalid, NotFound
from storage.ids import new_id
from storage.models import Account, Block, Follow, TimelineEntry, utcnow


async def sever(s: AsyncSession, a: int, b: int) -> None:
    """End follows both ways between two accounts and drop each from the other's home."""
    await s.execute(
        delete(Follow).where(
            ((Follow.follower_id == a) & (Follow.target_id == b)) | ((Follow.follower_id == b) & (Follow.target_id == a))
        )
    )
    await s.execute(
        delete(TimelineEntry).where(
            ((TimelineEntry.account_id == a) & (TimelineEntry.author_id == b))
            | ((TimelineEntry.account_id == b) & (TimelineEntry.author_id == a))
        )
    )


async def block(ctx: NodeContext, account: Account, target_id: int) -> Block:
    if target_id == account.id:
        raise Invalid("you cannot block yourself")
    async with ctx.db.session() as s:
        target = await s.get(Account, target_id)
        if target is None:
            raise NotFound("no such account")
        existing = await s.scalar(select(Block).where(Block.account_id == account.id, Block.target_id == target_id))
        if existing is not None:
            return existing
        block_id = new_id()
        row = Block(id=block_id, account_id=account.id, target_id=target_id,
                    uri=f"{ctx.actor_uri(account.username)}/blocks/{block_id}", created_at=utcnow())
        s.add(row)
        await sever(s, account.id, target_id)
        if target.domain is not None and row.uri:
            activity = builders.activity("Block", row.uri, account_uri(ctx, account), account_uri(ctx, target))
            await send_one(ctx, s, target, activity, account, row.uri)
        return row


async def unblock(ctx: NodeContext, account: Account, target_id: int) -> None:
    async with ctx.db.session() as s:
        row = await s.scalar(select(Block).where(Block.account_id == account.id, Block.target_id == target_id))
        if row is None:
            return
        target = await s.get(Account, target_id)
        if target is not None and target.domain is not None and row.uri:
            blocked = builders.activity("Block", row.uri, account_uri(ctx, account), account_uri(ctx, target))
            undo = builders.activity("Undo", f"{row.uri}/undo", account_uri(ctx, account), blocked)
            await send_one(ctx, s, target, undo, account, row.uri)
        await s.delete(row)


async def is_blocked(s: AsyncSession, blocker_id: int, target_id: int) -> bool:
    return (
        await s.scalar(select(Block.id).where(Block.account_id == blocker_id, Block.target_id == target_id))
    ) is not None


async def blocked(ctx: NodeContext, account: Account, page: Page) -> list[tuple[int, Account]]:
    """The accounts `account` blocks, paged by the block's id: (block id, account) pairs."""
    stmt = select(Block).where(Block.account_id == account.id)
    async with ctx.db.reader() as s:
        return await accounts_page(s, stmt, Block.id, page, lambda b: b.target_id)
