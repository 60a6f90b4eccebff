"""Counts the node publishes (NodeInfo) and checks it answers (health)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from node.context import NodeContext
from storage import migrate
from storage.errors import Unavailable
from storage.models import Account, Post, utcnow

head_revision = cache(migrate.head_revision)  # read from the migration scripts once


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


@dataclass(frozen=True)
class Schema:
    current: str | None  # the database's revision; None for an empty database
    head: str  # the revision this code needs


async def schema(ctx: NodeContext, timeout: float) -> Schema:
    """The database's schema revision beside the code's; `Unavailable` with a one-line reason
    when the database does not answer within `timeout` seconds (as good as away for a probe)."""
    try:
        current = await asyncio.wait_for(migrate.current_revision(ctx.db), timeout)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        raise Unavailable(_one_line(exc)) from exc
    return Schema(current, head_revision())


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
