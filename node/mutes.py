"""Mutes: the muted account's posts (and, with `notifications`, its notifications) are hidden
from the muter only. Nothing crosses the wire: a mute is private to the one who set it."""

from __future__ import annotations

from sqlalchemy import BindParameter, Select, delete, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from node.context import NodeContext
from node.pagination import Page, accounts_page
from storage.errors import Invalid, NotFound
from storage.models import Account, Block, Mute, UserDomainBlock, utcnow


async def mute(ctx: NodeContext, account: Account, target_id: int, *, notifications: bool = True) -> Mute:
    """Mute `target_id` (again: the `notifications` choice is updated, as Mastodon does)."""
    if target_id == account.id:
        raise Invalid("you cannot mute yourself")
    async with ctx.db.session() as s:
        if await s.get(Account, target_id) is None:
            raise NotFound("no such account")
        row = await s.scalar(select(Mute).where(Mute.account_id == account.id, Mute.target_id == target_id))
        if row is None:
            row = Mute(account_id=account.id, target_id=target_id, notifications=notifications, created_at=utcnow())
            s.add(row)
        else:
            row.notifications = notifications
        await s.flush()
        return row


async def unmute(ctx: NodeContext, account: Account, target_id: int) -> None:
    async with ctx.db.session() as s:
        await s.execute(delete(Mute).where(Mute.account_id == account.id, Mute.target_id == target_id))


async def muted(ctx: NodeContext, account: Account, page: Page) -> list[tuple[int, Account]]:
    """The accounts `account` mutes, paged by the mute's id: (mute id, account) pairs."""
    stmt = select(Mute).where(Mute.account_id == account.id)
    async with ctx.db.reader() as s:
        return await accounts_page(s, stmt, Mute.id, page, lambda m: m.target_id)


async def mute_of(s: AsyncSession, account_id: int, target_id: int) -> Mute | None:
    return await s.scalar(select(Mute).where(Mute.account_id == account_id, Mute.target_id == target_id))


def domain_blocked(viewer_id: int | BindParameter[int]) -> Select[int]:
    """Accounts on the domains `viewer_id` blocked (node/domain_blocks.py): one index look-up
    of the viewer's blocks, then the accounts by ix_accounts_domain."""
    return select(Account.id.label("id")).join(UserDomainBlock, UserDomainBlock.domain == Account.domain).where(
        UserDomainBlock.account_id == viewer_id
    )


def hidden_authors(viewer_id: int | BindParameter[int]) -> Select[int]:
    """Accounts whose posts `viewer_id` never sees in timelines: those they mute or block, and
    every account of a domain they blocked. A sub-select, so a timeline query stays one
    statement; the one home of the rule for home, public, hashtag and account-list timelines,
    conversations and streams."""
    return select(
        union(
            select(Mute.target_id.label("id")).where(Mute.account_id == viewer_id),
            select(Block.target_id.label("id")).where(Block.account_id == viewer_id),
            domain_blocked(viewer_id),
        ).subquery().c.id
    )


def silenced_senders(viewer_id: int) -> Select[int]:
    """Accounts whose notifications `viewer_id` does not see: muted with `notifications`, or on
    a domain they blocked."""
    return select(
        union(
            select(Mute.target_id.label("id")).where(Mute.account_id == viewer_id, Mute.notifications.is_(True)),
            domain_blocked(viewer_id),
        ).subquery().c.id
    )
