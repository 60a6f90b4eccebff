"""The running worker keeps a concurrent queue's jobs in flight independently: a target whose
jobs never finish holds at most its own few slots, never the jobs for other targets."""

from __future__ import annotations

import asyncio

from node.workers import JobWorker
from storage import jobs
from storage.db import Database
from tests.federation.nodes import eventually

QUEUE = "deliver"


async def test_a_target_that_never_finishes_holds_only_its_own_slots(db: Database) -> None:
    release = asyncio.Event()
    started: dict[str, int] = {"stuck": 0, "live": 0}
    finished: list[int] = []

    async def handler(job: jobs.ClaimedJob) -> None:
        assert job.target is not None
        started[job.target] += 1
        if job.target == "stuck":
            await release.wait()
        finished.append(job.id)

    # Given more jobs for a stuck target than the worker has slots, queued first, then live ones
    for _ in range(30):
        await jobs.enqueue(db, QUEUE, b"{}", target="stuck")
    live = {await jobs.enqueue(db, QUEUE, b"{}", target="live") for _ in range(30)}
    worker = JobWorker(db, {QUEUE: handler}, pool=10, per_target=3, idle_sleep=0.05, concurrent=frozenset({QUEUE}))
    running = asyncio.create_task(worker.run_forever())
    try:
        # When the worker runs, Then every live job is done while the stuck ones still hang
        async def live_done() -> bool:
            return set(finished) >= live

        await eventually(live_done, timeout=60, what="every live job done")
        assert not release.is_set()
        # And the stuck target never held more than a claim's worth beyond its share of slots
        assert started["stuck"] <= 2 * worker.per_target
        # And once the stuck target answers, its jobs are done too
        release.set()

        async def all_done() -> bool:
            return await jobs.counts(db, QUEUE) == {"done": 60}

        await eventually(all_done, timeout=60, what="every job done")
    finally:
        release.set()
        worker.stop()
        await running
