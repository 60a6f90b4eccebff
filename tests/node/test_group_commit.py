"""Group commit (node.group_commit) and the batched inbox log (node.inbox_log): many callers
share one transaction, each hears its own outcome only after its batch committed, a failed
batch fails exactly its callers, and dedupe holds within a batch, against the log and
between two writers racing the same activity."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select

from node import audit, inbox_log
from node.group_commit import BatchAbandoned, GroupCommit
from storage.db import Database
from storage.models import InboxEntry, Job


class Recorder:
    """A write_batch that records each batch and can be told to fail or to hang."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.fail_next = False
        self.gate: asyncio.Event | None = None
        self.hang_on: int | None = None  # a batch led by this item never finishes

    async def __call__(self, items: list[int]) -> list[int]:
        if self.gate is not None:
            await self.gate.wait()
        if items[0] == self.hang_on:
            await asyncio.Event().wait()
        await asyncio.sleep(0)  # a real write yields to the loop while others queue up
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("the database went away")
        self.batches.append(items)
        return [i * 10 for i in items]


async def test_concurrent_callers_share_batches_and_each_gets_its_own_result() -> None:
    # Given a group commit over a recorder
    rec = Recorder()
    gc: GroupCommit[int, int] = GroupCommit(rec)
    # When 50 callers submit at once
    results = await asyncio.gather(*(gc.submit(i) for i in range(50)))
    # Then each got the result for its own item, and far fewer batches than callers were written
    assert results == [i * 10 for i in range(50)]
    assert sorted(i for b in rec.batches for i in b) == list(range(50))
    assert len(rec.batches) < 10 and gc.batches == len(rec.batches)


async def test_batches_stay_within_the_maximum() -> None:
    rec = Recorder()
    gc: GroupCommit[int, int] = GroupCommit(rec, max_batch=7)
    assert await asyncio.gather(*(gc.submit(i) for i in range(30))) == [i * 10 for i in range(30)]
    assert max(len(b) for b in rec.batches) <= 7 and sum(len(b) for b in rec.batches) == 30


async def test_a_failed_batch_fails_its_callers_and_the_next_batch_still_goes() -> None:
    # Given a write that will fail once, while the first caller's batch is held back
    rec = Recorder()
    rec.gate = asyncio.Event()
    gc: GroupCommit[int, int] = GroupCommit(rec)
    first = asyncio.create_task(gc.submit(1))
    await asyncio.sleep(0)
    queued = [asyncio.create_task(gc.submit(i)) for i in (2, 3)]
    await asyncio.sleep(0)
    rec.fail_next = True
    rec.gate.set()
    # When the first batch fails
    # Then its caller sees the error, and the callers queued behind it are written in the next batch
    with pytest.raises(RuntimeError):
        await first
    assert await asyncio.gather(*queued) == [20, 30]
    assert rec.batches == [[2, 3]]
    # And a later caller is unaffected
    assert await gc.submit(4) == 40


async def test_a_leader_that_goes_away_fails_its_batch_and_hands_on_the_lead() -> None:
    # Given a leader stuck in its write, with one caller in its batch... and none queued yet
    rec = Recorder()
    rec.gate = asyncio.Event()
    gc: GroupCommit[int, int] = GroupCommit(rec)
    leader = asyncio.create_task(gc.submit(1))
    await asyncio.sleep(0)
    behind = asyncio.create_task(gc.submit(2))
    await asyncio.sleep(0)
    # When the leader is cancelled (its client went away)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    rec.gate.set()
    # Then the caller behind it became the next leader and wrote its own item
    assert await behind == 20
    assert rec.batches == [[2]]


async def test_callers_in_the_batch_of_a_leader_that_goes_away_hear_so() -> None:
    # Given 1 writing, 2 and 3 queued behind it; 2 will lead the next batch (with 3) and hang
    rec = Recorder()
    rec.gate, rec.hang_on = asyncio.Event(), 2
    gc: GroupCommit[int, int] = GroupCommit(rec)
    first = asyncio.create_task(gc.submit(1))
    await asyncio.sleep(0)
    second, third = asyncio.create_task(gc.submit(2)), asyncio.create_task(gc.submit(3))
    await asyncio.sleep(0)
    rec.gate.set()
    assert await first == 10
    await asyncio.sleep(0.01)
    # When the second caller, now leading [2, 3], is cancelled mid-write
    second.cancel()
    # Then the third hears that its write was abandoned (a 503, never a false 202)
    with pytest.raises(BatchAbandoned):
        await third
    # And the next caller leads a batch of its own
    rec.hang_on = None
    assert await gc.submit(4) == 40


async def test_a_caller_cancelled_while_waiting_is_dropped_and_nobody_hangs() -> None:
    rec = Recorder()
    rec.gate = asyncio.Event()
    gc: GroupCommit[int, int] = GroupCommit(rec)
    leader = asyncio.create_task(gc.submit(1))
    await asyncio.sleep(0)
    gone, stays = asyncio.create_task(gc.submit(2)), asyncio.create_task(gc.submit(3))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.sleep(0)
    rec.gate.set()
    assert await leader == 10 and await stays == 30
    assert [i for b in rec.batches for i in b] == [1, 3]


def _accepted(n: int, origin: str = "https://peer.example") -> inbox_log.Accepted:
    actor = f"{origin}/users/a"
    return inbox_log.Accepted(origin=origin, activity_id=f"{actor}/activities/{n}", type="Create", actor=actor,
                              raw={"id": f"{actor}/activities/{n}", "type": "Create"}, peer="peer.example",
                              rule="default_trust", reason="Create from a peer trusted as public")


async def _counts(db: Database) -> tuple[int, int, int]:
    async with db.reader() as s:
        entries = await s.scalar(select(func.count()).select_from(InboxEntry))
        jobs = await s.scalar(select(func.count()).select_from(Job).where(Job.queue == inbox_log.INBOX))
    audited = len([e async for e in audit.entries(db, decision="accepted")])
    return int(entries or 0), int(jobs or 0), audited


async def test_a_batch_logs_audits_and_queues_each_new_activity_once(db: Database) -> None:
    # Given activity 1 already logged
    assert await inbox_log.write(db, [_accepted(1)]) == ["queued"]
    # When a batch holds activity 1 again, activity 2 twice and the same id from another origin
    other = _accepted(2, origin="https://other.example")
    outcomes = await inbox_log.write(db, [_accepted(1), _accepted(2), _accepted(2), other])
    # Then only the new ones are queued, each with one log row, one audit entry and one job
    assert outcomes == ["duplicate", "queued", "duplicate", "queued"]
    assert await _counts(db) == (3, 3, 3)
    async with db.reader() as s:
        payloads = [json.loads(p) for p in await s.scalars(select(Job.payload).order_by(Job.id))]
    assert [p["activity"]["id"] for p in payloads] == [_accepted(1).activity_id, _accepted(2).activity_id,
                                                       other.activity_id]
    # And the audit chain stays whole
    assert (await audit.verify(db)).ok


async def test_two_writers_racing_the_same_activity_queue_it_once(database_url: str) -> None:
    # Given two database handles, as two web processes of one node have
    first, second = Database(database_url), Database(database_url)
    try:
        # When both log the same activity at the same moment (with a fresh one beside it)
        results = await asyncio.gather(inbox_log.write(first, [_accepted(7), _accepted(8)]),
                                       inbox_log.write(second, [_accepted(7), _accepted(9)]))
        # Then it is queued by exactly one of them, and the others' items are not lost
        assert sorted(r[0] for r in results) == ["duplicate", "queued"]
        assert [r[1] for r in results] == ["queued", "queued"]
        assert await _counts(first) == (3, 3, 3)
    finally:
        await first.dispose()
        await second.dispose()
