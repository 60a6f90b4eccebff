"""Whom to follow: people the viewer's follows follow (friends of friends), then colleagues
— accounts of this node and of peers trusted as `organization` that the node knows — the most
followed first. Never the viewer, anyone they follow or asked to follow, block, are blocked
by or mute, anyone dismissed, suspended, silenced, disabled, deleted or who opted out of
discovery (`discoverable` false)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from node.context import NodeContext
from node.visibility import in_organization
from storage.db import insert_ignoring_conflicts
from storage.errors import NotFound
from storage.models import Account, ActorType, Block, DismissedSuggestion, Follow, Mute, utcnow

FRIENDS_OF_FRIENDS = "friends_of_friends"  # Mastodon 4.3's `sources` words
MOST_FOLLOWED = "most_followed"
# The deprecated single `source` for each (Mastodon 4.3 still sends it).
LEGACY_SOURCE = {FRIENDS_OF_FRIENDS: "global", MOST_FOLLOWED: "global"}


@dataclass(frozen=True)
class Suggestion:
    account: Account
    sources: tuple[str, ...]


def _excluded(viewer: Account) -> ColumnElement[bool]:
    """SQL: `Account` must not be suggested to `viewer`."""
    me = viewer.id
    never = union(
        select(Follow.target_id).where(Follow.follower_id == me),
        select(Block.target_id).where(Block.account_id == me),
        select(Block.account_id).where(Block.target_id == me),
        select(Mute.target_id).where(Mute.account_id == me),
        select(DismissedSuggestion.target_id).where(DismissedSuggestion.account_id == me),
    ).subquery()
    return (
        (Account.id == me)
        | Account.id.in_(select(never.c[0]))
        | (Account.suspended == True)  # noqa: E712 - SQL
        | (Account.silenced == True)  # noqa: E712
        | (Account.disabled == True)  # noqa: E712
        | Account.deleted_at.is_not(None)
        | Account.discoverable.is_(false())  # NULL (never said) is not an opt-out
        | (Account.actor_type == ActorType.GROUP)  # people are suggested; communities are joined
    )


async def _friends_of_friends(s: AsyncSession, viewer: Account, limit: int) -> list[Account]:
    mine, theirs = aliased(Follow), aliased(Follow)
    shared = func.count(mine.id)
    stmt = (
        select(Account)
        .join(theirs, theirs.target_id == Account.id)
        .join(mine, mine.target_id == theirs.follower_id)
        .where(mine.follower_id == viewer.id, mine.state == "accepted", theirs.state == "accepted", ~_excluded(viewer))
        .group_by(Account.id)
        .order_by(shared.desc(), Account.id.desc())
        .limit(limit)
    )
    return list((await s.scalars(stmt)).all())


async def _colleagues(ctx: NodeContext, s: AsyncSession, viewer: Account, limit: int) -> list[Account]:
    followers = select(func.count(Follow.id)).where(Follow.target_id == Account.id, Follow.state == "accepted")
    stmt = (
        select(Account)
        .where(ctx.org_domains().members(Account.domain), ~_excluded(viewer))
        .order_by(followers.scalar_subquery().desc(), Account.id.desc())
        .limit(limit)
    )
    return list((await s.scalars(stmt)).all())


async def suggestions(ctx: NodeContext, viewer: Account, limit: int = 40) -> list[Suggestion]:
    """Friends of friends first, then colleagues (colleagues only for members of the
    organisation); an account found both ways carries both sources."""
    async with ctx.db.reader() as s:
        found: dict[int, Suggestion] = {}
        for a in await _friends_of_friends(s, viewer, limit):
            found[a.id] = Suggestion(a, (FRIENDS_OF_FRIENDS,))
        if in_organization(viewer, ctx.org_domains()):
            for a in await _colleagues(ctx, s, viewer, limit):
                old = found.get(a.id)
                found[a.id] = Suggestion(a, (*old.sources, MOST_FOLLOWED) if old else (MOST_FOLLOWED,))
    return list(found.values())[:limit]


async def dismiss(ctx: NodeContext, viewer: Account, target_id: int) -> None:
    async with ctx.db.session() as s:
        if await s.get(Account, target_id) is None:
            raise NotFound("no such account")
        await s.execute(insert_ignoring_conflicts(s, DismissedSuggestion).values(
            [{"account_id": viewer.id, "target_id": target_id, "created_at": utcnow()}]))

