"""Idempotency keys on posting: a client's retry with the same key gets the same post back.

A key is remembered for an hour per account (as Mastodon does).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from node.context import NodeContext
from node.posts import NewPost, create_post
from storage.models import Account, IdempotencyKey, Post, utcnow

KEY_LIFETIME = timedelta(hours=1)
MAX_KEY = 255


async def create_post_once(ctx: NodeContext, author: Account, new: NewPost, key: str | None) -> Post:
    """`create_post`, unless this key already made a post within the hour: then that post."""
    if not key:
        return await create_post(ctx, author, new)
    key = key[:MAX_KEY]
    async with ctx.db.reader() as s:
        earlier = await s.scalar(
            select(Post)
            .join(IdempotencyKey, IdempotencyKey.post_id == Post.id)
            .where(
                IdempotencyKey.account_id == author.id,
                IdempotencyKey.key == key,
                IdempotencyKey.created_at > utcnow() - KEY_LIFETIME,
            )
        )
    if earlier is not None:
        return earlier
    post = await create_post(ctx, author, new)
    try:
        async with ctx.db.session() as s:
            await s.execute(
                delete(IdempotencyKey).where(IdempotencyKey.account_id == author.id, IdempotencyKey.key == key)
            )
            s.add(IdempotencyKey(account_id=author.id, key=key, post_id=post.id, created_at=utcnow()))
    except IntegrityError:
        pass  # a concurrent retry stored the key first; both posts stand (rare)
    return post
