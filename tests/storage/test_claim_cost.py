"""What a claim costs does not grow with the queue: not with the jobs it finished long ago (a
busy node keeps days of them until housekeeping prunes them), nor with a backlog behind the
few it takes. Measured as work the database reports, not time: on SQLite the virtual-machine
steps of the statement, on PostgreSQL the rows its plan's nodes produced (EXPLAIN ANALYZE)."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text

from storage import jobs
from storage.db import Database
from storage.models import Job, table_of, utcnow

# A value missing from a statement rendered with its values would render as NULL, and a claim
# of nothing costs little at any size: the warning SQLAlchemy gives for it fails the test.
pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")

FINISHED = 20_000
BACKLOG = 2_000
TAKE = 20


async def _fill(db: Database, *, finished: int, due: int, one_time: bool = False) -> None:
    """`finished` done jobs and `due` pending ones (distinct times, or with `one_time` all at
    one, as a fan-out queues its deliveries; four peers) in queue q."""
    long_ago = utcnow() - timedelta(days=1)
    rows: list[dict[str, Any]] = [
        {"id": i + 1, "queue": "q", "payload": b"x", "status": "done", "attempts": 1, "run_at": long_ago,
         "created_at": long_ago, "updated_at": long_ago, "target": f"peer{i % 4}.example"}
        for i in range(finished)
    ]
    rows += [
        {"id": finished + i + 1, "queue": "q", "payload": b"x", "status": "pending", "attempts": 0,
         "run_at": long_ago + timedelta(milliseconds=0 if one_time else i), "created_at": long_ago, "updated_at": long_ago,
         "target": f"peer{i % 4}.example"}
        for i in range(due)
    ]
    async with db.session() as s:
        for start in range(0, len(rows), 5_000):
            await s.execute(insert(table_of(Job)), rows[start : start + 5_000])
    if not db.is_sqlite:
        async with db.engine.connect() as conn:
            await conn.execute(text("ANALYZE jobs"))
            await conn.commit()


def _plan_rows(node: dict[str, Any]) -> int:
    own = int(node.get("Actual Rows", 0)) * int(node.get("Actual Loops", 1))
    return own + sum(_plan_rows(child) for child in node.get("Plans", ()))


async def _work(db: Database, statement: Any) -> int:
    """What running `statement` costs the database (rolled back after)."""
    sql = str(statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    if db.is_sqlite:
        steps = 0

        def step() -> int:
            nonlocal steps
            steps += 1
            return 0

        raw = sqlite3.connect(db.engine.url.database or "")
        try:
            raw.set_progress_handler(step, 10)
            raw.execute(sql).fetchall()
            raw.rollback()
        finally:
            raw.close()
        return steps
    async with db.engine.connect() as conn:
        plan = (await conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}"))).scalar_one()
        await conn.rollback()
    doc = json.loads(plan) if isinstance(plan, str) else plan
    return _plan_rows(doc[0]["Plan"])


def _plain(db: Database) -> Any:
    now = utcnow()
    return jobs.literal_claim(db, "q", TAKE, now, now + jobs.DEFAULT_LEASE, "token")


def _capped(db: Database) -> Any:
    now = utcnow()
    return jobs.literal_claim(db, "q", TAKE, now, now + jobs.DEFAULT_LEASE, "token",
                              exclude_targets=("peer3.example",), per_target=4, in_flight={"peer1.example": 2})


def _due_check(db: Database) -> Any:
    return jobs._due_check(("q",)).params(now=utcnow())


@pytest.mark.parametrize("statement", [_plain, _capped, _due_check], ids=["claim", "capped claim", "due check"])
async def test_a_claim_costs_the_same_however_many_jobs_the_queue_has_had(db: Database, statement: Any) -> None:
    # Given a queue with enough due jobs for one claim (and its look-ahead), and its cost
    await _fill(db, finished=0, due=TAKE * jobs.CAPPED_LOOKAHEAD * 2)
    small = await _work(db, statement(db))
    async with db.session() as s:
        await s.execute(text("DELETE FROM jobs"))
    # When the queue also holds 20,000 finished jobs and a backlog of 2,000 due ones
    await _fill(db, finished=FINISHED, due=BACKLOG)
    large = await _work(db, statement(db))
    # Then the same claim costs about the same: it reads the jobs it takes, not the queue
    # (before: every job the queue ever had, about 300 times the work on SQLite)
    assert large < small * 2, (small, large)


@pytest.mark.parametrize("statement", [_plain, _capped], ids=["claim", "capped claim"])
async def test_a_claim_from_a_fan_out_reads_the_jobs_it_takes_not_all_due_at_the_same_time(
    db: Database, statement: Any
) -> None:
    # Given a queue of a node with some history and enough due jobs for one claim, all due at
    # one time, and its cost
    await _fill(db, finished=FINISHED, due=TAKE * jobs.CAPPED_LOOKAHEAD * 2, one_time=True)
    small = await _work(db, statement(db))
    async with db.session() as s:
        await s.execute(text("DELETE FROM jobs"))
    # When a fan-out has queued 2,000 deliveries in one transaction (one run_at for all)
    await _fill(db, finished=FINISHED, due=BACKLOG, one_time=True)
    large = await _work(db, statement(db))
    # Then the claim costs about the same: the claim index orders jobs of one time by id
    # (before migration 0030 every job of that time was read and sorted by id first)
    assert large < small * 2, (small, large)
