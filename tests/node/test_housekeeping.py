"""Housekeeping (node/housekeeping.py), on both engines with a clock the test moves: each
table that grows with time keeps what someone here still needs and loses the rest, in bounded
batches; a dry run only counts. docs/compliance.md ("Housekeeping") says why each rule is so.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from node import bookmarks, follows, housekeeping, interactions, posts
from node.context import NodeContext
from node.housekeeping import HousekeepingWorker
from node.housekeeping_settings import HousekeepingLimits
from node.posts import NewPost
from storage.ids import new_id
from storage.models import (
    Account,
    IdempotencyKey,
    InboxEntry,
    Job,
    Mention,
    Notification,
    OAuthApp,
    OAuthCode,
    OAuthToken,
    Post,
    PostTag,
    Report,
    Tag,
    TimelineEntry,
    Tombstone,
    WebSession,
    utcnow,
)
from tests.node.conftest import ORG_PEER, MakeAccount

DAY = timedelta(days=1)
LIMITS = HousekeepingLimits(remote_posts_days=30, inbox_log_days=30, tombstones_days=90,
                            read_notifications_days=90, failed_jobs_days=30, batch=1000)


@dataclass
class Clock:
    """The worker's clock, moved by the test."""

    at: datetime = field(default_factory=utcnow)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, days: float) -> None:
        self.at += timedelta(days=days)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def peer_post(ctx: NodeContext, author: Account, name: str, *, at: datetime | None = None, **fields: object) -> Post:
    """A peer's public post as the inbox stores one, arrived and written at `at` (default now)."""
    at = at or utcnow()
    fields.setdefault("created_at", at)
    post = Post(id=new_id(ms(at)), account_id=author.id, local=False, uri=f"https://{ORG_PEER}/notes/{name}",
                source="", content_html=f"<p>{name}</p>", visibility="public", **fields)
    async with ctx.db.session() as s:
        s.add(post)
        await s.flush()
        if post.thread_id is None:
            post.thread_id = post.id
    return post


async def uris(ctx: NodeContext) -> set[str]:
    async with ctx.db.reader() as s:
        return {u for u in await s.scalars(select(Post.uri).where(Post.local.is_(False)))}


async def count(ctx: NodeContext, model: type, *where: object) -> int:
    async with ctx.db.reader() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


async def test_a_peers_post_stays_while_someone_here_needs_it(
    ctx: NodeContext, make_account: MakeAccount, alice: Account, bob: Account, carol: Account
) -> None:
    # Given sam on the sibling node, whom bob follows, and pat there, whom nobody here follows
    sam = await make_account("sam", domain=ORG_PEER)
    pat = await make_account("pat", domain=ORG_PEER)
    await follows.follow(ctx, bob, sam.id)
    # and pat's and sam's posts, each with one reason (or none) to stay
    await peer_post(ctx, sam, "followed-author")
    liked = await peer_post(ctx, pat, "liked")
    await interactions.like(ctx, alice, liked.id)
    marked = await peer_post(ctx, pat, "bookmarked")
    await bookmarks.bookmark(ctx, alice, marked.id)
    boosted = await peer_post(ctx, pat, "boosted")
    await interactions.boost(ctx, alice, boosted.id)
    answered = await peer_post(ctx, pat, "replied-to")
    await posts.post_as(ctx, alice, NewPost(text="an answer", in_reply_to_id=answered.id))
    mentioning = await peer_post(ctx, pat, "mentions-alice")
    reported = await peer_post(ctx, pat, "reported")
    # (a mention the peer edited away leaves its notification: unread keeps the post, read does not)
    unread = await peer_post(ctx, pat, "unread-notification")
    read = await peer_post(ctx, pat, "read-notification")
    # and one nobody needs, still in carol's home timeline (she followed pat once) with a hashtag
    forgotten = await peer_post(ctx, pat, "forgotten")
    async with ctx.db.session() as s:
        s.add(Mention(post_id=mentioning.id, account_id=alice.id))
        s.add(Notification(account_id=alice.id, type="mention", from_account_id=pat.id, post_id=unread.id, read=False, group_key="ungrouped-hk1"))
        s.add(Notification(account_id=alice.id, type="mention", from_account_id=pat.id, post_id=read.id, read=True, group_key="ungrouped-hk2"))
        s.add(Report(number=1, reporter_id=carol.id, target_id=pat.id, post_ids=json.dumps([reported.id])))
        s.add(TimelineEntry(account_id=carol.id, post_id=forgotten.id, author_id=pat.id))
        tag = Tag(name="gone")
        s.add(tag)
        await s.flush()
        s.add(PostTag(post_id=forgotten.id, tag_id=tag.id))
    local = await posts.post_as(ctx, carol, NewPost(text="our own, never pruned"))
    clock = Clock()
    worker = HousekeepingWorker(ctx, LIMITS, now=clock)

    # When the worker runs before the posts are 30 days old
    clock.advance(29)
    assert (await worker.run_once())["remote_posts"] == 0
    # and when, 31 days on, a post written a year ago has just arrived (fetched for a thread)
    clock.advance(2)
    await peer_post(ctx, pat, "just-arrived", at=clock(), created_at=clock() - 365 * DAY)
    removed = await worker.run_once()

    # Then only the unneeded ones went, with their timeline rows, notifications and tags
    assert removed["remote_posts"] == 2
    left = await uris(ctx)
    assert {u.rsplit("/", 1)[1] for u in left} == {
        "followed-author", "liked", "bookmarked", "boosted", "replied-to", "mentions-alice", "reported",
        "unread-notification", "just-arrived",
    }
    assert await count(ctx, TimelineEntry, TimelineEntry.post_id == forgotten.id) == 0
    assert await count(ctx, PostTag, PostTag.post_id == forgotten.id) == 0
    assert await count(ctx, Notification, Notification.post_id == read.id) == 0
    assert await count(ctx, Notification, Notification.post_id == unread.id) == 1
    assert await count(ctx, Post, Post.id == local.id) == 1
    # and once bob unfollows sam, sam's post goes on the next run too
    await follows.unfollow(ctx, bob, sam.id)
    assert (await worker.run_once())["remote_posts"] == 1
    assert "followed-author" not in {u.rsplit("/", 1)[1] for u in await uris(ctx)}


async def test_a_limit_of_zero_keeps_peers_posts_forever(ctx: NodeContext, make_account: MakeAccount) -> None:
    # Given an old post nobody needs, and remote_posts_days = 0
    pat = await make_account("pat", domain=ORG_PEER)
    await peer_post(ctx, pat, "old", at=utcnow() - 400 * DAY)
    worker = HousekeepingWorker(ctx, HousekeepingLimits(remote_posts_days=0))
    # When the worker runs, Then it stays
    assert "remote_posts" not in await housekeeping.pending(ctx, HousekeepingLimits(remote_posts_days=0), utcnow())
    assert (await worker.run_once())["remote_posts"] == 0
    assert await uris(ctx) == {f"https://{ORG_PEER}/notes/old"}


async def _growing_rows(ctx: NodeContext, alice: Account, post: Post, now: datetime) -> None:
    """Of every table but posts: one row that must go and one that must stay (as of `now`)."""
    old, recent = now - 40 * DAY, now - 2 * DAY
    async with ctx.db.session() as s:
        app = OAuthApp(client_id="c1", client_secret_hash="x", name="app", redirect_uris="urn:x", scopes="read")
        s.add(app)
        await s.flush()
        s.add_all([
            InboxEntry(id=new_id(ms(old)), origin="o", activity_id="a-old", type="Create", actor_uri="x", outcome="done"),
            InboxEntry(id=new_id(ms(old)), origin="o", activity_id="a-queued", type="Create", actor_uri="x", outcome="queued"),
            InboxEntry(id=new_id(ms(recent)), origin="o", activity_id="a-recent", type="Create", actor_uri="x", outcome="done"),
            # a tombstone must outlive any replay of its Create: 20 hours is inside every limit
            Tombstone(uri="https://gone/old", actor_uri="x", deleted_at=now - 91 * DAY),
            Tombstone(uri="https://gone/replayable", actor_uri="x", deleted_at=now - timedelta(hours=20)),
            WebSession(token_hash="expired", account_id=alice.id, csrf_token="c", expires_at=now - timedelta(seconds=1)),
            WebSession(token_hash="live", account_id=alice.id, csrf_token="c", expires_at=now + DAY),
            OAuthCode(code_hash="expired", app_id=app.id, account_id=alice.id, redirect_uri="urn:x", scopes="read",
                      expires_at=now - timedelta(minutes=1)),
            OAuthCode(code_hash="live", app_id=app.id, account_id=alice.id, redirect_uri="urn:x", scopes="read",
                      expires_at=now + timedelta(minutes=5)),
            OAuthToken(access_hash="revoked", app_id=app.id, account_id=alice.id, scopes="read", revoked=True),
            OAuthToken(access_hash="void", app_id=app.id, account_id=alice.id, scopes="read", credentials_version=-1),
            OAuthToken(access_hash="live", app_id=app.id, account_id=alice.id, scopes="read"),
            OAuthToken(access_hash="app-only", app_id=app.id, account_id=None, scopes="read"),
            IdempotencyKey(account_id=alice.id, key="old", post_id=post.id, created_at=now - timedelta(hours=2)),
            IdempotencyKey(account_id=alice.id, key="fresh", post_id=post.id, created_at=now - timedelta(minutes=5)),
            Notification(id=new_id(ms(now - 91 * DAY)), account_id=alice.id, type="follow", from_account_id=alice.id, read=True,
                         group_key="ungrouped-hk-r"),
            Notification(id=new_id(ms(now - 91 * DAY)), account_id=alice.id, type="follow", from_account_id=alice.id, read=False,
                         group_key="ungrouped-hk-u"),
            Notification(id=new_id(ms(recent)), account_id=alice.id, type="follow", from_account_id=alice.id, read=True,
                         group_key="ungrouped-hk-r"),
            Job(queue="deliver", payload=b"{}", status="failed", updated_at=old),
            Job(queue="deliver", payload=b"{}", status="failed", updated_at=recent),
            Job(queue="deliver", payload=b"{}", status="pending", updated_at=old),
        ])


EXPECTED_GONE = {"inbox_log": 1, "tombstones": 1, "web_sessions": 1, "oauth_codes": 1, "oauth_tokens": 2,
                 "idempotency_keys": 1, "notifications": 1, "jobs": 1, "remote_posts": 0}


async def _left(ctx: NodeContext) -> dict[str, set[str]]:
    async with ctx.db.reader() as s:
        return {
            "inbox_log": set(await s.scalars(select(InboxEntry.activity_id))),
            "tombstones": set(await s.scalars(select(Tombstone.uri))),
            "web_sessions": set(await s.scalars(select(WebSession.token_hash))),
            "oauth_codes": set(await s.scalars(select(OAuthCode.code_hash))),
            "oauth_tokens": set(await s.scalars(select(OAuthToken.access_hash))),
            "idempotency_keys": set(await s.scalars(select(IdempotencyKey.key))),
            "notifications": {f"{n.read}" for n in await s.scalars(select(Notification))},
            "jobs": {f"{j.status}" for j in await s.scalars(select(Job).where(Job.queue == "deliver"))},
        }


async def test_each_growing_table_loses_only_what_its_rule_names(ctx: NodeContext, alice: Account) -> None:
    # Given a row to go and a row to stay in every table that grows with time
    post = await posts.post_as(ctx, alice, NewPost(text="keyed"))
    clock = Clock()
    await _growing_rows(ctx, alice, post, clock())
    async with ctx.db.reader() as s:
        deliver_jobs = await s.scalar(select(func.count()).select_from(Job).where(Job.queue == "deliver"))
    assert deliver_jobs == 3

    # When a dry run counts first
    before = await _left(ctx)
    assert await housekeeping.pending(ctx, LIMITS, clock()) == EXPECTED_GONE
    # Then it changed nothing
    assert await _left(ctx) == before

    # When the worker runs
    assert await HousekeepingWorker(ctx, LIMITS, now=clock).run_once() == EXPECTED_GONE
    # Then exactly the named rows went
    assert await _left(ctx) == {
        "inbox_log": {"a-queued", "a-recent"},
        "tombstones": {"https://gone/replayable"},
        "web_sessions": {"live"},
        "oauth_codes": {"live"},
        "oauth_tokens": {"live", "app-only"},
        "idempotency_keys": {"fresh"},
        "notifications": {"False", "True"},
        "jobs": {"failed", "pending"},
    }
    # and a second count finds nothing more
    assert set((await housekeeping.pending(ctx, LIMITS, clock())).values()) == {0}


async def test_batches_are_bounded_and_the_loop_goes_on_while_there_is_more(ctx: NodeContext, make_account: MakeAccount) -> None:
    # Given 5 old inbox log rows and 5 old peers' posts, and batches of 2
    pat = await make_account("pat", domain=ORG_PEER)
    old = utcnow() - 40 * DAY
    async with ctx.db.session() as s:
        s.add_all([InboxEntry(id=new_id(ms(old)), origin="o", activity_id=f"a{i}", type="Like", actor_uri="x", outcome="done")
                   for i in range(5)])
    for i in range(5):
        await peer_post(ctx, pat, f"p{i}", at=old)
    worker = HousekeepingWorker(ctx, HousekeepingLimits(batch=2))
    # When it runs three times
    runs = [await worker.run_once() for _ in range(3)]
    # Then each run removed at most 2 of each, asked to go on at once while a batch was full
    assert [(r["inbox_log"], r["remote_posts"]) for r in runs] == [(2, 2), (2, 2), (1, 1)]
    assert [worker._pause_after(r) for r in runs] == [0.0, 0.0, worker.every]
    assert await count(ctx, InboxEntry) == 0 and await uris(ctx) == set()


async def test_prune_all_removes_everything_due(ctx: NodeContext, make_account: MakeAccount) -> None:
    # Given 7 old peers' posts and batches of 3
    pat = await make_account("pat", domain=ORG_PEER)
    for i in range(7):
        await peer_post(ctx, pat, f"p{i}", at=utcnow() - 40 * DAY)
    # When everything due is pruned at once (`atrium maintenance prune`)
    total = await housekeeping.prune_all(ctx, HousekeepingLimits(batch=3), utcnow())
    # Then all 7 went
    assert total["remote_posts"] == 7 and await uris(ctx) == set()


async def test_two_workers_at_once_share_the_work(ctx: NodeContext, make_account: MakeAccount) -> None:
    # Given 6 old peers' posts and two worker processes' housekeeping, batches of 2
    pat = await make_account("pat", domain=ORG_PEER)
    for i in range(6):
        await peer_post(ctx, pat, f"p{i}", at=utcnow() - 40 * DAY)
    one, other = (HousekeepingWorker(ctx, HousekeepingLimits(batch=2)) for _ in range(2))
    # When both step at the same time, until nothing is left
    removed = 0
    for _ in range(4):
        got = await asyncio.gather(one.run_once(), other.run_once())
        removed += sum(r.get("remote_posts", 0) for r in got)
    # Then every post went once, and neither failed on a post the other took
    assert removed == 6 and await uris(ctx) == set()
