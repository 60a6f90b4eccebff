"""What the web UI's community pages read: the directory of this node's communities (searched
by name and description), the communities a person is in, one community's standing for a
viewer (member, requested, invited, moderator) and its posts newest first, each one the viewer
may see. The changes (join, approve, invite, remove, …) are node/communities.py's."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.addresses import FetchError
from node import communities, pins, remote
from node.audience import Audience
from node.context import NodeContext
from node.mutes import hidden_authors
from node.pagination import Page, paginate
from node.visibility import visible_clause
from storage.errors import AtriumError, NotFound
from storage.models import Account, Community, CommunityInvite, CommunityModerator, Follow, Post

MAX_QUERY = 100  # characters of a directory search
MAX_WORDS = 8


@dataclass(frozen=True)
class Standing:
    """Where a viewer stands with a community."""

    member: bool = False
    requested: bool = False  # a join request waits for a moderator
    invited: bool = False
    moderator: bool = False  # moderates it (an admin of this node moderates every community)


@dataclass(frozen=True)
class CommunityCard:
    """A community as a listing shows it. `community` is None for a peer's community (its
    rules are its own node's)."""

    account: Account
    community: Community | None
    members: int
    standing: Standing
    waiting: int = 0  # join requests waiting, counted for the community's moderators only

    @property
    def name(self) -> str:
        return self.account.acct()


def _member_count() -> ColumnElement[int]:
    return (select(func.count(Follow.id)).where(Follow.target_id == Account.id, Follow.state == "accepted")
            .correlate(Account).scalar_subquery())


def _matches(q: str) -> ColumnElement[bool]:
    """Each word of the search (the first few) in the name, the display name or the
    description, case-insensitively."""
    columns = (Account.username, Account.display_name, Account.bio)
    return and_(*[or_(*[func.lower(c).contains(word.lower(), autoescape=True) for c in columns])
                  for word in q.split()[:MAX_WORDS]])


def _alive() -> list[ColumnElement[bool]]:
    return [Account.deleted_at.is_(None), Account.suspended.is_(False), Account.disabled.is_(False)]


async def standings(s: AsyncSession, viewer: Account, community_ids: list[int]) -> dict[int, Standing]:
    """The viewer's standing with each community, in four small queries."""
    if not community_ids:
        return {}
    follows = {target: state for target, state in (await s.execute(select(Follow.target_id, Follow.state).where(
        Follow.follower_id == viewer.id, Follow.target_id.in_(community_ids)))).all()}
    invited = set((await s.scalars(select(CommunityInvite.community_id).where(
        CommunityInvite.account_id == viewer.id, CommunityInvite.community_id.in_(community_ids)))).all())
    moderating = set((await s.scalars(select(CommunityModerator.community_id).where(
        CommunityModerator.account_id == viewer.id, CommunityModerator.community_id.in_(community_ids)))).all())
    admin = viewer.domain is None and viewer.role == "admin"
    local = set((await s.scalars(select(Community.account_id).where(Community.account_id.in_(community_ids)))).all())
    return {
        i: Standing(member=follows.get(i) == "accepted", requested=follows.get(i) == "pending",
                    invited=i in invited, moderator=i in moderating or (admin and i in local))
        for i in community_ids
    }


async def _waiting(s: AsyncSession, community_ids: list[int]) -> dict[int, int]:
    """How many join requests wait in each of the communities."""
    if not community_ids:
        return {}
    rows = await s.execute(select(Follow.target_id, func.count(Follow.id)).where(
        Follow.target_id.in_(community_ids), Follow.state == "pending").group_by(Follow.target_id))
    return {target: n for target, n in rows.all()}


async def directory(ctx: NodeContext, viewer: Account, q: str = "", offset: int = 0, limit: int = 20, *,
                    others: bool = False) -> list[CommunityCard]:
    """This node's communities the viewer may find, the largest first (`others`: only those
    the viewer is not in and has not asked to join). An `unlisted` one is found only by those
    it already knows (members, requests, invitations, moderators), as an unlisted post stays
    out of listings; every other audience admits a person of this node."""
    q = q.strip()[:MAX_QUERY]
    count = _member_count().label("members")
    stmt = select(Account, Community, count).join(Community, Community.account_id == Account.id).where(*_alive())
    if q:
        stmt = stmt.where(_matches(q))
    known = or_(
        select(Follow.id).where(Follow.follower_id == viewer.id, Follow.target_id == Account.id).exists(),
        select(CommunityInvite.id).where(CommunityInvite.account_id == viewer.id,
                                         CommunityInvite.community_id == Account.id).exists(),
        select(CommunityModerator.account_id).where(CommunityModerator.account_id == viewer.id,
                                                    CommunityModerator.community_id == Account.id).exists(),
    )
    stmt = stmt.where(or_(Community.audience != Audience.UNLISTED, known))
    if others:
        stmt = stmt.where(~select(Follow.id).where(Follow.follower_id == viewer.id, Follow.target_id == Account.id).exists())
    stmt = stmt.order_by(count.desc(), func.lower(Account.username)).offset(offset).limit(limit)
    async with ctx.db.reader() as s:
        rows = (await s.execute(stmt)).all()
        stood = await standings(s, viewer, [a.id for a, _, _ in rows])
    return [CommunityCard(a, c, n, stood[a.id]) for a, c, n in rows]


async def yours(ctx: NodeContext, viewer: Account) -> list[CommunityCard]:
    """The communities the viewer is in or has asked to join, here and on peers, by name."""
    count = _member_count().label("members")
    stmt = (select(Account, Community, count)
            .join(Follow, and_(Follow.target_id == Account.id, Follow.follower_id == viewer.id))
            .outerjoin(Community, Community.account_id == Account.id)
            .where(Account.actor_type == "Group", *_alive())
            .order_by(func.lower(Account.username)))
    async with ctx.db.reader() as s:
        rows = (await s.execute(stmt)).all()
        stood = await standings(s, viewer, [a.id for a, _, _ in rows])
        waiting = await _waiting(s, [i for i, st in stood.items() if st.moderator])
    return [CommunityCard(a, c, n, stood[a.id], waiting.get(a.id, 0)) for a, c, n in rows]


async def card(ctx: NodeContext, viewer: Account | None, name: str) -> CommunityCard:
    """One community of this node, by name, as its page shows it (NotFound for a name that is
    no community, or one the viewer may not see: a visitor not signed in is the open web, and
    sees only what the trust policy lets out to it)."""
    account, community = await communities.get_community(ctx, name)
    if account.suspended or account.disabled:
        raise NotFound(f"no such community: {name}")
    if viewer is None and not communities.reachable_by(ctx, community, None).allowed:
        raise NotFound(f"no such community: {name}")
    async with ctx.db.reader() as s:
        members = await s.scalar(select(func.count(Follow.id)).where(
            Follow.target_id == account.id, Follow.state == "accepted")) or 0
        stood = (await standings(s, viewer, [account.id]))[account.id] if viewer is not None else Standing()
        waiting = (await _waiting(s, [account.id])).get(account.id, 0) if stood.moderator else 0
    return CommunityCard(account, community, members, stood, waiting)


async def peer_card(ctx: NodeContext, viewer: Account | None, handle: str) -> CommunityCard:
    """A peer's community by its handle (`name@domain`), as this node knows it: its members
    counted here (the rest are its own node's to count) and the viewer's standing. A signed-in
    person's visit may look it up on its node (through the gate, `remote.resolve_handle`); a
    visitor not signed in gets only what is already stored, as a profile does. NotFound for a
    handle that is no peer's community."""
    if viewer is None:
        found = await remote.known_handle(ctx, handle)
    else:
        try:
            found = await remote.resolve_handle(ctx, handle)
        except FetchError as exc:  # refused at the gate, or the peer failed: the reason, not a traceback
            raise AtriumError(f"{handle} could not be looked up: {exc.reason}", status=exc.status) from exc
    if (found is None or found.domain is None or not found.is_group or found.deleted_at is not None
            or found.suspended or found.disabled):
        raise NotFound(f"no such community: {handle}")
    async with ctx.db.reader() as s:
        members = await s.scalar(select(func.count(Follow.id)).where(
            Follow.target_id == found.id, Follow.state == "accepted")) or 0
        stood = (await standings(s, viewer, [found.id]))[found.id] if viewer is not None else Standing()
    return CommunityCard(found, None, members, stood)


async def posts(ctx: NodeContext, viewer: Account | None, community_id: int, page: Page) -> list[Post]:
    """The posts written to the community that the viewer may see, newest first (not its
    re-shares: the posts themselves), without authors the viewer mutes or blocks."""
    stmt = select(Post).where(Post.community_id == community_id, Post.reblog_of_id.is_(None),
                              visible_clause(viewer, ctx.org_domains()))
    if viewer is not None:
        stmt = stmt.where(Post.account_id.not_in(hidden_authors(viewer.id)))
    async with ctx.db.reader() as s:
        return await paginate(s, stmt, Post.id, page)


async def pinned(ctx: NodeContext, viewer: Account | None, community_id: int) -> list[Post]:
    """The posts pinned to the community (by its moderators), pinned order, that the viewer may see."""
    return await pins.pinned(ctx, viewer, community_id)


@dataclass(frozen=True)
class Roster:
    """Who is in a community, for its moderators' page."""

    members: list[Account]
    moderator_ids: set[int]
    pending: list[Account]
    invited: list[Account]


async def roster(ctx: NodeContext, community_id: int) -> Roster:
    members = await communities.members(ctx, community_id)
    mods = {a.id for a in await communities.moderators(ctx, community_id)}
    waiting = await communities.pending(ctx, community_id)
    async with ctx.db.reader() as s:
        invited = list((await s.scalars(
            select(Account).join(CommunityInvite, CommunityInvite.account_id == Account.id)
            .where(CommunityInvite.community_id == community_id).order_by(CommunityInvite.created_at))).unique().all())
    return Roster(members, mods, waiting, invited)
