"""Housekeeping: the inbox log pruned by `HousekeepingWorker` (node/housekeeping.py) as `atrium
serve` runs it — iterations of `housekeeping.batch` rows (1000), each a set-based `DELETE` in a
transaction of its own, until the log is within its limit (`prune_rows_per_s`).

The log holds N rows past the limit (N = 1,000,000; 20,000 with --quick) and N/10 recent ones
that stay. Ceiling, same run, same database: the same N rows written again and removed by one
bulk `DELETE` of the same predicate in one transaction — the least any pruning could cost;
the worker's batches buy short transactions (no long lock, no huge journal) at its expense.
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import delete, func, insert, select, text

from benchmarks.common import Databases, Result
from node.context import NodeContext
from node.housekeeping import HousekeepingWorker
from node.housekeeping_rules import id_before
from node.housekeeping_settings import HousekeepingLimits
from storage.ids import id_floor
from storage.models import InboxEntry, utcnow

CHUNK = 10_000


async def fill(db, first_ms: int, n: int, tag: str) -> None:  # type: ignore[no-untyped-def]
    """`n` done activities logged from `first_ms` on, a millisecond apart (ids in time order)."""
    for k in range(0, n, CHUNK):
        rows = [{"id": id_floor(first_ms + i) | (i & 0xFFFF), "origin": "https://peer.bench.test",
                 "activity_id": f"https://peer.bench.test/{tag}/{i}", "type": "Create",
                 "actor_uri": "https://peer.bench.test/users/a", "outcome": "done", "reason": None}
                for i in range(k, min(n, k + CHUNK))]
        async with db.session() as s:
            await s.execute(insert(InboxEntry), rows)
    async with db.session() as s:  # as autovacuum would have by then: the planner knows the table
        await s.execute(text("ANALYZE inbox_log"))


async def left(db) -> int:  # type: ignore[no-untyped-def]
    async with db.reader() as s:
        return int(await s.scalar(select(func.count()).select_from(InboxEntry)) or 0)


async def run(dbs: Databases, engine: str, quick: bool) -> list[Result]:
    n = 20_000 if quick else 1_000_000
    recent = n // 10
    limits = HousekeepingLimits()
    now = utcnow()
    old_ms = int((now - timedelta(days=limits.inbox_log_days + 10)).timestamp() * 1000)
    db = await dbs.make(engine)
    try:
        ctx = NodeContext(db=db, domain="bench.atrium.test")
        await fill(db, old_ms, n, "old")
        await fill(db, int((now - timedelta(days=1)).timestamp() * 1000), recent, "recent")
        worker = HousekeepingWorker(ctx, limits, now=lambda: now)
        iterations = 0
        t0 = time.perf_counter()
        while True:
            iterations += 1
            removed = await worker.run_once()
            if removed["inbox_log"] < limits.batch:
                break
        worker_s = time.perf_counter() - t0
        assert await left(db) == recent, "the worker removed other rows than the old ones"

        await fill(db, old_ms, n, "old")
        cut = id_before(now - timedelta(days=limits.inbox_log_days))
        t0 = time.perf_counter()
        async with db.session() as s:
            result = await s.execute(delete(InboxEntry).where(InboxEntry.id < cut, InboxEntry.outcome != "queued")
                                     .execution_options(synchronize_session=False))
        bulk_s = time.perf_counter() - t0
        assert int(result.rowcount) == n and await left(db) == recent  # type: ignore[attr-defined]
    finally:
        await db.dispose()
    return [Result(
        f"prune_rows_per_s_{engine}", n / worker_s, "rows/s", n / bulk_s, True,
        notes=f"inbox log of {n + recent:,} rows, {n:,} past inbox_log_days removed by HousekeepingWorker in "
              f"{iterations} iterations of {limits.batch}; ceiling = one bulk DELETE of the same rows",
        params={"rows": n, "kept": recent, "batch": limits.batch, "iterations": iterations,
                "worker_s": round(worker_s, 3), "bulk_delete_s": round(bulk_s, 3)},
    )]
