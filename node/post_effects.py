"""What follows from a change to a post — recorded, boosted (and unboosted), edited or removed —
the same whether the change was made here (`node/posts.py`, `node/interactions.py`) or
arrived from a peer (`node/inbox/notes.py`, `node/inbox/reactions.py`): the row, counts,
mentions, hashtags, home timelines, notifications (each judged by who may see the post),
the search index (node/post_search.py), the `fanout` job of a local change (queued in the change's own transaction) and the stream
events to publish once it is committed.

Each function takes a list of changes (one change is a list of one) and the caller's
session, and returns the events for `publish` to send after the commit: the caller owns the
transaction, so what it checks before and what it writes beside (an idempotency key, an
audit entry, a tombstone) commits or fails with the change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Column, bindparam, delete, insert, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from federation.media_ap import RemoteAttachment
from node.audience import audience_of
from node.context import NodeContext
from node.events import Event
from node.fanout import fan_out_home
from node.federate import queue_fanout
from node.media import attach, attach_remote, attached_ids, forget_post_media, ids_text
from node.media_remote import cache_if_chosen
from node.notifications import notify
from node.post_access import viewable
from node.post_search import index_posts, unindex
from node.queues import Boosted, PostCreated, PostDeleted, PostEdited, Unboosted
from node.sealing import seal_held
from storage.db import inserting_ignored
from storage.ids import new_id
from storage.models import Account, Mention, Poll, Post, PostEdit, PostTag, SealCause, Tag, utcnow

MAX_TAGS = 30


@dataclass(frozen=True)
class Body:
    """What a post says: its HTML, the text it was written as (local posts only), its content
    warning, whether it is sensitive, and its language."""

    content_html: str = ""
    source: str = ""
    summary: str = ""
    sensitive: bool = False
    language: str | None = None


NO_BODY = Body()  # a boost says nothing of its own


def new_post(
    author: Account,
    uri: str,
    visibility: str,
    body: Body,
    *,
    post_id: int,
    url: str | None,
    parent: Post | None,
    in_reply_to_uri: str | None = None,
    created_at: datetime | None = None,
) -> Post:
    """A post's row, as every way of making one builds it; a reply's place in its thread."""
    post = _row(author, post_id, uri, visibility, url)
    _write(post, body)
    post.created_at = created_at or utcnow()
    post.in_reply_to_id = parent.id if parent else None
    post.in_reply_to_uri = parent.uri if parent and in_reply_to_uri is None else in_reply_to_uri
    post.in_reply_to_account_id = parent.account_id if parent else None
    post.thread_id = (parent.thread_id or parent.id) if parent else post_id
    return post


def new_boost(author: Account, uri: str, original: Post, *, post_id: int) -> Post:
    """A boost's row: a post that says nothing of its own, with the original's audience."""
    boost = _row(author, post_id, uri, original.visibility, None)
    _write(boost, NO_BODY)
    boost.created_at = utcnow()
    boost.reblog_of_id = original.id
    return boost


def _row(author: Account, post_id: int, uri: str, visibility: str, url: str | None) -> Post:
    local = author.domain is None
    post = Post(id=post_id, account_id=author.id, local=local, uri=uri, url=url, visibility=visibility)
    post.replies_count = post.likes_count = post.boosts_count = 0
    return post


def _write(post: Post, body: Body) -> None:
    post.content_html, post.source, post.summary = body.content_html, body.source, body.summary
    post.sensitive, post.language = body.sensitive, body.language


@dataclass(frozen=True)
class Recorded:
    """A new post (`new_post`, not yet added), what it replies to, whom it mentions and its tags.
    `news` is False for a fetched ancestor: context for a thread, not news for anyone's home."""

    post: Post
    parent: Post | None
    mentioned: Sequence[Account]
    tags: tuple[str, ...]
    news: bool = True
    media_ids: tuple[int, ...] = ()  # a local post's uploads to attach (node/media.py)
    remote_media: Sequence[RemoteAttachment] = ()  # a peer's post: its attachments, by reference
    poll: Poll | None = None  # its poll's row (node/poll_rows.py), written with the post


@dataclass(frozen=True)
class Edited:
    """A post's new version: what replaces its text, and whom and what it now mentions."""

    post: Post
    body: Body
    edited_at: datetime
    mentioned: Sequence[Account]
    tags: tuple[str, ...]
    media_ids: tuple[int, ...] | None = None  # a local post's attachments now; None: unchanged
    # A peer's post: the attachments it has now (replacing those it had); None: unchanged.
    remote_media: Sequence[RemoteAttachment] | None = None


@dataclass(frozen=True)
class Boost:
    """A boost (`new_post` with `reblog_of`, not yet added) of `original`."""

    boost: Post
    original: Post
    notify_author: bool = True  # a community's re-share tells nobody: writing to it asked for it


def publish(ctx: NodeContext, events: Iterable[Event]) -> None:
    """Tell live readers, once the change is committed."""
    for event in events:
        ctx.events.publish(event)


_TAG_IDS = select(Tag.id).where(Tag.name.in_(bindparam("names", expanding=True)))


async def store_tags(s: AsyncSession, post_id: int, names: tuple[str, ...]) -> None:
    names = tuple(n[:255] for n in names[:MAX_TAGS])
    if not names:
        return
    conn = await s.connection()
    dialect = conn.dialect.name
    await conn.execute(inserting_ignored(dialect, Tag), [{"id": new_id(), "name": n} for n in names])
    tag_ids = (await conn.execute(_TAG_IDS, {"names": list(names)})).scalars().all()
    await conn.execute(inserting_ignored(dialect, PostTag), [{"post_id": post_id, "tag_id": t} for t in tag_ids])


async def count(s: AsyncSession, post_id: int, column: str, by: int) -> None:
    """A post's replies, likes or boosts count moved by `by`; never below zero."""
    counter = getattr(Post, column)
    stmt = update(Post).where(Post.id == post_id)
    if by < 0:
        stmt = stmt.where(counter > 0)
    await s.execute(stmt.values({column: counter + by}))


async def _mention(ctx: NodeContext, s: AsyncSession, post: Post, accounts: Sequence[Account]) -> None:
    """Mention rows, home-timeline entries and notifications for newly mentioned accounts."""
    if not accounts:
        return
    await s.execute(insert(Mention), [{"post_id": post.id, "account_id": a.id} for a in accounts])
    await fan_out_home(s, post, [a.id for a in accounts], followers=False)
    for account in accounts:
        await notify(s, account, "mention", post.account_id, post.id)


async def _may_see(ctx: NodeContext, s: AsyncSession, account: Account, post: Post) -> bool:
    # A local account is told of a post only when it may see it; a remote one is never told here.
    return account.domain is None and account.id != post.account_id and await viewable(ctx, s, account, post)


_POST_INSERT = insert(Post)
_POST_COLUMNS: tuple[tuple[str, Column[Any]], ...] = tuple(
    (inspect(Post).get_property_by_column(c).key, cast("Column[Any]", c)) for c in Post.__table__.columns)


def _default(column: Column[Any]) -> Any:
    """What the column's Python-side default gives a new row (None where it has none)."""
    default = column.default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]


async def _insert_post(s: AsyncSession, post: Post) -> None:
    """A new post's row written by one statement built once, and `post` then held by the session
    as if it had been read back (every column set): the ORM's flush of one new row cost more
    Python than any other step of an inbound Create (the inbound benchmark's profile)."""
    await s.flush()  # what the session holds goes first, as a flush of the post would order it
    values = {}
    for key, column in _POST_COLUMNS:
        if key not in post.__dict__:
            setattr(post, key, _default(column))
        values[column.key] = getattr(post, key)
    await (await s.connection()).execute(_POST_INSERT, values)
    make_transient_to_detached(post)
    s.add(post)


async def record_posts(ctx: NodeContext, s: AsyncSession, changes: Sequence[Recorded]) -> list[Event]:
    events: list[Event] = []
    for change in changes:
        post, parent = change.post, change.parent
        await _insert_post(s, post)
        if change.poll is not None:
            s.add(change.poll)
        if change.media_ids:
            await attach(s, post, change.media_ids)
        if change.remote_media:
            await cache_if_chosen(ctx, s, await attach_remote(s, post, change.remote_media))
        mentioned = {a.id: a for a in change.mentioned if a.id != post.account_id}
        if mentioned:
            await (await s.connection()).execute(insert(Mention), [{"post_id": post.id, "account_id": a} for a in mentioned])
        await store_tags(s, post.id, change.tags)
        if parent is not None:
            await count(s, parent.id, "replies_count", 1)
        # A new post: nothing to replace in the index, and no descriptions unless it has media.
        await index_posts(s, [post], fresh=True, alt_texts=None if change.media_ids or change.remote_media else {})
        if not change.news:
            continue
        await fan_out_home(s, post, list(mentioned), tagged=bool(change.tags))
        replied_to = parent.account if parent is not None else None
        if replied_to is not None and await _may_see(ctx, s, replied_to, post):
            await notify(s, replied_to, "reply", post.account_id, post.id)
        for account in mentioned.values():
            if replied_to is None or account.id != replied_to.id:
                await notify(s, account, "mention", post.account_id, post.id)
        if post.local and audience_of(post.visibility).federates:
            await queue_fanout(s, PostCreated(post.id))
        if post.community_id is not None:
            await _reshare(ctx, s, post)
        events.append(Event("post", post_id=post.id))
    return events


async def edit_posts(ctx: NodeContext, s: AsyncSession, changes: Sequence[Edited]) -> list[Event]:
    events: list[Event] = []
    for change in changes:
        post = change.post
        s.add(
            PostEdit(
                post_id=post.id,
                source=post.source,
                content_html=post.content_html,
                summary=post.summary,
                sensitive=post.sensitive,
                created_at=post.edited_at or post.created_at,
                media_ids=ids_text(await attached_ids(s, post.id)),
            )
        )
        before = set((await s.scalars(select(Mention.account_id).where(Mention.post_id == post.id))).all())
        added = {a.id: a for a in change.mentioned if a.id != post.account_id and a.id not in before}
        await _mention(ctx, s, post, list(added.values()))
        await s.execute(delete(PostTag).where(PostTag.post_id == post.id))
        await store_tags(s, post.id, change.tags)
        if change.remote_media is not None:
            await cache_if_chosen(ctx, s, await attach_remote(s, post, change.remote_media))
        _write(post, change.body)
        post.edited_at = change.edited_at
        if change.media_ids is not None:
            await attach(s, post, change.media_ids)
        await index_posts(s, [post])  # the old words are gone with the old version
        if post.local and audience_of(post.visibility).federates:
            await queue_fanout(s, PostEdited(post.id))
        events.append(Event("edit", post_id=post.id))
    return events


async def record_boosts(ctx: NodeContext, s: AsyncSession, changes: Sequence[Boost]) -> list[Event]:
    for change in changes:
        boost, original = change.boost, change.original
        s.add(boost)
        await s.flush()
        await count(s, original.id, "boosts_count", 1)
        await fan_out_home(s, boost, [])
        if change.notify_author:
            await notify(s, original.account, "boost", boost.account_id, original.id)
        if boost.local:
            await queue_fanout(s, Boosted(boost.account_id, original.id, boost.uri or ""))
    return []  # live readers find boosts by their poll of home timelines


async def _reshare(ctx: NodeContext, s: AsyncSession, post: Post) -> None:
    """A community of this node re-shares what is written to it: a boost by its account, which
    reaches its members' homes here and, as an `Announce`, its members' nodes (FEP-1b12). A
    peer's community re-shares on its own node."""
    group = await s.get(Account, post.community_id)
    if group is None or group.domain is not None or not group.is_group or group.id == post.account_id:
        return
    boost_id = new_id()
    boost = new_boost(group, f"{ctx.actor_uri(group.username)}/statuses/{boost_id}/activity", post, post_id=boost_id)
    await record_boosts(ctx, s, [Boost(boost, post, notify_author=False)])


async def remove_posts(
    ctx: NodeContext, s: AsyncSession, posts: Sequence[Post], *, tell_peers: bool = True,
    cause: SealCause = SealCause.AUTHOR_DELETE,
) -> list[Event]:
    """Remove posts and boosts (a boost removed is an unboost). A post whose local author is
    under legal hold is sealed first (node/sealing.py: a SealedPost with its snapshot, `cause`
    saying why), then removed the same way: it leaves every timeline and peers get the Delete.
    `tell_peers=False`: no Delete or Undo per post is federated, because one activity speaks
    for them all (an account's deletion sends one actor `Delete`: node/account_deletion.py)."""
    await seal_held(s, posts, ctx.domain, cause)
    events: list[Event] = []
    for post in posts:
        if post.in_reply_to_id is not None:
            await count(s, post.in_reply_to_id, "replies_count", -1)
        if post.reblog_of_id is not None:
            await count(s, post.reblog_of_id, "boosts_count", -1)
            if post.local and tell_peers:
                await queue_fanout(s, Unboosted(post.account_id, post.reblog_of_id, post.uri or ""))
        elif post.local and tell_peers and audience_of(post.visibility).federates:
            mention_ids = (await s.scalars(select(Mention.account_id).where(Mention.post_id == post.id))).all()
            if post.community_id is not None:  # a peer's community it was written to hears of it too
                mention_ids = [*mention_ids, post.community_id]
            await queue_fanout(s, PostDeleted(post.uri or "", post.account_id, post.visibility, tuple(mention_ids)))
        await forget_post_media(s, [post.id])
        await unindex(s, [post.id])
        await s.delete(post)
        events.append(Event("delete", post_id=post.id, deleted=post))
    return events
