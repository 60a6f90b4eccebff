"""Retention and legal holds on one node, on both engines, with a clock the test moves
(issue #21; docs/compliance.md "Retention" and "Legal hold"): the retention worker removes
expired posts through the normal removal, skips held accounts' posts, removes peers' copies
here only; a held author's delete seals the post; media prune keeps what a seal names."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from node import holds, media, posts
from node.audience import Audience
from node.context import NodeContext
from node.media_prune import prune
from node.policy import PeerRule, Policy
from node.post_effects import Body, Recorded, new_post, record_posts
from node.posts import NewPost
from node.retention import RetentionWorker, describe, expiry
from node.retention_rules import Retention
from storage.db import Database
from storage.errors import Conflict, NotFound
from storage.ids import new_id
from storage.models import Account, AuditEntry, Job, Post, SealedPost
from tests import media_files
from tests.factory import node_context
from tests.node.conftest import ORG_PEER, MakeAccount

START = datetime(2026, 1, 1, tzinfo=UTC)
RULES = Retention(posts=((Audience.PUBLIC, 30), (Audience.LOCAL, 365)), remote=10, direct=7)


class Clock:
    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def ctx(db: Database) -> NodeContext:
    policy = Policy(mode="allowlist", peers=(PeerRule(ORG_PEER, "organization"),), retention=RULES)
    return node_context(db, "eng.acme.test", policy=policy)


async def _post(ctx: NodeContext, author: Account, text: str, visibility: str = Audience.PUBLIC, *,
                at: datetime = START, media_ids: tuple[int, ...] = ()) -> Post:
    post = await posts.create_post(ctx, author, NewPost(text, visibility=visibility, media_ids=media_ids))
    async with ctx.db.session() as s:
        await s.execute(update(Post).where(Post.id == post.id).values(created_at=at))
    post.created_at = at
    return post


async def _remote_post(ctx: NodeContext, author: Account, text: str, at: datetime = START) -> Post:
    post_id = new_id()
    post = new_post(author, f"https://{author.domain}/notes/{post_id}", Audience.PUBLIC, Body(content_html=f"<p>{text}</p>"),
                    post_id=post_id, url=None, parent=None, created_at=at)
    async with ctx.db.session() as s:
        await record_posts(ctx, s, [Recorded(post, None, [], ())])
    return post


async def _exists(ctx: NodeContext, post_id: int) -> bool:
    async with ctx.db.reader() as s:
        return await s.get(Post, post_id) is not None


async def _fanout_kinds(ctx: NodeContext) -> list[str]:
    async with ctx.db.reader() as s:
        return [json.loads(j.payload).get("kind", "") for j in await s.scalars(select(Job).where(Job.queue == "fanout"))]


async def test_the_worker_removes_what_expired_by_its_rule_and_nothing_younger(ctx: NodeContext, alice: Account) -> None:
    # Given a public post 31 days old, one 29 days old, a local-only one 31 days old and a
    # followers-only one (no rule: kept forever), and a clock at START + 31 days
    clock = Clock()
    old = await _post(ctx, alice, "old news")
    young = await _post(ctx, alice, "fresh", at=START + timedelta(days=2))
    local = await _post(ctx, alice, "in house", Audience.LOCAL)
    forever = await _post(ctx, alice, "for followers", Audience.FOLLOWERS)
    clock.at = START + timedelta(days=31)
    before = len(await _fanout_kinds(ctx))
    # When the retention worker runs once
    removed = await RetentionWorker(ctx, now=clock).run_once()
    # Then only the expired public post is gone, and its Delete is queued for the peers
    assert removed == 1
    assert not await _exists(ctx, old.id)
    assert all([await _exists(ctx, p.id) for p in (young, local, forever)])
    assert (await _fanout_kinds(ctx))[before:] == ["Delete"]
    # When the clock passes a year, the local post goes too (never federated: no fan-out)
    clock.at = START + timedelta(days=400)
    assert await RetentionWorker(ctx, now=clock).run_once() == 2
    assert not await _exists(ctx, local.id) and await _exists(ctx, forever.id)


async def test_a_batch_is_bounded_and_the_rest_follows_in_the_next_runs(ctx: NodeContext, alice: Account) -> None:
    # Given five expired public posts and a worker removing at most two per run
    made = [await _post(ctx, alice, f"post {n}") for n in range(5)]
    clock = Clock()
    clock.at = START + timedelta(days=60)
    worker = RetentionWorker(ctx, now=clock, batch=2)
    # When it runs three times  # Then it removes 2, 2, 1, and asks to run again at once only after a full batch
    outcomes = [await worker.run_once() for _ in range(3)]
    assert outcomes == [2, 2, 1]
    assert worker._pause_after(2) == 0 and worker._pause_after(1) == worker.every
    assert not any([await _exists(ctx, p.id) for p in made])


async def test_two_workers_at_once_remove_each_post_once(ctx: NodeContext, alice: Account) -> None:
    # Given six expired posts and two workers (two processes of the node) running at the same moment
    import asyncio

    made = [await _post(ctx, alice, f"post {n}") for n in range(6)]
    clock = Clock()
    clock.at = START + timedelta(days=60)
    before = len(await _fanout_kinds(ctx))
    # When both run  # Then every post is removed once, with one Delete each, and neither fails
    done = await asyncio.gather(*(RetentionWorker(ctx, now=clock, batch=4).run_once() for _ in range(2)))
    done += [await RetentionWorker(ctx, now=clock).run_once()]
    assert sum(done) == 6
    assert not any([await _exists(ctx, p.id) for p in made])
    assert (await _fanout_kinds(ctx))[before:] == ["Delete"] * 6


async def test_peers_copies_are_removed_here_only_and_direct_messages_by_their_own_rule(
    ctx: NodeContext, alice: Account, sam_at_sales: Account
) -> None:
    # Given a peer's post 11 days old and alice's direct message 8 days old
    copy = await _remote_post(ctx, sam_at_sales, "from sales")
    dm = await _post(ctx, alice, "@bob psst", Audience.DIRECT)
    fanouts = len(await _fanout_kinds(ctx))
    clock = Clock()
    clock.at = START + timedelta(days=8)
    # When the worker runs at 8 days  # Then the direct message went (retention.direct = 7), the copy stays
    assert await RetentionWorker(ctx, now=clock).run_once() == 1
    assert not await _exists(ctx, dm.id) and await _exists(ctx, copy.id)
    # When it runs at 11 days  # Then the copy is gone, with no activity queued for anyone
    clock.at = START + timedelta(days=11)
    after_dm = len(await _fanout_kinds(ctx))
    assert await RetentionWorker(ctx, now=clock).run_once() == 1
    assert not await _exists(ctx, copy.id)
    assert len(await _fanout_kinds(ctx)) == after_dm >= fanouts


async def test_a_held_account_s_posts_survive_retention_until_the_hold_is_released(
    ctx: NodeContext, alice: Account, bob: Account
) -> None:
    # Given alice is held under a case, and both alice and bob have expired posts
    await holds.place_hold(ctx, "Acme v. Widgets", "alice", "litigation", "@root")
    kept = await _post(ctx, alice, "evidence")
    gone = await _post(ctx, bob, "chatter")
    clock = Clock()
    clock.at = START + timedelta(days=90)
    # When the worker runs  # Then bob's post is gone, alice's stays, and explain says why
    assert await RetentionWorker(ctx, now=clock).run_once() == 1
    assert await _exists(ctx, kept.id) and not await _exists(ctx, gone.id)
    said = describe(await expiry(ctx, kept), clock())
    assert "retention.posts.public" in said and "expired" in said and "legal hold" in said
    # When the hold is released and the worker runs again  # Then alice's post goes too
    assert await holds.release_hold(ctx, "Acme v. Widgets", None, "@root") == ["alice"]
    assert await RetentionWorker(ctx, now=clock).run_once() == 1
    assert not await _exists(ctx, kept.id)


async def test_holds_are_audited_and_refuse_what_makes_no_sense(
    ctx: NodeContext, alice: Account, sam_at_sales: Account
) -> None:
    # Given alice held under one case
    await holds.place_hold(ctx, "case-1", "alice", "", "@root")
    # Then the same case again, a remote account, an unknown one and an empty release are refused
    with pytest.raises(Conflict, match="already held"):
        await holds.place_hold(ctx, "case-1", "alice", "", "@root")
    with pytest.raises(Exception, match="another node"):
        await holds.place_hold(ctx, "case-1", f"sam@{ORG_PEER}", "", "@root")
    with pytest.raises(NotFound, match="no account"):
        await holds.place_hold(ctx, "case-1", "nobody", "", "@root")
    with pytest.raises(NotFound, match="nothing to release"):
        await holds.release_hold(ctx, "case-2", None, "@root")
    # And a second case may hold the same account; releasing one keeps the other in force
    await holds.place_hold(ctx, "case-2", "alice", "", "@root")
    await holds.release_hold(ctx, "case-1", "alice", "@root")
    assert [(h.case_name, h.username) for h in await holds.list_holds(ctx)] == [("case-2", "alice")]
    async with ctx.db.reader() as s:
        assert await holds.is_held(s, alice.id)
        rules = list(await s.scalars(select(AuditEntry.rule).where(AuditEntry.direction == "admin")))
    assert rules == ["admin:place-hold", "admin:place-hold", "admin:release-hold"]


async def test_a_held_author_s_delete_hides_the_post_and_seals_it_with_its_history_and_media(
    ctx: NodeContext, alice: Account, bob: Account
) -> None:
    # Given alice, under hold, wrote a post with a picture and edited it once
    await holds.place_hold(ctx, "case-9", "alice", "", "@root")
    picture = await media.upload(ctx, alice, media.Upload(media_files.picture("PNG", (40, 30)), "chart.png"),
                                 description="the chart")
    post = await _post(ctx, alice, "first words #q3", media_ids=(picture.id,))
    await posts.edit_post(ctx, alice, post.id, "second words #q3 @bob")
    # When she deletes it
    await posts.delete_post(ctx, alice, post.id)
    # Then nobody reads it any more, and its Delete is queued for the peers
    with pytest.raises(NotFound):
        await posts.get_post(ctx, bob, post.id)
    assert not await _exists(ctx, post.id)
    assert (await _fanout_kinds(ctx))[-1] == "Delete"
    # And a sealed copy keeps it with its edit history, attachment, mentions and tags
    async with ctx.db.reader() as s:
        sealed = (await s.scalars(select(SealedPost))).one()
    snap = json.loads(sealed.snapshot)
    assert sealed.cause == "author-delete" and sealed.post_id == post.id
    assert "second words" in snap["post"]["source"]
    assert [e["source"] for e in snap["edits"]] == ["first words #q3"]
    assert snap["edits"][0]["media_ids"] == [picture.id]
    assert snap["mentions"] == ["bob@eng.acme.test"] and snap["tags"] == ["q3"]
    key = snap["media"][0]["store_key"]
    assert key and snap["media"][0]["description"] == "the chart"
    # When media prune runs with no age limit  # Then the sealed post's bytes stay in the store
    assert ctx.media is not None
    report = await prune(ctx, older_than=timedelta(0), now=datetime.now(UTC) + timedelta(days=1))
    assert key not in report.deleted_keys
    assert key in [k async for k in ctx.media.keys()]


async def test_an_unheld_author_s_delete_seals_nothing_and_prune_frees_the_bytes(
    ctx: NodeContext, alice: Account
) -> None:
    # Given alice (not held) posts a picture and deletes the post
    picture = await media.upload(ctx, alice, media.Upload(media_files.picture("PNG", (40, 30)), "x.png"))
    post = await _post(ctx, alice, "soon gone", media_ids=(picture.id,))
    await posts.delete_post(ctx, alice, post.id)
    # Then nothing is sealed, and prune removes the bytes
    async with ctx.db.reader() as s:
        assert (await s.scalars(select(SealedPost))).all() == []
    report = await prune(ctx, older_than=timedelta(0), now=datetime.now(UTC) + timedelta(days=1))
    assert picture.storage_key in report.deleted_keys


async def test_a_moderator_s_removal_of_a_held_post_is_sealed_as_the_moderator_s(
    ctx: NodeContext, alice: Account, make_account: MakeAccount
) -> None:
    mod = await make_account("mia", role="moderator")
    await holds.place_hold(ctx, "case-m", "alice", "", "@root")
    post = await _post(ctx, alice, "against the rules")
    await posts.delete_post(ctx, mod, post.id)
    async with ctx.db.reader() as s:
        assert (await s.scalars(select(SealedPost.cause))).all() == ["moderator"]
