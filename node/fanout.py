"""Local fan-out: which home timelines on this node a new post (or boost) lands in.

One INSERT … SELECT per post, whatever the follower count: the database does the loop.
Remote recipients are the federation layer's business (delivery), not this module's.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.audience import audience_of
from storage.db import insert_ignoring_conflicts
from storage.models import Account, Follow, Post, TimelineEntry


async def fan_out_home(
    s: AsyncSession, post: Post, mentioned_ids: Sequence[int], *, followers: bool = True
) -> None:
    """Write home-timeline entries for the author, local followers and mentioned local accounts."""
    rows = [{"account_id": post.account_id, "post_id": post.id, "author_id": post.account_id}]
    if mentioned_ids:
        local_mentioned = (
            await s.scalars(
                select(Account.id).where(Account.id.in_(mentioned_ids), Account.domain.is_(None))
            )
        ).all()
        rows += [{"account_id": a, "post_id": post.id, "author_id": post.account_id} for a in local_mentioned]
    if not followers:
        rows = rows[1:]
    if rows:
        await s.execute(insert_ignoring_conflicts(s, TimelineEntry).values(rows))
    if followers and audience_of(post.visibility).rules.to_followers:
        local_followers = (
            select(Follow.follower_id, literal(post.id, BigInteger), literal(post.account_id, BigInteger))
            .join(Account, Account.id == Follow.follower_id)
            .where(
                Follow.target_id == post.account_id,
                Follow.state == "accepted",
                Account.domain.is_(None),
            )
        )
        if post.reblog_of_id is not None:
            # A boost does not repeat a post the follower already has at home.
            already = select(TimelineEntry.account_id).where(TimelineEntry.post_id == post.reblog_of_id)
            local_followers = local_followers.where(Follow.follower_id.not_in(already))
        await s.execute(
            insert_ignoring_conflicts(s, TimelineEntry)
            .from_select(["account_id", "post_id", "author_id"], local_followers)
        )
