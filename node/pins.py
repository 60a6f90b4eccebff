"""Pinned posts: up to `MAX_PINS` posts an account shows first on its profile, and a
community's, pinned by its moderators. The pins are published as the actor's `featured`
collection (node/ap_reads.py `featured`), each item judged for its reader as a fetch of it.

The rules are Mastodon's (its `StatusPinValidator`): one's own posts only, not a boost, not a
direct post, at most five; a refusal is a 422 with the reason. A community's pins are made by
its moderators (or the node's admins) and name posts written to that community.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from node.audience import Audience
from node.communities import community_of, may_moderate
from node.context import NodeContext
from node.post_access import load_visible, viewable
from storage.errors import Forbidden, Invalid, NotFound
from storage.models import MAX_PINS, Account, PinnedPost, Post, utcnow

__all__ = ["MAX_PINS", "pin", "pinned", "pinned_of", "unpin"]


async def _owner(s: AsyncSession, actor: Account, on_behalf_of: Account | None) -> Account:
    """Whose profile the pin is on: the actor's own, or a community's the actor moderates."""
    if on_behalf_of is None or on_behalf_of.id == actor.id:
        return actor
    community = await community_of(s, on_behalf_of.id)
    if community is None:
        raise NotFound("no such community here")
    if not await may_moderate(s, community.account_id, actor):  # its moderators, or an admin
        raise Forbidden("only the community's moderators may pin its posts")
    return on_behalf_of


def _check_pinnable(post: Post, owner: Account) -> None:
    if post.reblog_of_id is not None:
        raise Invalid("a boost cannot be pinned")
    if owner.is_group:
        if post.community_id != owner.id:
            raise Invalid("only a post written to this community can be pinned to it")
    elif post.account_id != owner.id:
        raise Invalid("you can pin only your own posts")
    if post.visibility == Audience.DIRECT:
        raise Invalid("a direct message cannot be pinned")


async def pin(ctx: NodeContext, actor: Account, post_id: int, *, on_behalf_of: Account | None = None) -> Post:
    """Pin a post to the actor's profile (or to the community `on_behalf_of`, by one of its
    moderators). Pinning a pinned post again changes nothing. NotFound for a post the actor
    may not see; Invalid (422) for one that cannot be pinned or past MAX_PINS."""
    try:
        async with ctx.db.session() as s:
            post = await load_visible(ctx, s, actor, post_id)
            owner = await _owner(s, actor, on_behalf_of)
            _check_pinnable(post, owner)
            if await s.get(PinnedPost, (owner.id, post.id)) is not None:
                return post
            # One pin at a time per profile, so two at once cannot make a sixth (PostgreSQL;
            # SQLite has one writer anyway).
            await s.execute(select(Account.id).where(Account.id == owner.id).with_for_update())
            count = await s.scalar(select(func.count()).select_from(PinnedPost).where(PinnedPost.account_id == owner.id))
            if int(count or 0) >= MAX_PINS:
                raise Invalid(f"at most {MAX_PINS} posts can be pinned: unpin one first")
            s.add(PinnedPost(account_id=owner.id, post_id=post.id, pinned_by=actor.id, created_at=utcnow()))
            return post
    except IntegrityError:
        # A concurrent request pinned the same post first: the outcome is the same.
        async with ctx.db.reader() as s:
            return await load_visible(ctx, s, actor, post_id)


async def unpin(ctx: NodeContext, actor: Account, post_id: int, *, on_behalf_of: Account | None = None) -> Post:
    """Take a pin back (a post not pinned: nothing to do). NotFound for a post the actor may not see."""
    async with ctx.db.session() as s:
        post = await load_visible(ctx, s, actor, post_id)
        owner = await _owner(s, actor, on_behalf_of)
        await s.execute(delete(PinnedPost).where(PinnedPost.account_id == owner.id, PinnedPost.post_id == post.id))
        return post


async def pinned_posts(s: AsyncSession, account_id: int) -> list[Post]:
    """Every post pinned to the account, the latest pin first, whoever reads (callers judge)."""
    rows = await s.scalars(
        select(Post)
        .join(PinnedPost, PinnedPost.post_id == Post.id)
        .where(PinnedPost.account_id == account_id)
        .order_by(PinnedPost.created_at.desc(), PinnedPost.post_id.desc())
    )
    return list(rows.unique())


async def pinned(ctx: NodeContext, viewer: Account | None, account_id: int) -> list[Post]:
    """The posts pinned to an account's (or a community's) profile that `viewer` may see,
    the latest pin first: what a profile or community page shows above its posts."""
    async with ctx.db.reader() as s:
        return [post for post in await pinned_posts(s, account_id) if await viewable(ctx, s, viewer, post)]


async def pinned_of(ctx: NodeContext, account: Account | None, post_ids: list[int]) -> frozenset[int]:
    """Which of `post_ids` are pinned to `account`'s own profile (a status's `pinned`)."""
    if account is None or not post_ids:
        return frozenset()
    async with ctx.db.reader() as s:
        found = await s.scalars(
            select(PinnedPost.post_id).where(PinnedPost.account_id == account.id, PinnedPost.post_id.in_(post_ids))
        )
        return frozenset(found.all())
