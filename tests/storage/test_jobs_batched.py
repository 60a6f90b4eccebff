"""The batched forms the workers use on their hot paths: several jobs marked done in one
transaction (fenced by lease token as one by one), and ordering checks for several jobs in
one query, answering exactly what `earlier_unfinished` answers for each."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from storage import jobs
from storage.db import Database
from storage.models import Job


async def _status(db: Database, job_id: int) -> str:
    async with db.reader() as s:
        job = await s.get(Job, job_id)
    assert job is not None
    return job.status


async def test_complete_many_marks_held_jobs_done_and_leaves_a_lost_lease_alone(db: Database) -> None:
    # Given three claimed jobs, the third's lease lost to another worker (claimed again)
    ids = [await jobs.enqueue(db, "q", b"%d" % i) for i in range(3)]
    claimed = await jobs.claim(db, "q", limit=3, lease=timedelta(milliseconds=1))
    assert {c.id for c in claimed} == set(ids)
    stale = next(c for c in claimed if c.id == ids[2])
    await asyncio.sleep(0.01)
    again = await jobs.claim(db, "q", limit=3)  # every lease ran out: all three are claimed anew
    fresh = [c for c in again if c.id != ids[2]]
    # When the first two (current holder) and the stale third are completed together
    await jobs.complete_many(db, [*fresh, stale])
    # Then the first two are done, and the third still belongs to its new holder
    assert [await _status(db, i) for i in ids] == ["done", "done", "running"]


async def test_ordering_checks_in_one_query_match_the_single_check(db: Database) -> None:
    # Given two jobs on key A (the first still pending), one on key B, one on key C already done
    a1 = await jobs.enqueue(db, "deliver", b"a1", ordering_key="A")
    a2 = await jobs.enqueue(db, "deliver", b"a2", ordering_key="A")
    b1 = await jobs.enqueue(db, "deliver", b"b1", ordering_key="B")
    c1 = await jobs.enqueue(db, "deliver", b"c1", ordering_key="C")
    c2 = await jobs.enqueue(db, "deliver", b"c2", ordering_key="C")
    claimed = await jobs.claim(db, "deliver", limit=5)
    await jobs.complete(db, next(c for c in claimed if c.id == c1))
    asked = [(a1, "A"), (a2, "A"), (b1, "B"), (c2, "C")]
    # When asked together, then each answer is what the one-by-one check says
    many = await jobs.earlier_unfinished_many(db, asked)
    assert many == [await jobs.earlier_unfinished(db, i, k) for i, k in asked]
    assert many == [False, True, False, False]


async def test_a_capped_claim_fills_the_pool_without_letting_one_target_take_it(db: Database) -> None:
    # Given 10 due jobs for peer A, 3 for peer B (2 of B's already in flight), 2 without a target
    for i in range(10):
        await jobs.enqueue(db, "deliver", b"a%d" % i, target="a.example")
    for i in range(3):
        await jobs.enqueue(db, "deliver", b"b%d" % i, target="b.example")
    for i in range(2):
        await jobs.enqueue(db, "deliver", b"n%d" % i)
    # When one claim asks for 10 with at most 4 in flight per target
    claimed = await jobs.claim(db, "deliver", limit=10, per_target=4, in_flight={"b.example": 2})
    # Then A gets 4, B the 2 left of its cap, and the untargeted jobs come along: oldest first each
    by_target: dict[str | None, list[bytes]] = {}
    for c in claimed:
        by_target.setdefault(c.target, []).append(c.payload)
    assert by_target == {"a.example": [b"a0", b"a1", b"a2", b"a3"], "b.example": [b"b0", b"b1"], None: [b"n0", b"n1"]}
    # And the next claim, with those in flight, takes only what the caps still allow
    again = await jobs.claim(db, "deliver", limit=10, per_target=4, in_flight={"a.example": 4, "b.example": 4},
                             exclude_targets=["a.example", "b.example"])
    assert again == []


async def test_each_target_in_flight_gets_what_its_cap_leaves_and_the_statement_is_built_once(db: Database) -> None:
    # Given 5 due jobs for each of four peers
    for peer in "abcd":
        for i in range(5):
            await jobs.enqueue(db, "deliver", f"{peer}{i}".encode(), target=f"{peer}.example")
    # And a claim already made, so its statement's shape is built
    await jobs.claim(db, "deliver", limit=1, per_target=4, in_flight={"z.example": 1})
    built = jobs._claim_template.cache_info().misses
    # When a claim is made with a, b and c holding 1, 3 and 2 jobs in flight (d none)
    claimed = await jobs.claim(db, "deliver", limit=20, per_target=4,
                               in_flight={"a.example": 1, "b.example": 3, "c.example": 2})
    # Then each peer gets what its cap leaves: 3, 1, 2 and 4
    per_peer: dict[str | None, int] = {}
    for c in claimed:
        per_peer[c.target] = per_peer.get(c.target, 0) + 1
    assert per_peer == {"a.example": 3, "b.example": 1, "c.example": 2, "d.example": 4}
    # And the statement was not built again for another set of counts (before: once per set)
    assert jobs._claim_template.cache_info().misses == built
