"""Communities (FEP-1b12 groups) of this node: made, found and joined here.

A community is a local `Account` whose `actor_type` is `Group` (so people and communities
share one namespace of names, one WebFinger) with a `Community` row for what only a community
has: its audience, its way of joining, its rules, its moderators. Joining is following the
community's account, from here or from a peer; `join_decision` is the one rule every way of
joining asks (the web UI, the client API's follow, a peer's Follow). What of a community may
cross to a peer is the same policy function as for posts: `Policy.outbound` with the
community's audience (`reachable_by`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from node import follows, post_effects
from node.accounts import MAX_BIO, MAX_DISPLAY_NAME, check_username, find_local, refusal_of_name
from node.audience import Audience
from node.context import NodeContext
from node.policy import Decision
from node.trust import Trust
from storage.db import insert_ignoring_conflicts
from storage.errors import Conflict, Forbidden, Invalid, NotFound
from storage.ids import new_id
from storage.models import (
    Account,
    ActorType,
    Community,
    CommunityInvite,
    CommunityMode,
    CommunityModerator,
    Follow,
    Post,
    SealCause,
    utcnow,
)

# A community re-shares its posts by Announce: only the audiences a boost keeps.
AUDIENCES = tuple(a for a in Audience if a.rules.boostable)
MAX_RULES = 5000


def parse_audience(word: str) -> Audience:
    audience = Audience.parse(word)
    if audience not in AUDIENCES:
        raise Invalid(f"a community's audience is one of {', '.join(AUDIENCES)}, not {word!r}: "
                      "its posts are re-shared by boost, which keeps only these")
    return audience


def parse_mode(word: str) -> CommunityMode:
    try:
        return CommunityMode(word)
    except ValueError:
        raise Invalid(f"a community's mode is one of {', '.join(CommunityMode)}, not {word!r}") from None


class Join(StrEnum):
    ACCEPTED = "accepted"  # a member at once
    PENDING = "pending"  # a request for a moderator to approve
    REFUSED = "refused"


@dataclass(frozen=True)
class JoinDecision:
    outcome: Join
    reason: str


def join_decision(community: Community, joiner: Account, trust: Trust | None, *, invited: bool) -> JoinDecision:
    """May `joiner` join, and how: the community's audience first (a person on a peer the
    policy trusts as `trust` — None for this node's people — must be one the audience admits),
    then its mode (an invitation opens an `invite` community and skips approval)."""
    audience = Audience(community.audience)
    if joiner.domain is not None:
        if trust is None or not audience.admits(trust):
            return JoinDecision(Join.REFUSED, f"a {audience} community is not open to {joiner.domain}")
    mode = CommunityMode(community.mode)
    if invited:
        return JoinDecision(Join.ACCEPTED, "invited")
    if trust is Trust.LIMITED and mode is not CommunityMode.INVITE:
        # As for following a person: a peer the policy limits always waits for approval.
        return JoinDecision(Join.PENDING, f"{joiner.domain} is limited: a moderator approves each request")
    if mode is CommunityMode.OPEN:
        return JoinDecision(Join.ACCEPTED, "open")
    if mode is CommunityMode.APPROVAL:
        return JoinDecision(Join.PENDING, "a moderator approves each request")
    return JoinDecision(Join.REFUSED, "this community is by invitation only")


def reachable_by(ctx: NodeContext, community: Community, domain: str | None) -> Decision:
    """May anything of the community (its actor, its name in a lookup, its posts, its
    collections) go to `domain`, or to an anonymous reader (None)? The posts' own function."""
    return ctx.policy().outbound(community.audience, domain)


async def create_community(
    ctx: NodeContext,
    name: str,
    *,
    audience: str,
    mode: str = CommunityMode.OPEN,
    display_name: str | None = None,
    description: str = "",
    rules: str = "",
    creator: Account | None = None,
) -> Account:
    """A new community; its creator (if any) is its first moderator and member. A name taken
    by a person or another community (or reserved by a deleted account) is refused."""
    check_username(name)
    parsed_audience, parsed_mode = parse_audience(audience), parse_mode(mode)
    if display_name is not None and len(display_name) > MAX_DISPLAY_NAME:
        raise Invalid(f"display name too long: at most {MAX_DISPLAY_NAME} characters")
    if len(description) > MAX_BIO:
        raise Invalid(f"description too long: at most {MAX_BIO} characters")
    if len(rules) > MAX_RULES:
        raise Invalid(f"rules too long: at most {MAX_RULES} characters")
    async with ctx.db.session() as s:
        existing = await find_local(s, name)
        if existing is not None:
            raise Conflict(refusal_of_name(existing) if not existing.is_group else f"a community named {name!r} already exists")
        account = Account(
            username=name, domain=None, display_name=display_name if display_name is not None else name,
            bio=description, role="user", disabled=False, locked=parsed_mode is not CommunityMode.OPEN,
            password_hash=None, credentials_version=0, actor_type=ActorType.GROUP,
        )
        s.add(account)
        await s.flush()
        s.add(Community(account_id=account.id, audience=parsed_audience, mode=parsed_mode, rules=rules,
                        created_by=creator.id if creator else None, created_at=utcnow()))
        await s.flush()
        if creator is not None:
            s.add(CommunityModerator(community_id=account.id, account_id=creator.id, created_at=utcnow()))
            s.add(Follow(follower_id=creator.id, target_id=account.id, state="accepted", created_at=utcnow()))
        return account


async def community_of(s: AsyncSession, account_id: int) -> Community | None:
    """The community row of a local Group account (None for anyone else)."""
    return await s.get(Community, account_id)


async def get_community(ctx: NodeContext, name: str) -> tuple[Account, Community]:
    async with ctx.db.reader() as s:
        account = await find_local(s, name)
        community = await community_of(s, account.id) if account is not None else None
    if account is None or community is None or account.deleted_at is not None:
        raise NotFound(f"no such community: {name}")
    return account, community


async def is_moderator(s: AsyncSession, community_id: int, account_id: int) -> bool:
    return await s.get(CommunityModerator, (community_id, account_id)) is not None


async def is_invited(s: AsyncSession, community_id: int, account_id: int) -> bool:
    found = await s.scalar(select(CommunityInvite.id).where(
        CommunityInvite.community_id == community_id, CommunityInvite.account_id == account_id))
    return found is not None


async def may_moderate(s: AsyncSession, community_id: int, account: Account) -> bool:
    """A moderator of the community, or an admin of this node (who moderates every community)."""
    return (account.domain is None and account.role == "admin") or await is_moderator(s, community_id, account.id)


async def _moderated(s: AsyncSession, community_id: int, actor: Account) -> tuple[Account, Community]:
    """The community `actor` may moderate, or the error that says why not."""
    group = await s.get(Account, community_id)
    community = await community_of(s, community_id)
    if group is None or community is None or group.deleted_at is not None:
        raise NotFound("no such community")
    if not await may_moderate(s, community_id, actor):
        raise Forbidden("only the community's moderators may do that")
    return group, community


async def join(ctx: NodeContext, account: Account, community_id: int) -> Follow:
    """`account` (a person of this node) joins a community: one of this node's through
    `join_decision` (an invitation is used up), a peer's by a Follow its node answers."""
    async with ctx.db.session() as s:
        group = await s.get(Account, community_id)
        if group is None or not group.is_group or group.deleted_at is not None:
            raise NotFound("no such community")
        community = await community_of(s, community_id)
    if community is None:  # a peer's community: its own node decides
        return await follows.follow(ctx, account, community_id)
    async with ctx.db.session() as s:
        existing = await s.scalar(select(Follow).where(Follow.follower_id == account.id, Follow.target_id == community_id))
        if existing is not None:
            return existing
        invited = await is_invited(s, community_id, account.id)
        decision = join_decision(community, account, None, invited=invited)
        if decision.outcome is Join.REFUSED:
            raise Forbidden(decision.reason)
        f = Follow(follower_id=account.id, target_id=community_id, state=decision.outcome.value, created_at=utcnow())
        s.add(f)
        if invited:
            await s.execute(delete(CommunityInvite).where(CommunityInvite.community_id == community_id,
                                                          CommunityInvite.account_id == account.id))
        await s.flush()
        if f.state == Join.ACCEPTED:
            await follows.backfill_home(s, account, group)
        return f


async def leave(ctx: NodeContext, account: Account, community_id: int) -> None:
    """Leave a community (or withdraw a request): the same as unfollowing its account."""
    await follows.unfollow(ctx, account, community_id)


async def approve(ctx: NodeContext, moderator: Account, community_id: int, account_id: int) -> Follow:
    """A moderator lets a pending request in (a peer's person gets the Accept)."""
    async with ctx.db.reader() as s:
        group, _ = await _moderated(s, community_id, moderator)
    return await follows.approve(ctx, group, account_id)


async def reject(ctx: NodeContext, moderator: Account, community_id: int, account_id: int) -> None:
    async with ctx.db.reader() as s:
        group, _ = await _moderated(s, community_id, moderator)
    await follows.reject(ctx, group, account_id)


async def invite(ctx: NodeContext, moderator: Account, community_id: int, account_id: int) -> None:
    """Invite someone (here or on a peer): their join is then accepted whatever the mode. A
    pending request of theirs is approved at once."""
    async with ctx.db.session() as s:
        group, community = await _moderated(s, community_id, moderator)
        invitee = await s.get(Account, account_id)
        if invitee is None or invitee.deleted_at is not None or invitee.is_group:
            raise NotFound("no such person")
        if invitee.domain is not None:
            trust, _ = ctx.policy().trust_of(invitee.domain)
            decision = join_decision(community, invitee, trust, invited=True)
            if decision.outcome is Join.REFUSED:
                raise Forbidden(decision.reason)
        pending = await s.scalar(select(Follow).where(Follow.follower_id == account_id, Follow.target_id == community_id))
        if pending is None:
            await s.execute(insert_ignoring_conflicts(s, CommunityInvite).values(
                id=new_id(), community_id=community_id, account_id=account_id, invited_by=moderator.id,
                created_at=utcnow()))
            return
    if pending.state == "pending":
        await follows.approve(ctx, group, account_id)


async def remove_member(ctx: NodeContext, moderator: Account, community_id: int, account_id: int) -> None:
    """A moderator removes a member: their membership (and moderation) ends, the community's
    posts leave their home timeline."""
    async with ctx.db.session() as s:
        group, _ = await _moderated(s, community_id, moderator)
        await s.execute(delete(CommunityModerator).where(CommunityModerator.community_id == community_id,
                                                         CommunityModerator.account_id == account_id))
    await follows.remove_follower(ctx, group, account_id)


async def set_moderator(ctx: NodeContext, actor: Account, community_id: int, account_id: int, moderator: bool) -> None:
    """Make a member a moderator, or end their moderation (a community keeps at least one)."""
    async with ctx.db.session() as s:
        await _moderated(s, community_id, actor)
        member = await s.scalar(select(Follow.id).where(Follow.follower_id == account_id,
                                                        Follow.target_id == community_id, Follow.state == "accepted"))
        if moderator:
            if member is None:
                raise Invalid("only a member can be made a moderator")
            await s.execute(insert_ignoring_conflicts(s, CommunityModerator).values(
                community_id=community_id, account_id=account_id, created_at=utcnow()))
            return
        others = await s.scalar(select(func.count()).select_from(CommunityModerator).where(
            CommunityModerator.community_id == community_id, CommunityModerator.account_id != account_id))
        if not others:
            raise Invalid("a community keeps at least one moderator")
        await s.execute(delete(CommunityModerator).where(CommunityModerator.community_id == community_id,
                                                         CommunityModerator.account_id == account_id))


async def _people(ctx: NodeContext, community_id: int, state: str) -> list[Account]:
    async with ctx.db.reader() as s:
        rows = await s.scalars(select(Account).join(Follow, Follow.follower_id == Account.id)
                               .where(Follow.target_id == community_id, Follow.state == state)
                               .order_by(Follow.id))
        return list(rows.unique().all())


async def members(ctx: NodeContext, community_id: int) -> list[Account]:
    """Everyone in the community, here and on peers, in the order they joined."""
    return await _people(ctx, community_id, "accepted")


async def pending(ctx: NodeContext, community_id: int) -> list[Account]:
    """The requests waiting for a moderator."""
    return await _people(ctx, community_id, "pending")


async def moderators(ctx: NodeContext, community_id: int) -> list[Account]:
    async with ctx.db.reader() as s:
        rows = await s.scalars(select(Account).join(CommunityModerator, CommunityModerator.account_id == Account.id)
                               .where(CommunityModerator.community_id == community_id)
                               .order_by(CommunityModerator.created_at))
        return list(rows.unique().all())


async def remove_post(ctx: NodeContext, moderator: Account, community_id: int, post_id: int) -> None:
    """A moderator takes a post out of the community: the community's re-share is undone
    (members here and on peers lose it), and a post written here, or a peer's copy kept
    here, is removed through the post effects (a local author's post: its Delete goes out)."""
    async with ctx.db.session() as s:
        await _moderated(s, community_id, moderator)
        post = await s.get(Post, post_id)
        if post is None or post.community_id != community_id:
            raise NotFound("no such post in this community")
        reshares = (await s.scalars(select(Post).where(Post.account_id == community_id,
                                                       Post.reblog_of_id == post.id))).all()
        events = await post_effects.remove_posts(ctx, s, [*reshares, post], cause=SealCause.MODERATOR)
    post_effects.publish(ctx, events)


@dataclass(frozen=True)
class Listed:
    """A community of this node as a list shows it: its account, its row, how many members."""

    account: Account
    community: Community
    members: int


async def list_communities(ctx: NodeContext) -> list[Listed]:
    """Every community of this node (not deleted), by name, with its member count (`atrium
    community list`)."""
    counted = (select(Follow.target_id, func.count(Follow.id).label("n")).where(Follow.state == "accepted")
               .group_by(Follow.target_id).subquery())
    async with ctx.db.reader() as s:
        rows = (await s.execute(
            select(Account, Community, counted.c.n).join(Community, Community.account_id == Account.id)
            .outerjoin(counted, counted.c.target_id == Account.id)
            .where(Account.deleted_at.is_(None)).order_by(func.lower(Account.username)))).unique().all()
    return [Listed(a, c, n or 0) for a, c, n in rows]
