"""The audit trail: chained entries, tamper evidence, retention, and what fan-out records."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select, update

from node import audit, posts
from node.outbox import handle_fanout
from node.policy import ContentRule, PeerRule, Policy
from node.posts import NewPost
from node.workers import JobWorker
from storage.db import Database
from storage.models import Account, AuditEntry, Follow, Job, utcnow
from tests.factory import node_context


async def write(db: Database, n: int) -> None:
    for i in range(n):
        await audit.record_now(db, direction="out", peer="partner.test", obj=f"https://x/{i}",
                               decision="refused", rule="r", reason="because")


async def test_entries_chain_and_verify(db: Database) -> None:
    await write(db, 5)
    check = await audit.verify(db)
    assert check.ok and check.checked == 5
    rows = [e async for e in audit.entries(db)]
    assert [e.id for e in rows] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))


async def test_single_and_batched_appends_in_one_transaction_keep_one_chain(db: Database) -> None:
    # Given one transaction that appends one entry, then three at once, then one more, then
    # starts a batch (whose units of work are savepoints of one session) that does it again
    async with db.session() as s:
        await audit.record(s, direction="in", peer="a.test", obj="https://a.test/1", decision="accepted", rule="r")
        await audit.record_many(s, [audit.Decision("in", "a.test", f"https://a.test/{i}", "accepted", "r")
                                    for i in (2, 3, 4)])
        await audit.record(s, direction="out", peer="a.test", obj="https://a.test/5", decision="delivered", rule="r")
    async with db.batch():
        async with db.session() as s:
            await audit.record_many(s, [audit.Decision("in", "b.test", "https://b.test/6", "accepted", "r")])
        async with db.session() as s:
            await audit.record(s, direction="in", peer="b.test", obj="https://b.test/7", decision="accepted", rule="r")
    # When the trail is verified  # Then every append took the head the one before it left
    check = await audit.verify(db)
    assert check.ok and check.checked == 7, check
    rows = [e async for e in audit.entries(db)]
    assert [e.object.rsplit("/", 1)[1] for e in rows] == ["1", "2", "3", "4", "5", "6", "7"]
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))


async def test_an_altered_entry_is_detected(db: Database) -> None:
    await write(db, 4)
    async with db.session() as s:
        await s.execute(update(AuditEntry).where(AuditEntry.id == 2).values(decision="delivered"))
    check = await audit.verify(db)
    assert not check.ok and check.broken_at == 2


async def test_a_removed_entry_is_detected(db: Database) -> None:
    await write(db, 4)
    async with db.session() as s:
        await s.delete(await s.get(AuditEntry, 3))
    check = await audit.verify(db)
    assert not check.ok and check.broken_at == 4


async def test_removing_the_newest_entries_is_detected(db: Database) -> None:
    await write(db, 3)
    async with db.session() as s:
        await s.delete(await s.get(AuditEntry, 3))
    assert not (await audit.verify(db)).ok


async def test_retention_keeps_the_rest_verifiable(db: Database) -> None:
    await write(db, 4)
    async with db.session() as s:
        await s.execute(update(AuditEntry).where(AuditEntry.id <= 2).values(at=utcnow() - timedelta(days=400)))
    # the altered timestamps break those two entries' hashes, but retention removes exactly them
    assert await audit.purge_older_than(db, 365) == 2
    check = await audit.verify(db)
    assert check.ok and check.checked == 2


async def test_fanout_records_what_the_policy_refused(db: Database) -> None:
    # Given a node whose policy keeps confidential text from partners, and followers on two peers
    policy = Policy(
        peers=(PeerRule("sales.acme.test", "organization"), PeerRule("partner.test", "partner")),
        rules=(ContentRule("confidential", "(?i)confidential", "organization"),),
    )
    ctx = node_context(db, "eng.acme.test", policy=policy)
    async with db.session() as s:
        alice = Account(username="alice", domain=None)
        sam = Account(username="sam", domain="sales.acme.test", actor_uri="https://sales.acme.test/users/sam",
                      inbox_uri="https://sales.acme.test/users/sam/inbox", shared_inbox_uri="https://sales.acme.test/inbox")
        pat = Account(username="pat", domain="partner.test", actor_uri="https://partner.test/users/pat",
                      inbox_uri="https://partner.test/users/pat/inbox")
        s.add_all([alice, sam, pat])
        await s.flush()
        s.add_all([Follow(follower_id=sam.id, target_id=alice.id, state="accepted"),
                   Follow(follower_id=pat.id, target_id=alice.id, state="accepted")])
    # When alice posts something confidential publicly
    post = await posts.create_post(ctx, alice, NewPost("The confidential roadmap"))
    await JobWorker(db, {"fanout": lambda job: handle_fanout(ctx, job)}).run_once()
    # Then only sales gets a delivery, and the refusal for partner is on the record with its rule
    async with db.reader() as s:
        targets = [json.loads(j.payload)["domain"] for j in (await s.scalars(select(Job).where(Job.queue == "deliver"))).all()]
    assert targets == ["sales.acme.test"]
    recorded = [(e.direction, e.peer, e.object, e.decision, e.rule) async for e in audit.entries(db)]
    assert recorded == [("out", "partner.test", post.uri, "refused", 'rules."confidential"')]
