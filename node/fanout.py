"""Local fan-out: which home timelines on this node a new post (or boost) lands in: the
author's, local followers', mentioned local accounts' and those of local accounts following
one of its hashtags (when the post is listed and they may see it).

One INSERT … SELECT per post, whatever the follower count: the database does the loop.
Remote recipients are the federation layer's business (delivery), not this module's.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.audience import audience_of
from storage.db import insert_ignoring_conflicts
from storage.models import Account, Block, Follow, FollowedTag, Mute, Post, PostTag, TimelineEntry


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
    if followers and post.reblog_of_id is None:
        await _fan_out_tags(s, post)


async def _fan_out_tags(s: AsyncSession, post: Post) -> None:
    """Home entries for local accounts following one of the post's tags (stored before this
    runs), as Mastodon: only a listed post a local user may see without following or being
    mentioned, and not for someone who blocks or mutes the author or whom the author blocks."""
    audience = audience_of(post.visibility)
    if not (audience.rules.listed and audience.may_see(
        follower=False, mentioned=False, in_organization=True, local_user=True, local_post=post.local
    )):
        return
    follower = FollowedTag.account_id
    shunned = select(Block.account_id).where(Block.target_id == post.account_id).union(
        select(Mute.account_id).where(Mute.target_id == post.account_id),
        select(Block.target_id).where(Block.account_id == post.account_id),
    )
    tag_followers = (
        select(follower, literal(post.id, BigInteger), literal(post.account_id, BigInteger))
        .distinct()
        .join(PostTag, PostTag.tag_id == FollowedTag.tag_id)
        .where(PostTag.post_id == post.id, follower != post.account_id, follower.not_in(shunned))
    )
    await s.execute(
        insert_ignoring_conflicts(s, TimelineEntry).from_select(["account_id", "post_id", "author_id"], tag_followers)
    )
