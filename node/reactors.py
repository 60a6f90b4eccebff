"""Who liked or boosted a post (Mastodon's `favourited_by` and `reblogged_by`): only for a post
the viewer may see (NotFound otherwise, as for a post that does not exist), newest first, paged
by the like's id or the boost's id. As Mastodon leaves them out, accounts the viewer blocks or
mutes and accounts that block the viewer are not listed, nor suspended or disabled ones."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, select, union
from sqlalchemy.orm import InstrumentedAttribute

from node.context import NodeContext
from node.pagination import Page, bounded
from node.post_access import load_visible
from storage.models import Account, Block, Like, Mute, Post


def _excluded(viewer: Account | None) -> list[ColumnElement[bool]]:
    kept: list[ColumnElement[bool]] = [Account.suspended.is_(False), Account.disabled.is_(False), Account.deleted_at.is_(None)]
    if viewer is None:
        return kept
    hidden = union(
        select(Mute.target_id.label("id")).where(Mute.account_id == viewer.id),
        select(Block.target_id.label("id")).where(Block.account_id == viewer.id),
        select(Block.account_id.label("id")).where(Block.target_id == viewer.id),
    ).subquery()
    return [*kept, Account.id.not_in(select(hidden.c.id))]


async def _listed(
    ctx: NodeContext, viewer: Account | None, post_id: int, stmt: Select[int, Account],
    key: InstrumentedAttribute[int], page: Page,
) -> list[tuple[int, Account]]:
    async with ctx.db.reader() as s:
        await load_visible(ctx, s, viewer, post_id)  # NotFound for a post the viewer may not see
        paged, oldest_first = bounded(stmt.where(*_excluded(viewer)), key, page)
        rows = [(int(k), a) for k, a in (await s.execute(paged)).unique().all()]
    return rows[::-1] if oldest_first else rows


async def favourited_by(ctx: NodeContext, viewer: Account | None, post_id: int, page: Page) -> list[tuple[int, Account]]:
    """(like id, account) of the people who liked the post."""
    stmt = select(Like.id, Account).join(Account, Account.id == Like.account_id).where(Like.post_id == post_id)
    return await _listed(ctx, viewer, post_id, stmt, Like.id, page)


async def reblogged_by(ctx: NodeContext, viewer: Account | None, post_id: int, page: Page) -> list[tuple[int, Account]]:
    """(boost id, account) of the people who boosted the post."""
    stmt = select(Post.id, Account).join(Account, Account.id == Post.account_id).where(Post.reblog_of_id == post_id)
    return await _listed(ctx, viewer, post_id, stmt, Post.id, page)
