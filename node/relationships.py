"""What one account is to others (follows, requests, blocks, mutes both ways) and how many
followers, follows and posts accounts have — each a few grouped queries for a whole page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from node.context import NodeContext
from storage.errors import NotFound
from storage.models import Account, Block, Follow, Mute, Post, UserDomainBlock


@dataclass(frozen=True)
class Relationship:
    id: int
    following: bool = False
    requested: bool = False
    followed_by: bool = False
    requested_by: bool = False
    blocking: bool = False
    blocked_by: bool = False
    muting: bool = False
    muting_notifications: bool = False
    domain_blocking: bool = False  # the viewer blocks the account's whole domain (node/domain_blocks.py)


@dataclass(frozen=True)
class Counts:
    followers: int = 0
    following: int = 0
    statuses: int = 0
    last_status_at: datetime | None = None


async def relationships(ctx: NodeContext, viewer: Account, other_ids: list[int]) -> list[Relationship]:
    """The viewer's relationship to each of `other_ids`, in that order."""
    if not other_ids:
        return []
    ids = list(dict.fromkeys(other_ids))
    flags: dict[int, dict[str, bool]] = {i: {} for i in ids}
    me = viewer.id
    async with ctx.db.reader() as s:
        for follower_id, target_id, state in (
            await s.execute(
                select(Follow.follower_id, Follow.target_id, Follow.state).where(
                    ((Follow.follower_id == me) & Follow.target_id.in_(ids))
                    | ((Follow.target_id == me) & Follow.follower_id.in_(ids))
                )
            )
        ).all():
            accepted = state == "accepted"
            if follower_id == me:
                flags[target_id]["following" if accepted else "requested"] = True
            else:
                flags[follower_id]["followed_by" if accepted else "requested_by"] = True
        for blocker, blocked in (
            await s.execute(
                select(Block.account_id, Block.target_id).where(
                    ((Block.account_id == me) & Block.target_id.in_(ids))
                    | ((Block.target_id == me) & Block.account_id.in_(ids))
                )
            )
        ).all():
            if blocker == me:
                flags[blocked]["blocking"] = True
            else:
                flags[blocker]["blocked_by"] = True
        for target_id, notifications in (
            await s.execute(
                select(Mute.target_id, Mute.notifications).where(Mute.account_id == me, Mute.target_id.in_(ids))
            )
        ).all():
            flags[target_id]["muting"] = True
            flags[target_id]["muting_notifications"] = bool(notifications)
        domain_blocked = (
            select(Account.id)
            .join(UserDomainBlock, UserDomainBlock.domain == Account.domain)
            .where(UserDomainBlock.account_id == me, Account.id.in_(ids))
        )
        for account_id in (await s.scalars(domain_blocked)).all():
            flags[account_id]["domain_blocking"] = True
    return [Relationship(id=i, **flags[i]) for i in other_ids]


async def relationship(ctx: NodeContext, viewer: Account, other_id: int) -> Relationship:
    return (await relationships(ctx, viewer, [other_id]))[0]


async def counts(ctx: NodeContext, account_ids: list[int]) -> dict[int, Counts]:
    """Followers, follows and posts of each account: grouped index scans (follows by target
    and by follower, posts by account) for the whole page of accounts at once."""
    if not account_ids:
        return {}
    ids = list(set(account_ids))
    async with ctx.db.reader() as s:
        followers = await _accepted_follows(s, Follow.target_id, ids)
        following = await _accepted_follows(s, Follow.follower_id, ids)
        # Count and newest id come from the (account_id, id) index alone; the newest post's
        # date is then one primary-key lookup per account.
        posts = {
            account_id: (n, newest)
            for account_id, n, newest in (
                await s.execute(
                    select(Post.account_id, func.count(), func.max(Post.id))
                    .where(Post.account_id.in_(ids))
                    .group_by(Post.account_id)
                )
            ).all()
        }
        newest_ids = [newest for _, newest in posts.values()]
        dates = dict((await s.execute(select(Post.id, Post.created_at).where(Post.id.in_(newest_ids)))).all())
    return {
        i: Counts(
            followers=followers.get(i, 0),
            following=following.get(i, 0),
            statuses=posts[i][0] if i in posts else 0,
            last_status_at=dates.get(posts[i][1]) if i in posts else None,
        )
        for i in ids
    }


async def _accepted_follows(s: AsyncSession, side: InstrumentedAttribute[int], ids: list[int]) -> dict[int, int]:
    """How many accepted follows each of `ids` has on `side` (one grouped index scan)."""
    rows = await s.execute(select(side, func.count()).where(side.in_(ids), Follow.state == "accepted").group_by(side))
    return {account_id: n for account_id, n in rows.all()}


async def pending_requests(ctx: NodeContext, account_id: int) -> int:
    async with ctx.db.reader() as s:
        n = await s.scalar(
            select(func.count()).select_from(Follow).where(Follow.target_id == account_id, Follow.state == "pending")
        )
    return int(n or 0)


async def existing(ctx: NodeContext, account_ids: list[int]) -> list[Account]:
    if not account_ids:
        return []
    async with ctx.db.reader() as s:
        return list((await s.scalars(select(Account).where(Account.id.in_(account_ids)))).all())


async def existing_one(ctx: NodeContext, account_id: int) -> Account:
    """The account, or NotFound: undoing a relationship with nobody is an error, as Mastodon."""
    found = await existing(ctx, [account_id])
    if not found:
        raise NotFound("Record not found")
    return found[0]
