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

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from node.accounts import MAX_BIO, MAX_DISPLAY_NAME, check_username, find_local, refusal_of_name
from node.audience import Audience
from node.context import NodeContext
from node.policy import Decision
from node.trust import Trust
from storage.errors import Conflict, Invalid, NotFound
from storage.models import (
    Account,
    ActorType,
    Community,
    CommunityInvite,
    CommunityMode,
    CommunityModerator,
    Follow,
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
    if invited or mode is CommunityMode.OPEN:
        return JoinDecision(Join.ACCEPTED, "open" if not invited else "invited")
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
