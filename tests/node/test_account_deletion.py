"""Account deletion (node/account_deletion.py): what goes, what stays (the handle), what peers
are told (one actor `Delete` through the fan-out's exit), and what is refused (a held account,
a remote one, a second time)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from node import accounts, audit, follows, interactions, posts
from node.account_deletion import HELD, delete_account
from node.context import NodeContext
from node.key_destruction import GRACE, KeyDestruction
from node.posts import NewPost
from node.queues import DELIVER, FANOUT, Delivery
from storage.errors import Conflict, Invalid, NotFound
from storage.models import Account, Follow, Job, LegalHold, Like, Notification, Post, WebSession, utcnow
from tests.node.conftest import ORG_PEER, MakeAccount


async def _with_inbox(ctx: NodeContext, account: Account) -> Account:
    async with ctx.db.session() as s:
        row = await s.get(Account, account.id)
        assert row is not None
        row.inbox_uri = f"https://{account.domain}/users/{account.username}/inbox"
        row.shared_inbox_uri = f"https://{account.domain}/inbox"
        return row


async def _jobs(ctx: NodeContext, queue: str) -> list[Job]:
    async with ctx.db.reader() as s:
        return list(await s.scalars(select(Job).where(Job.queue == queue).order_by(Job.id)))


async def _count(ctx: NodeContext, model: type, *where: object) -> int:
    async with ctx.db.reader() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_deleting_an_account_removes_its_content_reserves_its_handle_and_tells_peers_once(
    ctx: NodeContext, alice: Account, bob: Account, sam_at_sales: Account
) -> None:
    # Given alice with two posts, a follower here (bob) and one on the sibling node (sam),
    # a like of bob's post and a session
    sam = await _with_inbox(ctx, sam_at_sales)
    for text in ("first", "second"):
        await posts.create_post(ctx, alice, NewPost(text, visibility="public"))
    bobs = await posts.create_post(ctx, bob, NewPost("bob's", visibility="public"))
    await follows.follow(ctx, bob, alice.id)
    async with ctx.db.session() as s:
        s.add(Follow(follower_id=sam.id, target_id=alice.id, state="accepted", created_at=utcnow()))
        s.add(WebSession(token_hash="x" * 64, account_id=alice.id, csrf_token="c", expires_at=utcnow()))
    await interactions.like(ctx, alice, bobs.id)
    fanouts_before = len(await _jobs(ctx, FANOUT))

    # When an admin deletes alice
    done = await delete_account(ctx, alice.id, by="cli", reason="left the company")

    # Then her posts, follows, likes, notifications and sessions are gone
    assert (done.username, done.posts_removed, done.peers_told) == ("alice", 2, 1)
    assert await _count(ctx, Post, Post.account_id == alice.id) == 0
    assert await _count(ctx, Follow, (Follow.follower_id == alice.id) | (Follow.target_id == alice.id)) == 0
    assert await _count(ctx, Like, Like.account_id == alice.id) == 0
    assert await _count(ctx, Notification, Notification.from_account_id == alice.id) == 0
    assert await _count(ctx, WebSession, WebSession.account_id == alice.id) == 0
    async with ctx.db.reader() as s:
        assert (await s.get(Post, bobs.id)).likes_count == 0  # type: ignore[union-attr]
        row = await s.get(Account, alice.id)
    # And the row stays, emptied and marked, so the handle stays taken
    assert row is not None and row.deleted_at is not None and row.password_hash is None
    assert (row.display_name, row.bio, row.disabled) == ("", "", True)
    assert row.credentials_version == alice.credentials_version + 1
    with pytest.raises(Conflict, match="belonged to a deleted account and cannot be reused"):
        await accounts.create_user(ctx, "Alice", "a fine password")
    with pytest.raises(NotFound):
        await accounts.ensure_keys(ctx, alice.id)  # no key is ever made again
    # And sam's node gets one actor Delete, signed as alice; no per-post Delete is queued
    deliveries = [Delivery.from_json(j.payload) for j in await _jobs(ctx, DELIVER)]
    deletes = [d for d in deliveries if json.loads(d.body)["type"] == "Delete"]
    assert [(d.domain, d.signer, json.loads(d.body)["object"]) for d in deletes] == [
        (ORG_PEER, alice.id, ctx.actor_uri("alice"))
    ]
    assert len(await _jobs(ctx, FANOUT)) == fanouts_before
    # And it is in the audit trail, with who asked
    admin = [e async for e in audit.entries(ctx.db) if e.rule == "account:deleted"]
    assert [(e.object, e.reason.split(" (")[0]) for e in admin] == [("accounts/alice", "by cli: left the company")]


async def test_the_nodes_of_what_it_boosted_and_liked_are_told(
    ctx: NodeContext, carol: Account, sam_at_sales: Account
) -> None:
    # Given carol, followed by nobody, who boosted one post of sam's (sibling node) and liked another
    sam = await _with_inbox(ctx, sam_at_sales)
    async with ctx.db.session() as s:
        boosted, liked = (Post(account_id=sam.id, local=False, uri=f"{sam.actor_uri}/statuses/{n}", visibility="public",
                               content_html="<p>sam's</p>") for n in (1, 2))
        s.add_all([boosted, liked])
    await interactions.boost(ctx, carol, boosted.id)
    await interactions.like(ctx, carol, liked.id)
    async with ctx.db.session() as s:  # what the boost and like queued is sent already
        await s.execute(update(Job).values(status="done"))
    # When carol is deleted
    done = await delete_account(ctx, carol.id, by="cli")
    # Then sam's node is told, once, and sam's posts lost her boost and like
    assert (done.posts_removed, done.peers_told) == (0, 1)
    pending = [Delivery.from_json(j.payload) for j in await _jobs(ctx, DELIVER) if j.status == "pending"]
    assert [(d.domain, json.loads(d.body)["type"]) for d in pending] == [(ORG_PEER, "Delete")]
    async with ctx.db.reader() as s:
        assert [(p.boosts_count, p.likes_count) for p in (await s.get(Post, boosted.id), await s.get(Post, liked.id))] \
            == [(0, 0), (0, 0)]  # type: ignore[union-attr]


async def test_deleting_twice_is_a_no_op(ctx: NodeContext, alice: Account) -> None:
    # Given alice, deleted
    await delete_account(ctx, alice.id, by="cli")
    # When she is deleted again
    again = await delete_account(ctx, alice.id, by="cli")
    # Then nothing more happens: the same kind of outcome, one audit entry
    assert (again.username, again.posts_removed, again.peers_told) == ("alice", 0, 0)
    assert len([e async for e in audit.entries(ctx.db) if e.rule == "account:deleted"]) == 1


async def test_an_account_under_legal_hold_is_not_deleted(ctx: NodeContext, alice: Account) -> None:
    # Given alice under a legal hold, with a post
    await posts.create_post(ctx, alice, NewPost("evidence", visibility="public"))
    async with ctx.db.session() as s:
        s.add(LegalHold(case_name="acme-v-doe", account_id=alice.id, reason="", created_by="root", created_at=utcnow()))
    # When someone deletes her account
    with pytest.raises(Conflict) as refused:
        await delete_account(ctx, alice.id, by="cli")
    # Then it is refused without naming the case, and nothing changed
    assert refused.value.reason == HELD
    async with ctx.db.reader() as s:
        row = await s.get(Account, alice.id)
    assert row is not None and row.deleted_at is None and row.password_hash is not None
    assert await _count(ctx, Post, Post.account_id == alice.id) == 1


async def test_a_remote_account_is_not_deleted_here(ctx: NodeContext, sam_at_sales: Account) -> None:
    # Given sam, an account of the sibling node; When deletion is asked; Then it is refused
    with pytest.raises(Invalid, match="only its own node deletes it"):
        await delete_account(ctx, sam_at_sales.id, by="cli")
    with pytest.raises(NotFound):
        await delete_account(ctx, 12345, by="cli")


async def test_a_deleted_account_cannot_be_enabled_or_given_a_password(ctx: NodeContext, make_account: MakeAccount) -> None:
    # Given carol, deleted
    carol = await make_account("carol")
    await delete_account(ctx, carol.id, by="cli")
    # When an admin tries to bring her back; Then it is refused
    with pytest.raises(Conflict, match="was deleted"):
        await accounts.enable(ctx, "carol")
    with pytest.raises(Conflict, match="was deleted"):
        await accounts.set_password(ctx, "carol", "another password")


@pytest.fixture
async def deleted_alice(ctx: NodeContext, alice: Account, sam_at_sales: Account) -> Account:
    """alice, with keys and a follower on the sibling node, deleted: her Delete queued to sam's node."""
    await accounts.ensure_keys(ctx, alice.id)
    sam = await _with_inbox(ctx, sam_at_sales)
    async with ctx.db.session() as s:
        s.add(Follow(follower_id=sam.id, target_id=alice.id, state="accepted", created_at=utcnow()))
    await delete_account(ctx, alice.id, by="cli")
    return alice


async def test_the_keys_of_a_deleted_account_go_once_its_deliveries_are_done(
    ctx: NodeContext, deleted_alice: Account
) -> None:
    # Given alice deleted, her Delete still queued, and the key-destruction loop
    worker = KeyDestruction(ctx.db)

    async def key() -> str | None:
        async with ctx.db.reader() as s:
            return await s.scalar(select(Account.private_key_pem).where(Account.id == deleted_alice.id))

    # When the worker steps while the Delete is still pending; Then the key stays
    assert await worker.run_once() == []
    assert await key() is not None
    # When the delivery has finished; Then the next step destroys the key
    async with ctx.db.session() as s:
        await s.execute(update(Job).where(Job.queue == DELIVER).values(status="done"))
    assert await worker.run_once() == [deleted_alice.id]
    assert await key() is None
    assert await worker.run_once() == []


async def test_a_delivery_that_never_finishes_keeps_the_key_only_for_the_grace(
    ctx: NodeContext, deleted_alice: Account
) -> None:
    # Given alice deleted, her Delete to a peer that never answers (pending for ever)
    clock = [utcnow()]
    worker = KeyDestruction(ctx.db, now=lambda: clock[0])
    assert await worker.run_once() == []
    # When the grace has passed; Then the key is destroyed all the same
    clock[0] += GRACE + timedelta(minutes=1)
    assert await worker.run_once() == [deleted_alice.id]
