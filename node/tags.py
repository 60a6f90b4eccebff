"""Hashtags people follow and feature: `follow`/`unfollow` (a followed tag's posts land in
the follower's home timeline at fan-out, node/fanout.py; an unfollow leaves the entries
already there, as Mastodon before 4.1 did, and stops new ones), the followed list, and the
tags an account features on its profile with their counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.context import NodeContext
from node.pagination import Page, paginate
from node.text import is_tag_name
from node.visibility import ANYONE
from storage.db import insert_ignoring_conflicts, lock_for_transaction
from storage.errors import Invalid, NotFound
from storage.ids import new_id
from storage.models import Account, FeaturedTag, FollowedTag, Post, PostTag, Tag, utcnow

MAX_FEATURED = 10  # as Mastodon's default (`max_featured_tags` in the instance entity)


def tag_name(raw: str) -> str:
    """A tag's stored name from what a client wrote (`#Name`): lowercased; Invalid (422)
    when it could not be a hashtag."""
    name = raw.removeprefix("#").lower()
    if not is_tag_name(name):
        raise Invalid("not a hashtag name")
    return name


async def _tag(s: AsyncSession, name: str) -> Tag:
    """The tag row, made if no post carried it yet (one may follow a tag before it is used)."""
    await s.execute(insert_ignoring_conflicts(s, Tag).values([{"id": new_id(), "name": name}]))
    tag = await s.scalar(select(Tag).where(Tag.name == name))
    assert tag is not None
    return tag


async def follow(ctx: NodeContext, account: Account, raw: str) -> str:
    name = tag_name(raw)
    async with ctx.db.session() as s:
        tag = await _tag(s, name)
        await s.execute(insert_ignoring_conflicts(s, FollowedTag).values(
            [{"id": new_id(), "account_id": account.id, "tag_id": tag.id, "created_at": utcnow()}]))
    return name


async def unfollow(ctx: NodeContext, account: Account, raw: str) -> str:
    name = tag_name(raw)
    async with ctx.db.session() as s:
        tag_id = await s.scalar(select(Tag.id).where(Tag.name == name))
        if tag_id is not None:
            await s.execute(delete(FollowedTag).where(FollowedTag.account_id == account.id, FollowedTag.tag_id == tag_id))
    return name


async def following(ctx: NodeContext, account: Account | None, names: list[str]) -> frozenset[str]:
    """Which of `names` the account follows."""
    if account is None or not names:
        return frozenset()
    async with ctx.db.reader() as s:
        found = await s.scalars(
            select(Tag.name).join(FollowedTag, FollowedTag.tag_id == Tag.id)
            .where(FollowedTag.account_id == account.id, Tag.name.in_(names))
        )
        return frozenset(found.all())


async def followed(ctx: NodeContext, account: Account, page: Page) -> list[tuple[int, str]]:
    """The tags the account follows, newest follow first: (follow id, tag name)."""
    async with ctx.db.reader() as s:
        rows: list[FollowedTag] = await paginate(s, select(FollowedTag).where(FollowedTag.account_id == account.id),
                                                 FollowedTag.id, page)
        names = dict((await s.execute(select(Tag.id, Tag.name).where(Tag.id.in_([r.tag_id for r in rows])))).all())
    return [(r.id, names[r.tag_id]) for r in rows if r.tag_id in names]


@dataclass(frozen=True)
class Featured:
    """A featured tag with the owner's posts that carry it (public and listed ones)."""

    id: int
    name: str
    statuses_count: int
    last_status_at: datetime | None


async def featured(ctx: NodeContext, account_id: int) -> list[Featured]:
    """The tags an account features, oldest first, each with how many of its posts anyone
    may see carry it and when the last one was written (the counts are public)."""
    async with ctx.db.reader() as s:
        if await s.get(Account, account_id) is None:
            raise NotFound("no such account")
        used = (
            select(PostTag.tag_id, func.count().label("n"), func.max(Post.created_at).label("last"))
            .join(Post, Post.id == PostTag.post_id)
            .where(Post.account_id == account_id, Post.visibility.in_(ANYONE), Post.reblog_of_id.is_(None))
            .group_by(PostTag.tag_id)
            .subquery()
        )
        rows = (await s.execute(
            select(FeaturedTag.id, Tag.name, used.c.n, used.c.last)
            .join(Tag, Tag.id == FeaturedTag.tag_id)
            .outerjoin(used, used.c.tag_id == FeaturedTag.tag_id)
            .where(FeaturedTag.account_id == account_id)
            .order_by(FeaturedTag.id)
        )).all()
    return [Featured(i, n, c or 0, last) for i, n, c, last in rows]


async def _full(ctx: NodeContext, account: Account, name: str) -> bool:
    async with ctx.db.reader() as s:
        have = (await s.scalars(
            select(Tag.name).join(FeaturedTag, FeaturedTag.tag_id == Tag.id).where(FeaturedTag.account_id == account.id)
        )).all()
    return name not in have and len(have) >= MAX_FEATURED


async def feature(ctx: NodeContext, account: Account, raw: str) -> Featured:
    """Feature a tag (again: the same one); Invalid past MAX_FEATURED."""
    name = tag_name(raw)
    if await _full(ctx, account, name):  # most refusals need no write transaction
        raise Invalid(f"you may feature at most {MAX_FEATURED} hashtags")
    async with ctx.db.session() as s:
        await lock_for_transaction(s, account.id)  # two at once cannot both pass the limit
        have = set((await s.scalars(
            select(Tag.name).join(FeaturedTag, FeaturedTag.tag_id == Tag.id).where(FeaturedTag.account_id == account.id)
        )).all())
        if name not in have:
            if len(have) >= MAX_FEATURED:  # refused before anything is written
                raise Invalid(f"you may feature at most {MAX_FEATURED} hashtags")
            tag = await _tag(s, name)
            s.add(FeaturedTag(id=new_id(), account_id=account.id, tag_id=tag.id))
    return next(f for f in await featured(ctx, account.id) if f.name == name)


async def unfeature(ctx: NodeContext, account: Account, featured_id: int) -> None:
    async with ctx.db.session() as s:
        gone = await s.execute(
            delete(FeaturedTag).where(FeaturedTag.id == featured_id, FeaturedTag.account_id == account.id)
        )
        if not gone.rowcount:  # type: ignore[attr-defined]
            raise NotFound("no such featured tag")


async def feature_suggestions(ctx: NodeContext, account: Account) -> list[str]:
    """The tags the account used most in its recent posts, not featured yet (up to 10)."""
    async with ctx.db.reader() as s:
        mine = select(FeaturedTag.tag_id).where(FeaturedTag.account_id == account.id)
        rows = await s.scalars(
            select(Tag.name)
            .join(PostTag, PostTag.tag_id == Tag.id)
            .join(Post, Post.id == PostTag.post_id)
            .where(Post.account_id == account.id, Tag.id.not_in(mine))
            .group_by(Tag.name)
            .order_by(func.count().desc(), Tag.name)
            .limit(10)
        )
        return list(rows.all())
