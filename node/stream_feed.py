"""What is new for the live readers of one process: the streaming feed, a background loop
(node/loops.py) that polls the database and hands what it found to a listener (the streaming
hub, web/api/stream_hub.py, which routes it to sockets and renders it).

While anyone is listening, the feed polls once a second for what is new since it last looked
(posts, home entries, edits by their history rows, notifications) and is prompted at once by
the in-process event bus (node.events). The poll is what makes posts stored by *another*
process of the node — a `--role worker` handling inbound activities — arrive at all; the bus
only spares this process's own writes the wait, and carries the snapshot of a post deleted
here. A post deleted elsewhere is noticed by checking that what was recently streamed
(`watch`) still exists. A broker (Redis, PostgreSQL LISTEN/NOTIFY) would spare the poll but
not work on SQLite, so the poll is the one mechanism for both engines.

The questions a delivery asks per reader are here too (`may_read`, `may_see_deleted`,
`silenced`), so the hub runs no SQL of its own.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from node import lists, posts
from node.context import NodeContext
from node.events import Event
from node.loops import BackgroundLoop
from node.mutes import hidden_authors, silenced_senders
from node.timelines import kept_out
from storage.ids import id_floor
from storage.models import Account, Notification, Post, PostEdit, PostTag, Tag, TimelineEntry

POLL_SECONDS = 1.0
# Rows committed late (a long transaction, another process) still get noticed: each poll
# looks this far back and skips what it has already seen.
LOOKBACK = timedelta(seconds=30)
# A post deleted by another process cannot be polled for: what was streamed within the
# window is checked to still exist (a primary-key lookup of at most MAX_WATCHED ids a poll).
DELETE_WINDOW = timedelta(minutes=15)
MAX_WATCHED = 500


@dataclass
class News:
    """What one poll found, and what routing it to streams needs to know about it."""

    posts: list[tuple[str, Post]]  # ("update" | "status.update", post)
    notifications: list[Notification]
    homes: set[tuple[int, int]]  # (account id, post id)
    tags: dict[int, set[str]]
    hidden_domains: set[str]
    lists: dict[int, set[int]] = field(default_factory=dict)  # post id -> ids of the lists it is on


class Listener(Protocol):
    """Who the feed works for: the streaming hub of this process."""

    def listening(self) -> bool:
        """Anyone still reading: the feed ends when nobody is."""
        ...

    def user_ids(self) -> set[int]:
        """The accounts reading their own streams: their notifications and home entries are polled."""
        ...

    def list_ids(self) -> set[int]:
        """The lists whose streams someone reads (their owners' alone: web/api/stream_hub.py)."""
        ...

    async def news(self, news: News) -> None: ...

    async def deleted(self, post: Post) -> None:
        """A post deleted in this process, as it was."""
        ...

    async def vanished(self, post_id: int) -> None:
        """A post streamed lately that is gone (deleted by any process of the node)."""
        ...

    async def announcement(self, event: Event) -> None:
        """An announcement published, changed, reacted to or withdrawn in this process."""
        ...


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class StreamFeed(BackgroundLoop):
    """The poller of one process's streaming hub: runs while its listener is listening."""

    def __init__(self, ctx: NodeContext, listener: Listener, every: float = POLL_SECONDS) -> None:
        super().__init__("streaming feed", every)
        self.ctx = ctx
        self.listener = listener
        self._start = datetime.now(UTC)
        self._seen_posts: dict[int, None] = {}
        self._seen_notifications: dict[int, None] = {}
        self._seen_edits: dict[int, None] = {}  # PostEdit ids: one row per edit, time-ordered
        self._streamed: OrderedDict[int, float] = OrderedDict()  # post id -> when it went out
        self._bus: asyncio.Queue[Event] | None = None
        self._prompts: list[Event] = []

    def start(self) -> None:
        if not self.running:
            # Only news from now on: a reader fetches the past through the timelines.
            self._start = datetime.now(UTC)
            self._seen_posts.clear()
            self._seen_notifications.clear()
            self._seen_edits.clear()
        super().start()

    async def run_forever(self) -> None:
        self._bus = self.ctx.events.subscribe()
        try:
            await super().run_forever()
        finally:
            self.ctx.events.unsubscribe(self._bus)
            self._bus = None

    def _keep_going(self) -> bool:
        return self.listener.listening()

    async def _prompted(self) -> None:
        """An event on the bus ends the pause: this process's own writes need not wait."""
        if self._bus is None:
            await self._stop.wait()
            return
        self._prompts.append(await self._bus.get())

    def watch(self, post_id: int) -> None:
        """`post_id` went out to a reader: tell the listener if it vanishes within DELETE_WINDOW."""
        self._streamed[post_id] = time.monotonic()
        self._streamed.move_to_end(post_id)
        while len(self._streamed) > MAX_WATCHED:
            self._streamed.popitem(last=False)

    async def run_once(self) -> int:
        """Handle the prompts that came, poll, and check the watched posts; how much was new."""
        events, self._prompts = self._prompts, []
        while self._bus is not None and not self._bus.empty():
            events.append(self._bus.get_nowait())
        for event in events:
            if event.kind == "delete" and event.deleted is not None:
                self._streamed.pop(event.deleted.id, None)
                await self.listener.deleted(event.deleted)
            elif event.kind.startswith("announcement"):
                await self.listener.announcement(event)
        news = await self._poll()
        if news.posts or news.notifications:
            await self.listener.news(news)
        await self._vanished()
        return len(news.posts) + len(news.notifications)

    async def _poll(self) -> News:
        now = datetime.now(UTC)
        since = max(self._start, now - LOOKBACK)
        floor = id_floor(_ms(since))
        user_ids = self.listener.user_ids()
        async with self.ctx.db.reader() as s:
            new = select(Post).where(Post.id > floor).order_by(Post.id)
            fresh = [p for p in (await s.scalars(new)).unique() if p.id not in self._seen_posts]
            fresh_ids = {p.id for p in fresh}
            # Edits by their history rows: an index range scan, where `edited_at` has no index.
            edit_rows = (await s.execute(select(PostEdit.id, PostEdit.post_id).where(PostEdit.id > floor))).all()
            edit_ids = {e for e, _ in edit_rows if e not in self._seen_edits}
            edited_ids = {p for e, p in edit_rows if e in edit_ids and p not in fresh_ids}
            edited: list[Post] = []
            if edited_ids:
                edited = list((await s.scalars(select(Post).where(Post.id.in_(edited_ids)).order_by(Post.id))).unique())
            notes: list[Notification] = []
            if user_ids:
                mine = Notification.account_id.in_(user_ids)
                rows = await s.scalars(
                    select(Notification).where(Notification.id > floor, mine).order_by(Notification.id)
                )
                notes = [n for n in rows if n.id not in self._seen_notifications]
            items = [("update", p) for p in fresh] + [("status.update", p) for p in edited]
            news = await self._describe(s, items, notes, user_ids)
        self._seen_posts = _pruned(self._seen_posts, lambda k: k > floor, fresh_ids)
        self._seen_notifications = _pruned(self._seen_notifications, lambda k: k > floor, {n.id for n in notes})
        self._seen_edits = _pruned(self._seen_edits, lambda k: k > floor, edit_ids)
        return news

    async def _vanished(self) -> None:
        cutoff = time.monotonic() - DELETE_WINDOW.total_seconds()
        while self._streamed and next(iter(self._streamed.values())) < cutoff:
            self._streamed.popitem(last=False)
        if not self._streamed:
            return
        watched = list(self._streamed)
        async with self.ctx.db.reader() as s:
            existing = set(await s.scalars(select(Post.id).where(Post.id.in_(watched))))
        for post_id in (p for p in watched if p not in existing):
            del self._streamed[post_id]
            await self.listener.vanished(post_id)

    async def _describe(
        self, s: AsyncSession, items: list[tuple[str, Post]], notes: list[Notification], user_ids: set[int]
    ) -> News:
        ids = [p.id for _, p in items]
        homes: set[tuple[int, int]] = set()
        tags: dict[int, set[str]] = {}
        hidden: set[str] = set()
        if ids and user_ids:
            entries = select(TimelineEntry.account_id, TimelineEntry.post_id).where(
                TimelineEntry.post_id.in_(ids), TimelineEntry.account_id.in_(user_ids),
                ~lists.exclusive_member(TimelineEntry.account_id, TimelineEntry.author_id),
            )
            homes = {(a, p) for a, p in (await s.execute(entries)).all()}
        if ids:
            named = (
                select(PostTag.post_id, Tag.name).join(Tag, Tag.id == PostTag.tag_id).where(PostTag.post_id.in_(ids))
            )
            for post_id, name in (await s.execute(named)).all():
                tags.setdefault(post_id, set()).add(name)
            hidden = set(await kept_out(self.ctx, s))
        on_lists = await lists.route(s, ids, sorted(self.listener.list_ids()))
        return News(items, notes, homes, tags, hidden, on_lists)


async def may_read(ctx: NodeContext, viewer: Account, post: Post) -> bool:
    """What `GET /api/v1/statuses/:id` would show, minus authors the viewer mutes or blocks
    (as the author of the post or of what it boosts, as Mastodon's feeds leave them out)."""
    async with ctx.db.reader() as s:
        if not await posts.viewable(ctx, s, viewer, post):
            return False
        hidden = set(await s.scalars(hidden_authors(viewer.id)))
        if post.account_id in hidden:
            return False
        boosted = await s.get(Post, post.reblog_of_id) if post.reblog_of_id is not None else None
    return boosted is None or boosted.account_id not in hidden


async def may_see_deleted(ctx: NodeContext, viewer: Account, post: Post) -> bool:
    """Whether `viewer` could have read `post` (a snapshot of a deleted one)."""
    async with ctx.db.reader() as s:
        return await posts.viewable(ctx, s, viewer, post)


async def silenced(ctx: NodeContext, viewer: Account, sender_id: int) -> bool:
    """Whether the viewer keeps notifications from `sender_id` away (a mute with notifications, a block)."""
    async with ctx.db.reader() as s:
        return sender_id in set(await s.scalars(silenced_senders(viewer.id)))


K = TypeVar("K")


def _pruned(seen: dict[K, None], keep: Callable[[K], bool], new: Iterable[K]) -> dict[K, None]:
    """The seen-set without what fell out of the look-back window, plus what was just seen."""
    out = {k: None for k in seen if keep(k)}
    out.update(dict.fromkeys(new))
    return out
