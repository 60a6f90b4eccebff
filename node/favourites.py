"""Favourites: the posts an account liked, newest like first — the web UI's Favourites page and
the client API's `GET /api/v1/favourites` read the same list. Private to the account."""

from __future__ import annotations

from sqlalchemy import select

from node.context import NodeContext
from node.pagination import Page, paginate
from node.visibility import visible_clause
from storage.models import Account, Like, Post


async def favourites(ctx: NodeContext, account: Account, page: Page) -> list[tuple[int, Post]]:
    """The posts `account` liked that it may still see, paged by the like's id: (like id, post).
    A post whose audience no longer includes the account (a follow ended, its author was
    suspended) drops out in the query itself, so a page is never short for it."""
    stmt = (
        select(Like)
        .join(Post, Post.id == Like.post_id)
        .where(Like.account_id == account.id, visible_clause(account, ctx.org_domains()))
    )
    async with ctx.db.reader() as s:
        likes = await paginate(s, stmt, Like.id, page)
        found = await s.scalars(select(Post).where(Post.id.in_([like.post_id for like in likes])))
        by_id = {post.id: post for post in found.all()}
    return [(like.id, by_id[like.post_id]) for like in likes if like.post_id in by_id]
