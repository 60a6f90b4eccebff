"""An idle job worker sleeps until there is work: an enqueue wakes it at once (in this process
on either engine; from another process through PostgreSQL's NOTIFY, or SQLite's files
changing), its slow fallback poll
still finds what no wake-up announced, and its LISTEN connection survives a lost connection and
ends with the worker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import insert, text

from node.job_wake import JobListener
from node.workers import JobWorker, RetryLater
from storage import jobs
from storage.db import Database
from storage.ids import new_id
from storage.models import Job, utcnow
from tests.conftest import ENGINES

# What only PostgreSQL has: a LISTEN connection of its own.
POSTGRESQL_ONLY = pytest.mark.parametrize("engine_name", [e for e in ENGINES if e == "postgresql"])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LONG_POLL = 60.0  # a fallback poll no test waits out: a pickup within PROMPT was a wake-up
PROMPT = 1.0  # seconds: "at once", with room for a loaded test machine
ENQUEUE_ELSEWHERE = """
import asyncio, sys, time
from storage import jobs
from storage.db import Database

async def main() -> None:
    db = Database(sys.argv[1])
    await jobs.enqueue(db, "q", b"from another process")
    print(time.time(), flush=True)  # the commit is done
    await db.dispose()

asyncio.run(main())
"""


class Recorder:
    """A handler that notes when each job started (wall clock: comparable across processes)."""

    def __init__(self) -> None:
        self.started: dict[bytes, float] = {}
        self.arrived = asyncio.Event()

    async def __call__(self, job: jobs.ClaimedJob) -> None:
        self.started[job.payload] = time.time()
        self.arrived.set()

    async def wait(self, timeout: float) -> None:
        await asyncio.wait_for(self.arrived.wait(), timeout)
        self.arrived.clear()


@pytest.fixture
async def idle_worker(db: Database) -> AsyncIterator[tuple[JobWorker, Recorder]]:
    """A started worker of queue "q" whose fallback poll is a minute, already idle."""
    recorder = Recorder()
    worker = JobWorker(db, {"q": recorder}, idle_sleep=LONG_POLL)
    worker.start()
    await asyncio.sleep(0.3)  # its first cycle found nothing: it sleeps
    if isinstance(getattr(worker, "listener", None), JobListener):  # LISTENing before the test goes on
        await _until(lambda: worker.listener.listening is not None)
    try:
        yield worker, recorder
    finally:
        worker.stop()
        await worker.join()


async def _until(ok: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not ok():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def _enqueue_in_another_process(url: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", ENQUEUE_ELSEWHERE, url],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ROOT},
        timeout=60,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


async def _insert_without_notice(db: Database, payload: bytes) -> None:
    now = utcnow()
    async with db.session() as s:  # raw SQL, as a job nobody announced
        await s.execute(
            insert(Job).values(
                id=new_id(),
                queue="q",
                payload=payload,
                status="pending",
                attempts=0,
                run_at=now,
                created_at=now,
                updated_at=now,
            )
        )


async def test_a_job_enqueued_in_the_same_process_wakes_an_idle_worker_at_once(
    db: Database, idle_worker: tuple[JobWorker, Recorder]
) -> None:
    # Given a worker asleep for a minute
    _, recorder = idle_worker
    # When a job is enqueued (and committed) in this process
    await jobs.enqueue(db, "q", b"now")
    committed = time.time()
    # Then the worker starts it well within a second, not at its next poll
    await recorder.wait(PROMPT)
    assert recorder.started[b"now"] - committed < PROMPT


async def test_a_rolled_back_enqueue_wakes_nobody_and_a_queue_of_another_worker_neither(
    db: Database, idle_worker: tuple[JobWorker, Recorder]
) -> None:
    # Given a worker of "q" asleep
    worker, recorder = idle_worker
    # When one transaction enqueues and rolls back, and another enqueues on another queue
    with pytest.raises(RuntimeError):
        async with db.session() as s:
            await jobs.enqueue_in(s, "q", b"never")
            raise RuntimeError("the caller's write failed")
    await jobs.enqueue(db, "other", b"not ours")
    # Then the worker is not woken: it has nothing to do
    assert not worker._prompt.is_set()
    assert await jobs.counts(db, "q") == {}


async def test_the_fallback_poll_finds_a_job_nobody_announced(db: Database) -> None:
    # Given a worker with a short fallback poll, idle
    recorder = Recorder()
    worker = JobWorker(db, {"q": recorder}, idle_sleep=0.5)
    worker.start()
    try:
        await asyncio.sleep(0.2)
        # When a job is written by raw SQL, with no wake-up and no NOTIFY
        await _insert_without_notice(db, b"quiet")
        # Then the next poll picks it up
        await recorder.wait(5.0)
        assert b"quiet" in recorder.started
    finally:
        worker.stop()
        await worker.join()


async def test_a_job_enqueued_by_another_process_wakes_the_worker_at_once(
    db: Database, idle_worker: tuple[JobWorker, Recorder]
) -> None:
    # Given a worker asleep for a minute, LISTENing (PostgreSQL) or watching the files (SQLite)
    _, recorder = idle_worker
    # When another process enqueues a job (the web role, say)
    committed = await asyncio.to_thread(_enqueue_in_another_process, db.url)
    # Then the worker starts it well within a second
    await recorder.wait(PROMPT)
    assert recorder.started[b"from another process"] - committed < PROMPT


async def _listening_backends(db: Database) -> list[int]:
    async with db.reader() as s:
        rows = await s.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()"
            )
        )
    return [int(pid) for (pid,) in rows.all()]


@POSTGRESQL_ONLY
async def test_the_listen_connection_survives_its_loss_and_closes_with_the_worker(db: Database) -> None:
    # Given a started worker, LISTENing on a connection of its own
    recorder = Recorder()
    worker = JobWorker(db, {"q": recorder}, idle_sleep=LONG_POLL)
    worker.start()
    try:
        await _until(lambda: worker.listener is not None and worker.listener.listening is not None)
        [pid] = await _listening_backends(db)
        # When the server ends that connection (as a restart does)
        async with db.session() as s:
            await s.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        # Then the worker listens again on a new connection, and a job from another process
        # still wakes it at once
        await _until(
            lambda: (
                worker.listener is not None
                and worker.listener.listening is not None
                and not worker.listener.listening.closed
            )
        )
        # (a terminated backend may still be listed for a moment after the client saw it go)
        assert await _listening_other_than(db, pid), "the worker did not listen again"
        committed = await asyncio.to_thread(_enqueue_in_another_process, db.url)
        await recorder.wait(PROMPT)
        assert recorder.started[b"from another process"] - committed < PROMPT
    finally:
        worker.stop()
        await worker.join()
    # And a stopped worker leaves no listening connection behind
    assert worker.listener is not None and worker.listener.listening is None
    await _until_none_listening(db)


async def _listening_other_than(db: Database, pid: int, timeout: float = 10.0) -> list[int]:
    """The LISTENing backends once `pid` is gone from them and another is there."""
    deadline = time.monotonic() + timeout
    while True:
        backends = await _listening_backends(db)
        if backends and pid not in backends:
            return backends
        if time.monotonic() > deadline:
            return []
        await asyncio.sleep(0.05)


async def _until_none_listening(db: Database) -> None:
    deadline = time.monotonic() + 5
    while await _listening_backends(db):
        assert time.monotonic() < deadline, "the LISTEN connection outlived its worker"
        await asyncio.sleep(0.05)


async def test_the_idle_look_names_the_queues_a_claim_would_take_from(db: Database) -> None:
    # Given a due job on "a", a job of "b" not due for an hour, and a job of "c" whose worker's
    # lease ran out
    await jobs.enqueue(db, "a", b"due")
    await jobs.enqueue(db, "b", b"later", run_at=utcnow() + timedelta(hours=1))
    await jobs.enqueue(db, "c", b"leased")
    assert await jobs.claim(db, "c", lease=timedelta(milliseconds=1))
    await asyncio.sleep(0.01)
    # When an idle worker of all four queues looks
    due = await jobs.due_queues(db, ["a", "b", "c", "d"])
    # Then it finds work on "a" and "c" only, as a claim would
    assert due == {"a", "c"}


async def test_a_retry_due_before_the_fallback_poll_wakes_the_worker_when_due(db: Database) -> None:
    # Given a started worker with a minute's fallback poll, whose handler asks once to be
    # retried in half a second (as a delivery waiting for an earlier one to its inbox does)
    tries: list[float] = []

    async def handler(job: jobs.ClaimedJob) -> None:
        tries.append(time.monotonic())
        if len(tries) == 1:
            raise RetryLater("an earlier activity first", at=utcnow() + timedelta(seconds=0.5))

    worker = JobWorker(db, {"q": handler}, idle_sleep=LONG_POLL)
    worker.start()
    try:
        # When a job is enqueued
        await jobs.enqueue(db, "q", b"ordered")
        # Then it is tried again about half a second later, not a minute later
        await _until(lambda: len(tries) == 2, 5.0)
        assert 0.4 < tries[1] - tries[0] < 0.5 + PROMPT
    finally:
        worker.stop()
        await worker.join()
