"""What a client shows beside a page of posts: the viewer's own likes and boosts of them,
who each mentions, its hashtags and its attachments — one query each for the whole page."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from node.context import NodeContext
from node.media import AttachmentView, attachment_views
from node.polls import PollView, views
from storage.models import Account, Bookmark, Like, Mention, PinnedPost, Post, PostTag, Tag


@dataclass(frozen=True)
class PostExtras:
    liked: frozenset[int] = frozenset()
    boosted: frozenset[int] = frozenset()
    mentions: dict[int, list[Account]] = field(default_factory=dict)
    tags: dict[int, list[str]] = field(default_factory=dict)
    bookmarked: frozenset[int] = frozenset()
    media: dict[int, list[AttachmentView]] = field(default_factory=dict)
    pinned: frozenset[int] = frozenset()  # those pinned to the viewer's own profile (node/pins.py)
    polls: dict[int, PollView] = field(default_factory=dict)  # node/polls.py


async def extras(ctx: NodeContext, viewer: Account | None, post_ids: list[int]) -> PostExtras:
    if not post_ids:
        return PostExtras()
    async with ctx.db.reader() as s:
        liked: frozenset[int] = frozenset()
        boosted: frozenset[int] = frozenset()
        bookmarked: frozenset[int] = frozenset()
        pinned: frozenset[int] = frozenset()
        if viewer is not None:
            pinned = frozenset(
                (
                    await s.scalars(
                        select(PinnedPost.post_id).where(
                            PinnedPost.account_id == viewer.id, PinnedPost.post_id.in_(post_ids)
                        )
                    )
                ).all()
            )
            bookmarked = frozenset(
                (
                    await s.scalars(
                        select(Bookmark.post_id).where(Bookmark.account_id == viewer.id, Bookmark.post_id.in_(post_ids))
                    )
                ).all()
            )
            liked = frozenset(
                (await s.scalars(select(Like.post_id).where(Like.account_id == viewer.id, Like.post_id.in_(post_ids)))).all()
            )
            boosted = frozenset(
                post_id
                for post_id in (
                    await s.scalars(
                        select(Post.reblog_of_id).where(Post.account_id == viewer.id, Post.reblog_of_id.in_(post_ids))
                    )
                ).all()
                if post_id is not None  # never, by the IN; said for the type
            )
        mentions: dict[int, list[Account]] = {}
        rows = await s.execute(
            select(Mention.post_id, Account).join(Account, Account.id == Mention.account_id).where(Mention.post_id.in_(post_ids))
        )
        for post_id, account in rows.all():
            mentions.setdefault(post_id, []).append(account)
        tags: dict[int, list[str]] = {}
        tag_rows = await s.execute(
            select(PostTag.post_id, Tag.name).join(Tag, Tag.id == PostTag.tag_id).where(PostTag.post_id.in_(post_ids))
        )
        for post_id, name in tag_rows.all():
            tags.setdefault(post_id, []).append(name)
        media = await attachment_views(ctx, s, post_ids)
        polls = await views(s, viewer, post_ids)
    return PostExtras(liked, boosted, mentions, tags, bookmarked, media, pinned, polls)
