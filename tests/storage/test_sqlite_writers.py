"""SQLite: the writers of one process take turns on the Database's own lock, never in SQLite's
busy handler (which sleeps in steps of up to 100 ms). Shown with the busy timeout at zero,
where any two writers meeting at SQLite's lock would fail at once with "database is locked"."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage import db as storage_db
from storage import jobs
from storage.db import Database


async def test_concurrent_writers_of_one_process_never_meet_at_sqlites_lock(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a SQLite node database whose connections would not wait for the lock at all
    monkeypatch.setattr(storage_db, "SQLITE_BUSY_TIMEOUT_MS", 0)
    path = tmp_path / "node.db"
    path.write_bytes(sqlite_template.read_bytes())
    database = Database(f"sqlite+aiosqlite:///{path}")

    async def writer(n: int) -> None:
        async with database.session() as s:
            await jobs.enqueue_in(s, "q", b"%d" % n)
            await asyncio.sleep(0.001)  # hold the transaction open while the others want in

    try:
        # When 40 writers run at once on pooled connections
        await asyncio.gather(*(writer(n) for n in range(40)))
        # Then every one committed
        assert await jobs.counts(database, "q") == {"pending": 40}
    finally:
        await database.dispose()


def test_the_lock_is_per_event_loop(sqlite_template: Path, tmp_path: Path) -> None:
    # Given one Database used from two event loops in turn (as the CLI does)
    path = tmp_path / "node.db"
    path.write_bytes(sqlite_template.read_bytes())
    database = Database(f"sqlite+aiosqlite:///{path}")

    async def contended() -> int:
        async def one(n: int) -> None:
            async with database.session() as s:
                await jobs.enqueue_in(s, "q", b"x")
                await asyncio.sleep(0.001)
        await asyncio.gather(*(one(n) for n in range(5)))
        await database.engine.dispose()
        await database.read_engine.dispose()
        return 5

    # When both loops make writers wait on the lock, then neither fails
    assert asyncio.run(contended()) == 5
    assert asyncio.run(contended()) == 5
