"""Writing to a community: who may, and with which audience. The community's re-share of
what is written to it is a post effect (`node/post_effects.py`, `record_posts`), so a post
written here and one a peer's member sends are re-shared by the same code."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from node.audience import Audience
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
