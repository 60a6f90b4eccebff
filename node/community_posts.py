"""Writing to a community: who may, and with which audience. The community's re-share of
what is written to it is a post effect (`node/post_effects.py`, `record_posts`), so a post
written here and one a peer's member sends are re-shared by the same code."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from node.audience import Audience
from node.trust import Trust
from storage.errors import Forbidden, NotFound
from storage.models import Account, Community, Follow


async def check_community_post(s: AsyncSession, author: Account, community_id: int) -> tuple[Account, Audience | None]:
    """The community `author` may write to, and the audience its posts take: a community of
    this node gives its own; a peer's community (None) leaves the author's choice, which its
    node judges. Only members write to a community."""
    group = await s.get(Account, community_id)
    if group is None or not group.is_group or group.deleted_at is not None:
        raise NotFound("no such community")
    member = await s.scalar(select(Follow.id).where(
        Follow.follower_id == author.id, Follow.target_id == community_id, Follow.state == "accepted"))
    if member is None:
        raise Forbidden("join the community to post in it")
    community = await s.get(Community, community_id)
    return group, Audience(community.audience) if community is not None else None


def _reach(audience: Audience) -> int:
    """How far an audience's posts travel: never off the node (0), to the organisation, to
    anyone (public and unlisted alike)."""
    least = audience.rules.least_trust
    return 0 if least is None else len(Trust) - least.rank


async def mentioned_community(s: AsyncSession, author: Account, mentioned: Iterable[Account],
                              asked: Audience) -> int | None:
    """The community a post is written to because it mentions it (as Mastodon apps post to a
    Lemmy community): the first mentioned community the author is a member of, for a post
    whose audience a community keeps (a message to followers or to the people it names stays
    one) and that the community's audience would not widen (a `local` post mentioning an
    `organization` community stays a local post that mentions it). None: an ordinary post."""
    if not asked.rules.boostable:
        return None
    for account in mentioned:
        if not account.is_group or account.deleted_at is not None:
            continue
        member = await s.scalar(select(Follow.id).where(
            Follow.follower_id == author.id, Follow.target_id == account.id, Follow.state == "accepted"))
        if member is None:
            continue
        community = await s.get(Community, account.id)
        if community is None or _reach(Audience(community.audience)) <= _reach(asked):
            return account.id
    return None
