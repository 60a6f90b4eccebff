"""Counts the node publishes (NodeInfo) and checks it answers (health)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, text

from node.context import NodeContext
from storage.models import Account, Post, utcnow


@dataclass(frozen=True)
class Usage:
    users: int
    active_month: int
    active_halfyear: int
    local_posts: int


async def usage(ctx: NodeContext) -> Usage:
    now = utcnow()
    async with ctx.db.reader() as s:
        users = await s.scalar(
            select(func.count()).select_from(Account).where(Account.domain.is_(None), Account.disabled.is_(False))
        )

        async def active(days: int) -> int:
            n = await s.scalar(
                select(func.count(func.distinct(Post.account_id))).where(
                    Post.local.is_(True), Post.created_at >= now - timedelta(days=days)
                )
            )
            return int(n or 0)

        month = await active(30)
        halfyear = await active(180)
        posts = await s.scalar(
            select(func.count()).select_from(Post).where(Post.local.is_(True), Post.reblog_of_id.is_(None))
        )
    return Usage(int(users or 0), month, halfyear, int(posts or 0))


async def database_ok(ctx: NodeContext) -> bool:
    try:
        async with ctx.db.reader() as s:
            await s.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - health reports the failure rather than raising it
        return False
