"""A job-queue worker run in its own OS process by test_jobs (spawned, so top-level).

It claims, holds briefly and completes jobs until the queue has nothing left to do, and
returns one record per claimed job: who held which job, from when, until when. The test keeps
a pool of these processes for the module, as spawning them costs about a second each.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from storage import jobs
from storage.db import Database


@dataclass(frozen=True)
class WorkerPlan:
    url: str
    queue: str
    total: int  # jobs in the queue; the worker stops when all are finished
    limit: int  # claim batch size
    hold_s: float  # how long a job is "worked on" before complete()
    lease_s: float
    abandon_mod: int  # abandon a job's first claim when int(payload) % abandon_mod == 0; 0: never
    deadline_s: float  # give up (and report it) after this long


_start: Any = None  # a multiprocessing Barrier: workers start claiming together


def init(start: Any) -> None:
    """Pool initializer (synchronisation objects may only be passed to a process at start)."""
    global _start
    _start = start


def run(name: str, plan: WorkerPlan) -> list[dict[str, Any]]:
    return asyncio.run(_work(name, plan, _start))


async def _work(name: str, plan: WorkerPlan, start: Any) -> list[dict[str, Any]]:
    db = Database(plan.url)
    records: list[dict[str, Any]] = []
    try:
        await jobs.counts(db, plan.queue)  # connect and warm up before the race starts
        start.wait(timeout=20)
        deadline = time.monotonic() + plan.deadline_s
        lease = timedelta(seconds=plan.lease_s)
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name}: queue not drained within {plan.deadline_s}s")
            claimed = await jobs.claim(db, plan.queue, limit=plan.limit, lease=lease)
            claimed_at = time.time()  # held from here: claim() has committed
            if not claimed:
                n = await jobs.counts(db, plan.queue)
                if n.get("done", 0) + n.get("failed", 0) >= plan.total:
                    return records
                await asyncio.sleep(0.02)  # leased elsewhere, or abandoned and not yet expired
                continue
            await asyncio.sleep(plan.hold_s)
            for job in claimed:
                record = {
                    "worker": os.getpid(),
                    "job": job.id,
                    "token": job.lease_token,
                    "attempts": job.attempts,
                    "claimed_at": claimed_at,
                    "lease_until": job.lease_until.timestamp(),
                }
                if plan.abandon_mod and job.attempts == 1 and int(job.payload) % plan.abandon_mod == 0:
                    # "The worker died": never complete; the hold ends when the lease does.
                    record |= {"released_at": job.lease_until.timestamp(), "completed": None}
                else:
                    released_at = time.time()
                    record |= {"released_at": released_at, "completed": await jobs.complete(db, job)}
                records.append(record)
    finally:
        await db.dispose()
