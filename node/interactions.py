"""Likes and boosts of posts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation import builders
from node import post_effects
from node.audience import Audience
from node.context import NodeContext
from node.notifications import notify
from node.outbox import send_one
from node.post_access import load_visible
from storage.errors import Forbidden, Invalid, NotFound
from storage.ids import new_id
from storage.models import Account, Like, Post, utcnow


async def _tell_author(ctx: NodeContext, s: AsyncSession, actor: Account, post: Post, activity: dict[str, object]) -> None:
    """Likes federate to the liked post's author only, when that author is remote."""
    author = await s.get(Account, post.account_id)
    if author is not None and author.domain is not None and post.uri:
        await send_one(ctx, s, author, activity, actor, post.uri)


# A boost keeps the original's audience; which audiences may be boosted is their rule
# (`Audience.rules.boostable`: not followers-only or direct posts, whom a boost would widen).


async def like(ctx: NodeContext, account: Account, post_id: int) -> Post:
    async with ctx.db.session() as s:
        post = await load_visible(ctx, s, account, post_id)
        if post.reblog_of_id is not None:
            post = await load_visible(ctx, s, account, post.reblog_of_id)
        existing = await s.scalar(
            select(Like.id).where(Like.account_id == account.id, Like.post_id == post.id)
        )
        if existing is None:  # liking twice is not an error, and counts once
            like_id = new_id()
            like_row = Like(
                id=like_id,
                account_id=account.id,
                post_id=post.id,
                uri=(like_uri := f"{ctx.actor_uri(account.username)}/likes/{like_id}"),
                created_at=utcnow(),
            )
            s.add(like_row)
            assert post.uri is not None  # every stored post has one: local posts get it at creation
            like = builders.activity("Like", like_uri, ctx.actor_uri(account.username), post.uri)
            await _tell_author(ctx, s, account, post, like)
            await post_effects.count(s, post.id, "likes_count", 1)
            await notify(s, post.account, "like", account.id, post.id)
            await s.refresh(post, ["likes_count"])
    return post


async def unlike(ctx: NodeContext, account: Account, post_id: int) -> Post:
    async with ctx.db.session() as s:
        post = await load_visible(ctx, s, account, post_id)
        like_row = await s.scalar(select(Like).where(Like.account_id == account.id, Like.post_id == post.id))
        if like_row is not None:
            await s.delete(like_row)
            if like_row.uri:
                actor = ctx.actor_uri(account.username)
                like = builders.activity("Like", like_row.uri, actor, post.uri)
                undo = builders.activity("Undo", f"{like_row.uri}/undo", actor, like)
                await _tell_author(ctx, s, account, post, undo)
            await post_effects.count(s, post.id, "likes_count", -1)
            await s.refresh(post, ["likes_count"])
    return post


async def boost(ctx: NodeContext, account: Account, post_id: int) -> Post:
    """Boost a post; returns the boost (a post whose `reblog_of_id` is the original)."""
    if account.domain is not None or account.disabled:
        raise Forbidden("this account cannot boost here")
    async with ctx.db.session() as s:
        original = await load_visible(ctx, s, account, post_id)
        if original.reblog_of_id is not None:
            original = await load_visible(ctx, s, account, original.reblog_of_id)
        if not Audience(original.visibility).rules.boostable:
            raise Invalid(f"a {original.visibility} post cannot be boosted")
        existing = await s.scalar(
            select(Post).where(Post.account_id == account.id, Post.reblog_of_id == original.id)
        )
        if existing is not None:
            return existing
        boost_id = new_id()
        uri = f"{ctx.actor_uri(account.username)}/statuses/{boost_id}/activity"
        boost_post = post_effects.new_boost(account, uri, original, post_id=boost_id)
        events = await post_effects.record_boosts(ctx, s, [post_effects.Boost(boost_post, original)])
    post_effects.publish(ctx, events)
    return boost_post


async def unboost(ctx: NodeContext, account: Account, post_id: int) -> Post:
    async with ctx.db.session() as s:
        original = await s.get(Post, post_id)
        if original is not None and original.reblog_of_id is not None:
            original = await s.get(Post, original.reblog_of_id)
        if original is None:
            raise NotFound("no such post")
        mine = await s.scalar(
            select(Post).where(Post.account_id == account.id, Post.reblog_of_id == original.id)
        )
        events = await post_effects.remove_posts(ctx, s, [mine] if mine is not None else [])
    post_effects.publish(ctx, events)
    return original
