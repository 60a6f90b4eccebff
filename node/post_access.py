"""Who may read a post, asked of the database: the one rule of node/visibility.py with the
viewer's follow and mention looked up, and staff suspensions applied. Read by every path that
shows a post and by node/post_effects.py, which tells people only of posts they may see."""

from __future__ import annotations

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.context import NodeContext
from node.visibility import can_view
from storage.errors import NotFound
from storage.models import Account, Follow, Mention, Post


async def follows(s: AsyncSession, follower_id: int, target_id: int) -> bool:
    return bool(
        await s.scalar(
            select(Follow.id).where(
                Follow.follower_id == follower_id,
                Follow.target_id == target_id,
                Follow.state == "accepted",
            )
        )
    )


async def is_mentioned(s: AsyncSession, post_id: int, account_id: int) -> bool:
    return bool(
        await s.scalar(select(Mention.post_id).where(Mention.post_id == post_id, Mention.account_id == account_id))
    )


async def author_suspended(s: AsyncSession, post: Post) -> bool:
    # The author is usually loaded with the post (joined); a post made in this session is not.
    author = inspect(post).attrs.account.loaded_value
    if isinstance(author, Account):  # disabled too: as the timelines (node/visibility.py not_suspended)
        return author.suspended or author.disabled
    return bool(await s.scalar(select(Account.suspended | Account.disabled).where(Account.id == post.account_id)))


async def viewable(ctx: NodeContext, s: AsyncSession, viewer: Account | None, post: Post) -> bool:
    if await author_suspended(s, post):  # staff moderation (node/moderation.py)
        return False
    if viewer is not None and viewer.id == post.account_id:
        return True
    return can_view(
        viewer,
        post,
        follows_author=viewer is not None and await follows(s, viewer.id, post.account_id),
        mentioned=viewer is not None and await is_mentioned(s, post.id, viewer.id),
        org_domains=ctx.org_domains(),
    )


async def load_visible(ctx: NodeContext, s: AsyncSession, viewer: Account | None, post_id: int) -> Post:
    """The post if the viewer may see it; otherwise NotFound, so existence is not revealed."""
    post = await s.get(Post, post_id)
    if post is None or not await viewable(ctx, s, viewer, post):
        raise NotFound("no such post")
    return post
