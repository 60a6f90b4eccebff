"""Idempotency keys on posting: a client's retry with the same key gets the same post back.

A key is remembered for an hour per account (as Mastodon does). It is written in the post's
own transaction (node/posts.py `create_post`), and the table's key is (account, key): of two
requests racing with one key, one commits its post and key, the other's key collides, its
whole transaction — post included — rolls back, and it answers with the first one's post.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Select, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from node.context import NodeContext
from storage.errors import NotFound
from storage.models import IdempotencyKey, Post, utcnow

KEY_LIFETIME = timedelta(hours=1)
MAX_KEY = 255


class KeyTaken(Exception):
    """Another request stored this key first (its transaction committed before ours)."""


def clean(key: str | None) -> str | None:
    return key[:MAX_KEY] if key else None


def _made_by(account_id: int, key: str) -> Select[Post]:
    return (
        select(Post)
        .join(IdempotencyKey, IdempotencyKey.post_id == Post.id)
        .where(
            IdempotencyKey.account_id == account_id,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at > utcnow() - KEY_LIFETIME,
        )
    )


async def earlier(s: AsyncSession, account_id: int, key: str) -> Post | None:
    """The post this key made within the hour, if any."""
    return await s.scalar(_made_by(account_id, key))


async def remember(s: AsyncSession, account_id: int, key: str, post_id: int) -> None:
    """Store the key for `post_id` in the caller's transaction; KeyTaken if a concurrent one did."""
    # Only a key past its hour is replaced: a fresh one (a racing request's, committed since our
    # look-up) must make our insert collide, not be deleted under it.
    await s.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.account_id == account_id,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at <= utcnow() - KEY_LIFETIME,
        )
    )
    s.add(IdempotencyKey(account_id=account_id, key=key, post_id=post_id, created_at=utcnow()))
    try:
        await s.flush()
    except IntegrityError as exc:
        raise KeyTaken(key) from exc


async def made_by(ctx: NodeContext, account_id: int, key: str) -> Post:
    """The post the winner of a race made with this key."""
    async with ctx.db.reader() as s:
        post = await earlier(s, account_id, key)
    if post is None:  # it was deleted in the meantime
        raise NotFound("no such post")
    return post
