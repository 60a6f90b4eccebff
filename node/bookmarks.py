"""Bookmarks: posts an account keeps for later, private to that account."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from node.context import NodeContext
from node.pagination import Page, paginate
from node.posts import load_visible, viewable
from storage.models import Account, Bookmark, Post, utcnow


async def bookmark(ctx: NodeContext, account: Account, post_id: int) -> Post:
    """Bookmark a post the account may see (NotFound otherwise); bookmarking twice is one."""
    try:
        async with ctx.db.session() as s:
            post = await load_visible(ctx, s, account, post_id)
            exists = await s.scalar(
                select(Bookmark.id).where(Bookmark.account_id == account.id, Bookmark.post_id == post_id)
            )
            if exists is None:
                s.add(Bookmark(account_id=account.id, post_id=post_id, created_at=utcnow()))
            return post
    except IntegrityError:
        # A concurrent request bookmarked it first: the outcome is the same.
        async with ctx.db.reader() as s:
            return await load_visible(ctx, s, account, post_id)


async def unbookmark(ctx: NodeContext, account: Account, post_id: int) -> Post:
    async with ctx.db.session() as s:
        post = await load_visible(ctx, s, account, post_id)
        await s.execute(delete(Bookmark).where(Bookmark.account_id == account.id, Bookmark.post_id == post_id))
        return post


async def bookmarks(ctx: NodeContext, account: Account, page: Page) -> list[tuple[int, Post]]:
    """The account's bookmarks it may still see, newest first, paged by the bookmark's id:
    (bookmark id, post)."""
    stmt = select(Bookmark).where(Bookmark.account_id == account.id)
    async with ctx.db.reader() as s:
        rows = await paginate(s, stmt, Bookmark.id, page)
        out = []
        for row in rows:
            post = await s.get(Post, row.post_id)
            # A post no longer visible (its audience changed, a follow ended) drops out.
            if post is not None and await viewable(ctx, s, account, post):
                out.append((row.id, post))
    return out


async def bookmarked(ctx: NodeContext, account: Account | None, post_ids: list[int]) -> frozenset[int]:
    """Which of `post_ids` the account has bookmarked (one query for a page of posts)."""
    if account is None or not post_ids:
        return frozenset()
    async with ctx.db.reader() as s:
        found = await s.scalars(
            select(Bookmark.post_id).where(Bookmark.account_id == account.id, Bookmark.post_id.in_(post_ids))
        )
        return frozenset(found.all())
