"""The live readers of one process and the poller that feeds them (web/api/streaming.py
speaks the protocols: WebSocket and server-sent events).

How news reaches a socket: while anyone is connected, the hub polls the database once a second
for what is new since it last looked (posts, home entries, edits by their history rows,
notifications) and is prompted at once by the in-process event bus (node.events). The poll is
what makes posts stored by *another* process of the node — a `--role worker` handling inbound
activities — arrive at all; the bus only spares this process's own writes the wait, and
carries the snapshot of a post deleted here. A post deleted elsewhere is noticed by checking
that what was recently streamed still exists. A broker (Redis, PostgreSQL LISTEN/NOTIFY)
would spare the poll but not work on SQLite, so the poll is the one mechanism for both engines.

Every delivery asks the question `GET /api/v1/statuses/:id` asks (node.posts.viewable), and
public and hashtag streams carry only `public` posts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from node import accounts, oauth, posts
from node.audience import Audience
from node.context import NodeContext
from node.events import Event
from node.mutes import hidden_authors, silenced_senders
from node.timelines import kept_out
from storage.errors import Forbidden, Invalid, NotFound
from storage.ids import id_floor
from storage.models import Account, Notification, Post, PostEdit, PostTag, Tag, TimelineEntry
from web.api import serializers
from web.api.statuses import render

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
# Rows committed late (a long transaction, another process) still get noticed: each poll
# looks this far back and skips what it has already seen.
LOOKBACK = timedelta(seconds=30)
# Per socket: which posts went out on which streams, so a later delete reaches them.
SENT_MEMORY = 2000
# A post deleted by another process cannot be polled for: what this hub streamed within the
# window is checked to still exist (a primary-key lookup of at most MAX_WATCHED ids a poll).
DELETE_WINDOW = timedelta(minutes=15)
MAX_WATCHED = 500
USER_STREAMS = ("user", "user:notification")
PUBLIC_STREAMS = ("public", "public:local", "public:remote")
HASHTAG_STREAMS = ("hashtag", "hashtag:local")
STREAMS = USER_STREAMS + PUBLIC_STREAMS + HASHTAG_STREAMS

Key = tuple[str, ...]  # ("user",) or ("hashtag", "atrium"): Mastodon's `stream` field


def stream_key(name: str | None, tag: str | None) -> Key:
    if name not in STREAMS:
        raise Invalid(f"unknown stream {name!r}: one of {', '.join(STREAMS)}")
    if name in HASHTAG_STREAMS:
        tag = (tag or "").strip().lstrip("#").lower()
        if not tag:
            raise Invalid("a hashtag stream needs a tag")
        return (name, tag)
    return (name,)


class Sink(Protocol):
    """One reader's connection: a WebSocket or a server-sent event stream (web/api/streaming.py).
    `send` raises ConnectionError or RuntimeError once the reader has gone."""

    async def send(self, key: Key, event: str, payload: str) -> None: ...

    async def close(self) -> None: ...


@dataclass(eq=False)
class Subscriber:
    sink: Sink
    viewer: Account
    grant: oauth.Grant
    streams: set[Key] = field(default_factory=set)
    sent: OrderedDict[int, set[Key]] = field(default_factory=OrderedDict)

    async def send(self, key: Key, event: str, payload: str) -> None:
        await self.sink.send(key, event, payload)

    def remember(self, post_id: int, key: Key) -> None:
        self.sent.setdefault(post_id, set()).add(key)
        self.sent.move_to_end(post_id)
        while len(self.sent) > SENT_MEMORY:
            self.sent.popitem(last=False)

    def check_scope(self, key: Key) -> None:
        needed = "read:notifications" if key[0] == "user:notification" else "read:statuses"
        if not self.grant.allows(needed):
            raise Forbidden("This stream is outside the authorized scopes")


@dataclass
class _Batch:
    """What one poll found, and what routing needs to know about it."""

    posts: list[tuple[str, Post]]  # ("update" | "status.update", post)
    notifications: list[Notification]
    homes: set[tuple[int, int]]  # (account id, post id)
    tags: dict[int, set[str]]
    hidden_domains: set[str]


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class Hub:
    """This process's live readers, and the poller that runs while there are any."""

    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx
        self.subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self._start = datetime.now(UTC)
        self._seen_posts: dict[int, None] = {}
        self._seen_notifications: dict[int, None] = {}
        self._seen_edits: dict[int, None] = {}  # PostEdit ids: one row per edit, time-ordered
        self._streamed: OrderedDict[int, float] = OrderedDict()  # post id -> when it went out

    def join(self, sub: Subscriber) -> None:
        self.subscribers.add(sub)
        if self._task is None or self._task.done():
            # Only news from now on: a reader fetches the past through the timelines.
            self._start = datetime.now(UTC)
            self._seen_posts.clear()
            self._seen_notifications.clear()
            self._seen_edits.clear()
            self._task = asyncio.create_task(self._run())

    def leave(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    async def close(self) -> None:
        for sub in list(self.subscribers):
            await sub.sink.close()
        self.subscribers.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        queue = self.ctx.events.subscribe()
        try:
            while self.subscribers:
                events = await _next_events(queue, POLL_SECONDS)
                try:
                    for event in events:
                        if event.kind == "delete" and event.deleted is not None:
                            await self._deleted(event.deleted)
                    await self._poll()
                except (DBAPIError, OSError) as exc:  # the database is away: try again next tick
                    log.warning("streaming poll failed: %s", exc)
                except Exception:  # noqa: BLE001 - one bad row must not end streaming for everyone
                    log.exception("streaming poll failed")
        finally:
            self.ctx.events.unsubscribe(queue)

    async def _poll(self) -> None:
        now = datetime.now(UTC)
        since = max(self._start, now - LOOKBACK)
        floor = id_floor(_ms(since))
        user_ids = {s.viewer.id for s in self.subscribers if any(k[0] in USER_STREAMS for k in s.streams)}
        async with self.ctx.db.reader() as s:
            fresh = [p for p in (await s.scalars(select(Post).where(Post.id > floor).order_by(Post.id))).unique()
                     if p.id not in self._seen_posts]
            fresh_ids = {p.id for p in fresh}
            # Edits by their history rows: an index range scan, where `edited_at` has no index.
            edit_rows = (await s.execute(select(PostEdit.id, PostEdit.post_id).where(PostEdit.id > floor))).all()
            edit_ids = {e for e, _ in edit_rows if e not in self._seen_edits}
            edited_ids = {p for e, p in edit_rows if e in edit_ids and p not in fresh_ids}
            edited = list((await s.scalars(select(Post).where(Post.id.in_(edited_ids)).order_by(Post.id))).unique()) \
                if edited_ids else []
            notes: list[Notification] = []
            if user_ids:
                notes = [n for n in await s.scalars(
                    select(Notification).where(Notification.id > floor, Notification.account_id.in_(user_ids))
                    .order_by(Notification.id)) if n.id not in self._seen_notifications]
            batch = await self._describe(s, [("update", p) for p in fresh] + [("status.update", p) for p in edited],
                                         notes, user_ids)
        self._seen_posts = _pruned(self._seen_posts, lambda k: k > floor, fresh_ids)
        self._seen_notifications = _pruned(self._seen_notifications, lambda k: k > floor, {n.id for n in notes})
        self._seen_edits = _pruned(self._seen_edits, lambda k: k > floor, edit_ids)
        if batch.posts or batch.notifications:
            for sub in list(self.subscribers):
                await self._deliver(sub, batch)
        await self._vanished()

    def _watch(self, post_id: int) -> None:
        self._streamed[post_id] = time.monotonic()
        self._streamed.move_to_end(post_id)
        while len(self._streamed) > MAX_WATCHED:
            self._streamed.popitem(last=False)

    async def _vanished(self) -> None:
        """Deletes for streamed posts that are gone (deleted by any process of the node)."""
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
            for sub in list(self.subscribers):
                await self._send_delete(sub, post_id, sub.sent.pop(post_id, set()) & sub.streams)

    async def _send_delete(self, sub: Subscriber, post_id: int, keys: set[Key]) -> None:
        try:
            for key in sorted(keys):
                await sub.send(key, "delete", str(post_id))
        except (ConnectionError, RuntimeError):
            self.leave(sub)

    async def _describe(self, s: AsyncSession, items: list[tuple[str, Post]], notes: list[Notification],
                        user_ids: set[int]) -> _Batch:
        ids = [p.id for _, p in items]
        homes: set[tuple[int, int]] = set()
        tags: dict[int, set[str]] = {}
        hidden: set[str] = set()
        if ids and user_ids:
            rows = await s.execute(select(TimelineEntry.account_id, TimelineEntry.post_id).where(
                TimelineEntry.post_id.in_(ids), TimelineEntry.account_id.in_(user_ids)))
            homes = {(a, p) for a, p in rows.all()}
        if ids:
            for post_id, name in (await s.execute(select(PostTag.post_id, Tag.name).join(Tag, Tag.id == PostTag.tag_id)
                                                  .where(PostTag.post_id.in_(ids)))).all():
                tags.setdefault(post_id, set()).add(name)
            hidden = set(await kept_out(self.ctx, s))
        return _Batch(items, notes, homes, tags, hidden)

    async def _deliver(self, sub: Subscriber, batch: _Batch) -> None:
        try:
            for event, post in batch.posts:
                keys = [k for k in sorted(sub.streams) if _routes(k, sub.viewer, post, batch)]
                if not keys or not await self._may_read(sub.viewer, post):
                    continue
                try:
                    payload = json.dumps(await render(self.ctx, sub.viewer, post))
                except NotFound:
                    continue  # gone since, or a boost of something the viewer cannot see
                for key in keys:
                    await sub.send(key, event, payload)
                    sub.remember(post.id, key)
                self._watch(post.id)
            for n in batch.notifications:
                keys = [k for k in sorted(sub.streams) if k[0] in USER_STREAMS]
                if n.account_id != sub.viewer.id or not keys:
                    continue
                notification = await self._notification(sub.viewer, n)
                if notification is None:
                    continue
                for key in keys:
                    await sub.send(key, "notification", notification)
        except (ConnectionError, RuntimeError):
            self.leave(sub)  # the socket closed under us

    async def _may_read(self, viewer: Account, post: Post) -> bool:
        """What `GET /api/v1/statuses/:id` would show, minus authors the viewer mutes or blocks
        (as the author of the post or of what it boosts, as Mastodon's feeds leave them out)."""
        async with self.ctx.db.reader() as s:
            if not await posts.viewable(self.ctx, s, viewer, post):
                return False
            hidden = set(await s.scalars(hidden_authors(viewer.id)))
            if post.account_id in hidden:
                return False
            boosted = await s.get(Post, post.reblog_of_id) if post.reblog_of_id is not None else None
        return boosted is None or boosted.account_id not in hidden

    async def _notification(self, viewer: Account, n: Notification) -> str | None:
        async with self.ctx.db.reader() as s:
            if n.from_account_id in set(await s.scalars(silenced_senders(viewer.id))):
                return None
        try:
            sender = await accounts.get_account(self.ctx, n.from_account_id)
            status = None
            if n.post_id is not None:
                status = await render(self.ctx, viewer, await posts.get_post(self.ctx, viewer, n.post_id))
        except NotFound:
            return None
        return json.dumps(serializers.notification(self.ctx, n, sender, status))

    async def _deleted(self, post: Post) -> None:
        """A post deleted in this process: tell the sockets it went out on, and the user
        streams of those who could have read it."""
        self._streamed.pop(post.id, None)
        for sub in list(self.subscribers):
            keys = sub.sent.pop(post.id, set()) & sub.streams
            if ("user",) in sub.streams and ("user",) not in keys:
                async with self.ctx.db.reader() as s:
                    if await posts.viewable(self.ctx, s, sub.viewer, post):
                        keys.add(("user",))
            await self._send_delete(sub, post.id, keys)


def _routes(key: Key, viewer: Account, post: Post, batch: _Batch) -> bool:
    """Whether `post` belongs on stream `key` (who may read it is asked separately)."""
    name = key[0]
    if name == "user":
        return (viewer.id, post.id) in batch.homes
    if name not in PUBLIC_STREAMS + HASHTAG_STREAMS:
        return False
    # Public and hashtag streams: public posts only, never boosts, not from kept-out peers.
    if post.visibility != Audience.PUBLIC or post.reblog_of_id is not None or post.account.silenced:
        return False
    if post.account.domain is not None and post.account.domain in batch.hidden_domains:
        return False
    if name in ("public:local", "hashtag:local") and not post.local:
        return False
    if name == "public:remote" and post.local:
        return False
    return name in PUBLIC_STREAMS or key[1] in batch.tags.get(post.id, set())


K = TypeVar("K")


def _pruned(seen: dict[K, None], keep: Callable[[K], bool], new: Iterable[K]) -> dict[K, None]:
    """The seen-set without what fell out of the look-back window, plus what was just seen."""
    out = {k: None for k in seen if keep(k)}
    out.update(dict.fromkeys(new))
    return out


async def _next_events(queue: asyncio.Queue[Event], timeout: float) -> list[Event]:
    """The prompts that arrive within `timeout` (at least one ends the wait), drained."""
    events: list[Event] = []
    with contextlib.suppress(TimeoutError):
        events.append(await asyncio.wait_for(queue.get(), timeout))
    while not queue.empty():
        events.append(queue.get_nowait())
    return events
