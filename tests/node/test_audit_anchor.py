"""The audit trail's anchor (docs/compliance.md, "The audit trail"): the head hash, printed and
kept elsewhere, is later checked against the chain, so a database rewritten whole — every hash
recomputed around a changed entry — is detected; retention keeps verification working."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from node import audit
from node.workers import MaintenanceWorker
from storage.db import Database
from storage.models import AuditEntry, AuditHead, utcnow


async def write(db: Database, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        await audit.record_now(db, direction="out", peer="partner.test", obj=f"https://x/{i}",
                               decision="refused", rule="r", reason="because")


async def rewrite_whole_chain(db: Database, entry_id: int, **changes: str) -> None:
    """What someone able to write the whole database could do: change one entry and recompute
    every hash from it on, and the head, so that the chain alone verifies."""
    async with db.session() as s:
        rows = list(await s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        prev = audit.GENESIS
        for e in rows:
            if e.id == entry_id:
                for k, v in changes.items():
                    setattr(e, k, v)
            e.prev_hash = prev
            e.hash = audit._digest(prev, e.id, e.at, e.direction, e.peer, e.object, e.decision, e.rule, e.reason)
            prev = e.hash
        head = await s.get(AuditHead, 1)
        assert head is not None
        head.last_hash = prev


async def test_the_anchor_is_the_head_and_verifies(db: Database) -> None:
    # Given a trail of 5 entries
    await write(db, 5)
    # When the head is anchored
    head = await audit.anchor(db)
    # Then it names the newest entry, its hash and time
    newest = [e async for e in audit.entries(db)][-1]
    assert (head.entry, head.hash, head.at) == (5, newest.hash, newest.at)
    # and the chain verifies with it, also once more entries follow
    await write(db, 3, start=5)
    check = await audit.verify(db, anchor=head.hash)
    assert check.ok and check.checked == 8 and check.anchored_at == 5


async def test_a_rewritten_chain_verifies_alone_but_not_with_its_anchor(db: Database) -> None:
    # Given an anchored trail
    await write(db, 6)
    head = await audit.anchor(db)
    # When entry 2 is changed and every hash recomputed after it
    await rewrite_whole_chain(db, 2, decision="delivered")
    # Then the chain alone still verifies (what the anchor is for)
    assert (await audit.verify(db)).ok
    # but not with the anchor
    check = await audit.verify(db, anchor=head.hash)
    assert not check.ok and "rewritten" in check.reason
    # and an anchor that never was fails alike
    assert not (await audit.verify(db, anchor="0" * 63 + "1")).ok


async def test_retention_keeps_the_chain_and_a_recent_anchor_verifiable(db: Database) -> None:
    # Given 6 entries, anchored after the 3rd, of which the first 3 get old
    await write(db, 3)
    third = await audit.anchor(db)
    await write(db, 3, start=3)
    async with db.session() as s:
        await s.execute(update(AuditEntry).where(AuditEntry.id <= 2).values(at=utcnow() - timedelta(days=400)))
    # When retention of 365 days runs (the default keeps everything; this node chose a limit)
    assert MaintenanceWorker(db).audit_retention_days == 0
    assert await MaintenanceWorker(db, audit_retention_days=365).run_once() >= 2
    # Then the rest verifies, with the anchor still inside what is kept
    check = await audit.verify(db, anchor=third.hash)
    assert check.ok and check.checked == 4 and check.anchored_at == 3
    # and the hash of the last removed entry still links the kept chain
    first_kept = [e async for e in audit.entries(db)][0]
    assert (await audit.verify(db, anchor=first_kept.prev_hash)).anchored_at == 2


async def test_retention_never_removes_the_newest_entry(db: Database) -> None:
    # Given a trail whose every entry is old
    await write(db, 3)
    async with db.session() as s:
        await s.execute(update(AuditEntry).values(at=utcnow() - timedelta(days=400)))
    # When retention runs
    assert await audit.purge_older_than(db, 30) == 2
    # Then the newest stays: the anchor still names an entry with its time
    head = await audit.anchor(db)
    assert head.entry == 3 and head.at is not None


async def test_an_empty_trail_anchors_to_the_genesis(db: Database) -> None:
    head = await audit.anchor(db)
    assert (head.entry, head.hash, head.at) == (0, audit.GENESIS, None)
