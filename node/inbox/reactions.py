"""Inbound Like, Announce and Undo (of Follow, Like, Announce)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.fetch import FetchBudget
from federation.gate import Purpose
from federation.parsing import IncomingActivity, InvalidActivity
from federation.vocab import id_of
from node import post_effects
from node.audience import Audience
from node.context import NodeContext
from node.events import Event
from node.inbox.notes import MAX_THREAD_FETCHES, fetch_note
from node.notifications import notify
from node.post_access import viewable
from storage.errors import Forbidden
from storage.ids import new_id
from storage.models import Account, Block, Follow, Like, Post, TimelineEntry, utcnow


async def on_like(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:
    async with ctx.db.session() as s:
        post = await s.scalar(select(Post).where(Post.uri == activity.object_id))
        if post is None or not post.local:
            return "ignored: not a post of this node"
        if not Audience(post.visibility).rules.anyone_may_see:

            if not await viewable(ctx, s, actor, post):
                raise Forbidden("the actor cannot see that post")
        if await s.scalar(select(Like.id).where(Like.account_id == actor.id, Like.post_id == post.id)):
            return "ignored: already liked"
        s.add(Like(account_id=actor.id, post_id=post.id, uri=activity.id, created_at=utcnow()))
        await post_effects.count(s, post.id, "likes_count", 1)
        await notify(s, post.account, "like", actor.id, post.id)
    return "done"


async def on_announce(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:
    async with ctx.db.session() as s:
        if await s.scalar(select(Post.id).where(Post.uri == activity.id)):
            return "ignored: already stored"
        original = await s.scalar(select(Post).where(Post.uri == activity.object_id))
        followed = await s.scalar(
            select(Follow.id).where(Follow.target_id == actor.id, Follow.state == "accepted").limit(1)
        )
    if followed is None and (original is None or not original.local):
        return "ignored: nobody here follows the booster and the post is not ours"
    if original is None and activity.object_id:
        original = await fetch_note(
            ctx, activity.object_id, FetchBudget(MAX_THREAD_FETCHES), set(), purpose=Purpose.BOOST_FETCH
        )
    if original is None:
        return "ignored: the boosted post could not be had"
    async with ctx.db.session() as s:
        original = await s.get(Post, original.id)
        if original is None:
            return "ignored: the boosted post is gone"
        audience = Audience(original.visibility)
        if not audience.rules.boostable or not audience.federates:
            raise Forbidden(f"a {original.visibility} post cannot be boosted")
        if audience is Audience.ORGANIZATION:
            trust, _ = ctx.policy().trust_of(actor.domain or "")
            if not audience.admits(trust):
                raise Forbidden("only the organisation may boost an organisation post")
        boost = post_effects.new_boost(actor, activity.id or "", original, post_id=new_id())
        events = await post_effects.record_boosts(ctx, s, [post_effects.Boost(boost, original)])
    post_effects.publish(ctx, events)
    return "done"


async def on_undo(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:
    inner = activity.object
    inner_id = activity.object_id
    if inner_id is None:
        raise InvalidActivity("Undo names no activity")
    inner_type = inner.get("type") if inner else None
    if inner is not None and id_of(inner.get("actor")) not in (None, actor.actor_uri):
        raise Forbidden("an actor may undo only its own activities")
    events: list[Event] = []
    async with ctx.db.session() as s:
        outcome = await _undo(ctx, s, inner_type, inner_id, actor, events)
    post_effects.publish(ctx, events)
    return outcome


async def _undo(
    ctx: NodeContext, s: AsyncSession, inner_type: object, inner_id: str, actor: Account, events: list[Event]
) -> str:
    if inner_type in (None, "Follow"):
        f = await s.scalar(select(Follow).where(Follow.uri == inner_id, Follow.follower_id == actor.id))
        if f is not None:
            await s.execute(delete(TimelineEntry).where(TimelineEntry.account_id == actor.id, TimelineEntry.author_id == f.target_id))
            await s.delete(f)
            return "done"
    if inner_type in (None, "Like"):
        like = await s.scalar(select(Like).where(Like.uri == inner_id, Like.account_id == actor.id))
        if like is not None:
            await s.delete(like)
            await post_effects.count(s, like.post_id, "likes_count", -1)
            return "done"
    if inner_type in (None, "Announce"):
        boost = await s.scalar(select(Post).where(Post.uri == inner_id, Post.account_id == actor.id, Post.reblog_of_id.is_not(None)))
        if boost is not None:
            events += await post_effects.remove_posts(ctx, s, [boost])
            return "done"
    if inner_type in (None, "Block"):
        block = await s.scalar(select(Block).where(Block.uri == inner_id, Block.account_id == actor.id))
        if block is not None:
            await s.delete(block)
            return "done"
    return "ignored: nothing to undo"
