"""The job worker steps one batch at a time and never dies of a handler's error."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from node.workers import JobWorker, MaintenanceWorker, PermanentFailure, RetryLater
from storage import jobs
from storage.db import Database
from storage.models import Job, utcnow


async def job_row(db: Database, job_id: int) -> Job:
    async with db.reader() as s:
        row = await s.scalar(select(Job).where(Job.id == job_id))
    assert row is not None
    return row


async def test_run_once_dispatches_each_queue_to_its_handler(db: Database) -> None:
    seen: list[tuple[str, bytes]] = []

    async def deliver(job: jobs.ClaimedJob) -> None:
        seen.append(("deliver", job.payload))

    async def inbox(job: jobs.ClaimedJob) -> None:
        seen.append(("inbox", job.payload))

    await jobs.enqueue(db, "deliver", b"d1")
    await jobs.enqueue(db, "inbox", b"i1")
    worker = JobWorker(db, {"deliver": deliver, "inbox": inbox})
    assert await worker.run_once() == 2
    assert sorted(seen) == [("deliver", b"d1"), ("inbox", b"i1")]
    assert await jobs.counts(db) == {"done": 2}
    assert await worker.run_once() == 0


async def test_retry_later_permanent_failure_and_crashing_handlers(db: Database) -> None:
    later = utcnow() + timedelta(hours=1)

    async def handler(job: jobs.ClaimedJob) -> None:
        if job.payload == b"later":
            raise RetryLater("peer said 503", at=later)
        if job.payload == b"never":
            raise PermanentFailure("peer said 410")
        raise ValueError("a bug in the handler")

    ids = {p: await jobs.enqueue(db, "q", p) for p in (b"later", b"never", b"bug")}
    worker = JobWorker(db, {"q": handler}, max_attempts=2)
    assert await worker.run_once() == 3  # the worker survived all three
    retry = await job_row(db, ids[b"later"])
    assert retry.status == "pending" and abs((retry.run_at - later).total_seconds()) < 1
    assert (await job_row(db, ids[b"never"])).status == "failed"
    bug = await job_row(db, ids[b"bug"])
    assert bug.status == "pending" and "ValueError" in (bug.last_error or "") and bug.run_at > utcnow()


async def test_a_handler_that_keeps_failing_is_failed_after_max_attempts(db: Database) -> None:
    async def broken(job: jobs.ClaimedJob) -> None:
        raise RuntimeError("still broken")

    job_id = await jobs.enqueue(db, "q", b"x")
    worker = JobWorker(db, {"q": broken}, max_attempts=2)
    await worker.run_once()
    # make the retry due now, as time passing would
    async with db.session() as s:
        row = await s.get(Job, job_id)
        assert row is not None
        row.run_at = utcnow() - timedelta(seconds=1)
    await worker.run_once()
    row = await job_row(db, job_id)
    assert row.status == "failed" and row.attempts == 2 and "still broken" in (row.last_error or "")


async def test_maintenance_forgets_old_finished_jobs_only(db: Database) -> None:
    async def ok(job: jobs.ClaimedJob) -> None:
        return None

    done_id = await jobs.enqueue(db, "q", b"done")
    await JobWorker(db, {"q": ok}).run_once()
    pending_id = await jobs.enqueue(db, "q", b"pending", run_at=utcnow() + timedelta(days=9))
    async with db.session() as s:
        row = await s.get(Job, done_id)
        assert row is not None
        row.updated_at = utcnow() - timedelta(days=2)
    assert await MaintenanceWorker(db, keep_done=timedelta(days=1)).run_once() == 1
    async with db.reader() as s:
        remaining = (await s.scalars(select(Job.id))).all()
    assert remaining == [pending_id]
