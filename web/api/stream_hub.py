"""The live readers of one process, and what reaches each of them (web/api/streaming.py
speaks the protocols: WebSocket and server-sent events).

What is new comes from the streaming feed (node/stream_feed.py), a background loop that polls
the database while anyone is connected and is prompted at once by the in-process event bus;
the hub routes it to the streams each reader follows and renders it. It runs no SQL of its own.

Every delivery asks the question `GET /api/v1/statuses/:id` asks (node.posts.viewable), and
public and hashtag streams carry only `public` posts. A `list` stream is its owner's alone
(`authorize`), and carries what the list timeline would (node/lists.py `belongs`). The reader's filters apply as in the
timelines: the user stream reads in the `home` context, public and hashtag streams in
`public`, notifications in `notifications`; a `hide` match is not sent, a `warn` one carries
`filtered`. They are loaded once per batch for each reader the batch concerns, so a filter
changed takes effect with the next post. The `organization` stream carries what
the Organisation timeline shows (node.timelines.organization): posts of its audiences by
members of the organisation, to a reader who is one.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

from node import accounts, announcements, conversations, filters, lists, oauth, posts
from node.audience import Audience
from node.context import NodeContext
from node.events import Event
from node.filters_match import CompiledFilter, FilterContext
from node.organization import OrgDomains
from node.stream_feed import News, StreamFeed, may_read, may_see_deleted, silenced
from node.timelines import ORGANIZATION_TIMELINE
from node.visibility import in_organization
from storage.errors import Forbidden, Invalid, NotFound
from storage.models import Account, Notification, Post
from web.api import serializers
from web.api.announcements import entity, reaction_payload
from web.api.conversations import render_conversations
from web.api.filter_entities import FilterScope
from web.api.statuses import render

# Per socket: which posts went out on which streams, so a later delete reaches them.
SENT_MEMORY = 2000
USER_STREAMS = ("user", "user:notification")
PUBLIC_STREAMS = ("public", "public:local", "public:remote")
HASHTAG_STREAMS = ("hashtag", "hashtag:local")
LIST_STREAM = "list"
ORGANIZATION_STREAM = Audience.ORGANIZATION.value  # the stream is named for the timeline, as its path
# `conversation` events: the viewer's direct threads (node/conversations.py); Mastodon names the
# stream after the audience of the posts it carries.
DIRECT_STREAM = Audience.DIRECT.value
STREAMS = USER_STREAMS + PUBLIC_STREAMS + HASHTAG_STREAMS + (LIST_STREAM, ORGANIZATION_STREAM, DIRECT_STREAM)

Key = tuple[str, ...]  # ("user",), ("hashtag", "atrium") or ("list", "123"): Mastodon's `stream` field


def stream_key(name: str | None, tag: str | None, list_id: str | None = None) -> Key:
    if name not in STREAMS:
        raise Invalid(f"unknown stream {name!r}: one of {', '.join(STREAMS)}")
    if name in HASHTAG_STREAMS:
        tag = (tag or "").strip().lstrip("#").lower()
        if not tag:
            raise Invalid("a hashtag stream needs a tag")
        return (name, tag)
    if name == LIST_STREAM:
        raw = str(list_id or "").strip()
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 19):
            raise Invalid("a list stream needs the id of one of your lists")
        return (name, str(int(raw)))
    return (name,)


async def authorize(ctx: NodeContext, viewer: Account, key: Key) -> None:
    """Whether `viewer` may follow stream `key` at all: a list's stream only its owner
    (NotFound for anyone else's, as the list itself)."""
    if key[0] == LIST_STREAM:
        await lists.get_list(ctx, viewer, int(key[1]))


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
        needed = {"user:notification": "read:notifications", LIST_STREAM: "read:lists"}.get(key[0], "read:statuses")
        if not self.grant.allows(needed):
            raise Forbidden("This stream is outside the authorized scopes")


class Hub:
    """This process's live readers; the streaming feed (node.stream_feed) runs while there are any."""

    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx
        self.subscribers: set[Subscriber] = set()
        self.feed = StreamFeed(ctx, self)

    def join(self, sub: Subscriber) -> None:
        self.subscribers.add(sub)
        self.feed.start()  # if it is not running already

    def leave(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    async def close(self) -> None:
        for sub in list(self.subscribers):
            await sub.sink.close()
        self.subscribers.clear()
        self.feed.stop()
        await self.feed.join()

    # What the feed asks of its listener (node.stream_feed.Listener).

    def listening(self) -> bool:
        return bool(self.subscribers)

    def user_ids(self) -> set[int]:
        return {s.viewer.id for s in self.subscribers if any(k[0] in USER_STREAMS for k in s.streams)}

    def list_ids(self) -> set[int]:
        return {int(k[1]) for s in self.subscribers for k in s.streams if k[0] == LIST_STREAM}

    async def news(self, news: News) -> None:
        for sub in list(self.subscribers):
            await self._deliver(sub, news)

    async def vanished(self, post_id: int) -> None:
        for sub in list(self.subscribers):
            await self._send_delete(sub, post_id, sub.sent.pop(post_id, set()) & sub.streams)

    async def deleted(self, post: Post) -> None:
        """A post deleted in this process: tell the sockets it went out on, and the user
        streams of those who could have read it."""
        for sub in list(self.subscribers):
            keys = sub.sent.pop(post.id, set()) & sub.streams
            if ("user",) in sub.streams and ("user",) not in keys and await may_see_deleted(self.ctx, sub.viewer, post):
                keys.add(("user",))
            await self._send_delete(sub, post.id, keys)

    async def announcement(self, event: Event) -> None:
        """Mastodon's `announcement`, `announcement.reaction` and `announcement.delete` events,
        on every local reader's user stream (everyone here is shown every announcement)."""
        assert event.announcement_id is not None
        if event.kind == "announcement":
            shown = await announcements.view(self.ctx, event.announcement_id)
            if shown is None:
                return
            payload = json.dumps(entity(shown))
        elif event.kind == "announcement.reaction" and event.reaction is not None:
            payload = json.dumps(reaction_payload(event.announcement_id, *event.reaction))
        else:
            payload = str(event.announcement_id)
        for sub in list(self.subscribers):
            if ("user",) not in sub.streams or sub.viewer.domain is not None:
                continue
            try:
                await sub.send(("user",), event.kind, payload)
            except (ConnectionError, RuntimeError):
                self.leave(sub)

    async def _send_delete(self, sub: Subscriber, post_id: int, keys: set[Key]) -> None:
        try:
            for key in sorted(keys):
                await sub.send(key, "delete", str(post_id))
        except (ConnectionError, RuntimeError):
            self.leave(sub)

    async def _deliver(self, sub: Subscriber, news: News) -> None:
        active: list[CompiledFilter] | None = None  # the reader's filters, read once for the batch
        try:
            for event, post in news.posts:
                org = self.ctx.org_domains()
                keys = [k for k in sorted(sub.streams) if _routes(k, sub.viewer, post, news, org)]
                if not keys or not await may_read(self.ctx, sub.viewer, post):
                    continue
                if (DIRECT_STREAM,) in keys:
                    keys.remove((DIRECT_STREAM,))
                    await self._conversation(sub, post)
                if not keys:
                    continue
                if active is None:
                    active = await filters.active(self.ctx, sub.viewer)
                by_context: dict[FilterContext, list[Key]] = {}
                for key in keys:
                    by_context.setdefault(_context(key), []).append(key)
                for context, context_keys in by_context.items():
                    try:
                        payload = json.dumps(await render(self.ctx, sub.viewer, post, FilterScope(context, active)))
                    except NotFound:
                        continue  # gone since, a boost of something the viewer cannot see, or filtered out
                    for key in context_keys:
                        await sub.send(key, event, payload)
                        sub.remember(post.id, key)
                    self.feed.watch(post.id)
            for n in news.notifications:
                keys = [k for k in sorted(sub.streams) if k[0] in USER_STREAMS]
                if n.account_id != sub.viewer.id or not keys:
                    continue
                if active is None:
                    active = await filters.active(self.ctx, sub.viewer)
                notification = await self._notification(sub.viewer, n, FilterScope(FilterContext.NOTIFICATIONS, active))
                if notification is None:
                    continue
                for key in keys:
                    await sub.send(key, "notification", notification)
        except (ConnectionError, RuntimeError):
            self.leave(sub)  # the socket closed under us

    async def _conversation(self, sub: Subscriber, post: Post) -> None:
        """A new direct message the viewer may read: its conversation as `GET /api/v1/conversations`
        shows it (a conversation the viewer removed comes back with it, as Mastodon's does)."""
        try:
            found = await conversations.conversation(self.ctx, sub.viewer, post.thread_id or post.id)
        except NotFound:
            return
        [payload] = await render_conversations(self.ctx, sub.viewer, [found])
        await sub.send((DIRECT_STREAM,), "conversation", json.dumps(payload))

    async def _notification(self, viewer: Account, n: Notification, scope: FilterScope) -> str | None:
        if await silenced(self.ctx, viewer, n.from_account_id):
            return None
        try:
            sender = await accounts.get_account(self.ctx, n.from_account_id)
            status = None
            if n.post_id is not None:
                status = await render(self.ctx, viewer, await posts.get_post(self.ctx, viewer, n.post_id), scope)
        except NotFound:
            return None
        return json.dumps(serializers.notification(self.ctx, n, sender, status))


def _context(key: Key) -> FilterContext:
    """The filter context a stream reads in: a list reads as home does (Mastodon's `home`
    context covers lists), the public and hashtag streams as `public`."""
    return FilterContext.HOME if key[0] in USER_STREAMS or key[0] == LIST_STREAM else FilterContext.PUBLIC


def _routes(key: Key, viewer: Account, post: Post, batch: News, org: OrgDomains) -> bool:
    """Whether `post` belongs on stream `key` (who may read it is asked separately)."""
    name = key[0]
    if name == "user":
        return (viewer.id, post.id) in batch.homes
    if name == LIST_STREAM:
        return int(key[1]) in batch.lists.get(post.id, set())
    if name == ORGANIZATION_STREAM:
        # The Organisation timeline's rule (node.timelines.organization_posts), for a member.
        return (
            in_organization(viewer, org)
            and post.visibility in ORGANIZATION_TIMELINE
            and post.reblog_of_id is None
            and not post.account.silenced
            and (post.account.domain is None or org.contains(post.account.domain))
        )
    if name == DIRECT_STREAM:  # the viewer's part in it is what may_read then asks
        return post.visibility == Audience.DIRECT and post.reblog_of_id is None
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
