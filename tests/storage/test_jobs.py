"""The durable job queue: leases are exclusive, expired leases are re-claimed, stale holders
are fenced off by their lease token; on both engines, within one process and across several."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from multiprocessing.pool import Pool
from typing import Any

import pytest
from sqlalchemy import select

from storage import jobs
from storage.db import Database
from storage.models import Job, utcnow
from tests.storage import claimer_proc

# Short enough to keep the suite fast; a check that must happen "before" it runs right after
# the call that starts it, so only a stall of this length could make it flaky.
# Long enough that a loaded CI machine cannot stall past it between two statements.
SHORT = timedelta(seconds=1.0)


async def _outlive(period: timedelta) -> None:
    """Sleep until `period`, started just before this call, is surely over."""
    await asyncio.sleep(period.total_seconds() + 0.05)


async def _row(db: Database, job_id: int) -> Job:
    async with db.reader() as s:
        job = await s.get(Job, job_id)
    assert job is not None
    return job


async def test_claim_leases_a_job_exclusively_until_completed(db: Database) -> None:
    # Given one enqueued job
    job_id = await jobs.enqueue(db, "q", b"hello")
    assert await jobs.counts(db, "q") == {"pending": 1}
    # When it is claimed
    [job] = await jobs.claim(db, "q")
    # Then it comes back with its payload, its first attempt and a lease
    assert (job.id, job.queue, job.payload, job.attempts) == (job_id, "q", b"hello", 1)
    assert job.lease_until > utcnow()
    assert await jobs.counts(db, "q") == {"running": 1}
    # And nobody else gets it while the lease lasts
    assert await jobs.claim(db, "q", limit=10) == []
    # When it is completed, Then it is done, and completing it twice is refused
    assert await jobs.complete(db, job) is True
    assert await jobs.counts(db, "q") == {"done": 1}
    assert await jobs.complete(db, job) is False
    assert await jobs.claim(db, "q") == []


async def test_due_jobs_are_claimed_oldest_first_per_queue_within_the_limit(db: Database) -> None:
    now = utcnow()
    # Given jobs whose id order differs from their run_at order, a job not due for an hour,
    # and a job in another queue
    a = await jobs.enqueue(db, "q", b"a", run_at=now - timedelta(seconds=1))
    b = await jobs.enqueue(db, "q", b"b", run_at=now - timedelta(seconds=2))
    c = await jobs.enqueue(db, "q", b"c", run_at=now - timedelta(seconds=3))
    await jobs.enqueue(db, "q", b"later", run_at=now + timedelta(hours=1))
    other = await jobs.enqueue(db, "other", b"o", run_at=now - timedelta(seconds=9))
    # When two are claimed, Then they are the two oldest by run_at, in that order
    assert [j.id for j in await jobs.claim(db, "q", limit=2)] == [c, b]
    assert await jobs.counts(db, "q") == {"running": 2, "pending": 2}
    # And the rest of this queue holds only one due job; the future one is left alone
    assert [j.id for j in await jobs.claim(db, "q", limit=10)] == [a]
    assert await jobs.claim(db, "q", limit=10) == []
    # And the other queue's job was never touched
    assert await jobs.counts(db, "other") == {"pending": 1}
    assert await jobs.counts(db, "q") == {"running": 3, "pending": 1}
    assert [j.id for j in await jobs.claim(db, "other")] == [other]
    # When a job is enqueued to run shortly, Then it waits until it is due
    soon = await jobs.enqueue(db, "q", b"soon", run_at=utcnow() + SHORT)
    assert await jobs.claim(db, "q") == []
    await _outlive(SHORT)
    assert [j.id for j in await jobs.claim(db, "q", limit=10)] == [soon]


async def test_jobs_enqueued_together_keep_each_its_own_placement(db: Database) -> None:
    # Given three jobs written in one multi-row insert (as a fan-out writes its deliveries):
    # one due now for a target with an ordering key, one due in an hour, one with no placement
    async with db.session() as s:
        now_id, later_id, bare_id = await jobs.enqueue_many_in(s, "q", [b"now", b"later", b"bare"], [
            {"ordering_key": "post-1 inbox-a", "target": "a.example"},
            {"run_at": utcnow() + timedelta(hours=1), "target": "b.example"},
            {},
        ])
    # When the due ones are claimed, Then each carries its own target and ordering key
    claimed = {j.id: j for j in await jobs.claim(db, "q", limit=10)}
    assert set(claimed) == {now_id, bare_id}
    assert (claimed[now_id].target, claimed[now_id].ordering_key) == ("a.example", "post-1 inbox-a")
    assert (claimed[bare_id].target, claimed[bare_id].ordering_key) == (None, None)
    # And the one placed an hour ahead waits, for its own target
    later = await _row(db, later_id)
    assert (later.status, later.target) == ("pending", "b.example")
    # And a placement list that does not match the payloads is refused, writing nothing
    async with db.session() as s:
        with pytest.raises(ValueError):
            await jobs.enqueue_many_in(s, "q", [b"x", b"y"], [{}])
    assert await jobs.counts(db, "q") == {"running": 2, "pending": 1}


async def test_an_expired_lease_is_claimed_again_and_the_old_holder_is_fenced(db: Database) -> None:
    # Given a job claimed with a short lease by a worker that then dies
    job_id = await jobs.enqueue(db, "q", b"x")
    [first] = await jobs.claim(db, "q", lease=SHORT)
    assert await jobs.claim(db, "q") == []
    # When the lease has expired
    await _outlive(SHORT)
    # Then another claim gets it again, as a second attempt under a new token
    [second] = await jobs.claim(db, "q")
    assert (second.id, second.attempts) == (job_id, 2)
    assert second.lease_token != first.lease_token
    # And the first holder can no longer complete, extend, retry or fail it
    assert await jobs.complete(db, first) is False
    assert await jobs.extend(db, first) is False
    assert await jobs.retry_at(db, first, utcnow(), "late") is False
    assert await jobs.fail(db, first, "late") is False
    assert await jobs.counts(db, "q") == {"running": 1}
    # While the new holder's completion counts
    assert await jobs.complete(db, second) is True
    assert await jobs.counts(db, "q") == {"done": 1}


async def test_retry_at_reschedules_and_fail_is_final(db: Database) -> None:
    # Given a claimed job
    job_id = await jobs.enqueue(db, "q", b"x")
    [job] = await jobs.claim(db, "q")
    # When it is retried at a later time with an error
    assert await jobs.retry_at(db, job, utcnow() + SHORT, "peer down") is True
    # Then it is not claimable before that time, and is pending with the error kept
    assert await jobs.claim(db, "q") == []
    row = await _row(db, job_id)
    assert (row.status, row.last_error, row.lease_token) == ("pending", "peer down", None)
    # And the retried-away lease is spent
    assert await jobs.complete(db, job) is False
    # When it is due, Then it is claimed again as a second attempt
    await _outlive(SHORT)
    [again] = await jobs.claim(db, "q", lease=SHORT)
    assert (again.id, again.attempts) == (job_id, 2)
    assert (await _row(db, job_id)).last_error == "peer down"
    # When it is failed
    assert await jobs.fail(db, again, "gone for good") is True
    # Then it is failed with the reason, and never claimed again, not even after its lease
    await _outlive(SHORT)
    assert await jobs.claim(db, "q") == []
    row = await _row(db, job_id)
    assert (row.status, row.last_error, row.attempts) == ("failed", "gone for good", 2)
    assert await jobs.counts(db, "q") == {"failed": 1}


async def test_extend_keeps_a_lease_and_purge_removes_old_done_jobs(db: Database) -> None:
    # Given a job claimed with a short lease that is then extended
    await jobs.enqueue(db, "q", b"x")
    [job] = await jobs.claim(db, "q", lease=SHORT)
    assert await jobs.extend(db, job, timedelta(seconds=60)) is True
    # When the original lease would have run out, Then nobody else can claim it
    await _outlive(SHORT)
    assert await jobs.claim(db, "q") == []
    # And when done, purging keeps recent jobs and removes older ones
    assert await jobs.complete(db, job) is True
    assert await jobs.purge_done(db, timedelta(hours=1)) == 0
    await asyncio.sleep(0.01)
    assert await jobs.purge_done(db, timedelta(0)) == 1
    assert await jobs.counts(db, "q") == {}


# --- Several OS processes claiming from one queue -------------------------------------------

WORKERS = 4
TOTAL = 120


async def _fill(db: Database, queue: str, total: int) -> dict[int, int]:
    """Enqueue `total` jobs with payloads "0".."total-1"; returns job id -> payload number."""
    ids: dict[int, int] = {}
    async with db.session() as s:
        for i in range(total):
            ids[await jobs.enqueue_in(s, queue, str(i).encode())] = i
    return ids


@pytest.fixture(scope="module", autouse=True)
def workers() -> Iterator[Pool]:
    """Worker processes for the claimers, spawned once (about a second each) when the module
    starts, so their start-up overlaps the single-process tests, which mostly sleep."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(WORKERS, initializer=claimer_proc.init, initargs=(ctx.Barrier(WORKERS),)) as pool:
        yield pool


def _run_workers(pool: Pool, plan: claimer_proc.WorkerPlan) -> list[dict[str, Any]]:
    """One claimer per process, all starting at once (each waits for the others at a barrier,
    so no process can take two of them); returns the records of every hold."""
    tasks = [(f"w{i}", plan) for i in range(WORKERS)]
    results = pool.starmap_async(claimer_proc.run, tasks, chunksize=1).get(timeout=60)
    return [r for rs in results for r in rs]


async def _check_exclusive_holds(
    db: Database, queue: str, ids: dict[int, int], records: list[dict[str, Any]]
) -> dict[int, list[dict[str, Any]]]:
    """Every job done, completed by exactly one holder, and no two holds of a job overlap."""
    holds: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        holds[r["job"]].append(r)
    assert set(holds) == set(ids)
    assert len({(r["job"], r["token"]) for r in records}) == len(records)
    for job_id, hs in holds.items():
        hs.sort(key=lambda r: r["claimed_at"])
        assert [h["attempts"] for h in hs] == list(range(1, len(hs) + 1)), job_id
        for earlier, later in zip(hs, hs[1:], strict=False):
            # A hold ends at release, or when its lease ran out if that came first.
            ended = min(earlier["released_at"], earlier["lease_until"])
            assert later["claimed_at"] >= ended, f"job {job_id} held twice at once: {earlier} {later}"
        # Exactly one completion took effect: the last holder's.
        assert [h["completed"] is True for h in hs] == [False] * (len(hs) - 1) + [True], hs
    assert await jobs.counts(db, queue) == {"done": len(ids)}
    # Every claim was seen by a worker: the attempts stored match the holds recorded.
    async with db.reader() as s:
        stored = {job_id: n for job_id, n in (await s.execute(select(Job.id, Job.attempts))).all()}
    assert stored == {job_id: len(hs) for job_id, hs in holds.items()}
    return holds


async def test_claimers_in_separate_processes_never_hold_a_job_at_once(
    db: Database, database_url: str, workers: Pool
) -> None:
    # Given a queue of jobs and four worker processes with a database each
    ids = await _fill(db, "mp", TOTAL)
    plan = claimer_proc.WorkerPlan(
        url=database_url, queue="mp", total=TOTAL, limit=4, hold_s=0.002,
        lease_s=30.0, abandon_mod=0, deadline_s=20.0,
    )
    # When they all drain the queue at once (claim, hold briefly, complete)
    records = await asyncio.to_thread(_run_workers, workers, plan)
    # Then every job was held once, by one worker, and done exactly once
    holds = await _check_exclusive_holds(db, "mp", ids, records)
    assert all(len(hs) == 1 for hs in holds.values())
    # And the work really was shared between processes
    assert len({r["worker"] for r in records}) >= 2


async def test_abandoned_claims_are_redone_by_another_process_after_the_lease(
    db: Database, database_url: str, workers: Pool
) -> None:
    # Given a queue of jobs, and workers on a short lease that abandon every fifth job the
    # first time they claim it ("the worker died")
    ids = await _fill(db, "mp", TOTAL)
    plan = claimer_proc.WorkerPlan(
        url=database_url, queue="mp", total=TOTAL, limit=4, hold_s=0.002,
        lease_s=0.3, abandon_mod=5, deadline_s=20.0,
    )
    # When they drain the queue
    records = await asyncio.to_thread(_run_workers, workers, plan)
    # Then every job is done (at least once), with no two holds of a job overlapping
    holds = await _check_exclusive_holds(db, "mp", ids, records)
    abandoned = {job_id for job_id, i in ids.items() if i % 5 == 0}
    for job_id in abandoned:
        assert holds[job_id][0]["completed"] is None
        assert len(holds[job_id]) >= 2
    # And abandoned jobs were picked up by other processes, not only by the one that dropped them
    assert any(holds[j][0]["worker"] != holds[j][1]["worker"] for j in abandoned)
