"""SQLite statements make one trip to aiosqlite's thread each (storage/sqlite_driver.py), and
give SQLAlchemy everything a cursor gives: rows, row counts, errors, streamed results."""

from __future__ import annotations

import asyncio
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import Tag


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every function handed to an aiosqlite connection's thread, in order."""
    seen: list[Any] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(fn)
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return seen


async def test_a_statement_with_rows_is_one_trip_to_the_thread(sqlite_db: Database, trips: list[Any]) -> None:
    # Given a connection already open (its opening makes trips of its own)
    async with sqlite_db.reader() as s:
        await s.execute(text("SELECT 1"))
        # When a statement that returns rows runs
        trips.clear()
        rows = (await s.execute(text("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3"))).scalars().all()
        # Then it was one trip (SQLAlchemy's adapter makes four: cursor, execute, fetch, close)
        assert len(trips) == 1
        assert rows == [1, 2, 3]


async def test_row_counts_errors_and_streams_are_those_of_the_database(sqlite_db: Database) -> None:
    # Given two tags written by one executemany
    async with sqlite_db.session() as s:
        await s.execute(insert(Tag), [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
        # When both are updated, then the statement's row count says two
        result = await s.execute(update(Tag).where(Tag.id.in_([1, 2])).values(name=Tag.name + "x"))
        assert result.rowcount == 2  # type: ignore[attr-defined]
    # And a duplicate is the database's IntegrityError, and nothing of its transaction stays
    with pytest.raises(IntegrityError):
        async with sqlite_db.session() as s:
            await s.execute(insert(Tag), [{"id": 3, "name": "c"}])
            await s.execute(insert(Tag), [{"id": 1, "name": "dup"}])
    async with sqlite_db.reader() as s:
        assert await s.scalar(select(func.count()).select_from(Tag)) == 2
        # And a streamed (server-side) result still reads row by row
        streamed = [name async for name in await s.stream_scalars(select(Tag.name).order_by(Tag.id))]
        assert streamed == ["ax", "bx"]


async def test_statements_in_a_write_transaction_run_without_a_trip_and_yield_to_the_loop(
    sqlite_db: Database, trips: list[Any]
) -> None:
    # Given a task that counts the loop's turns while a write transaction runs
    turns = 0
    running = True

    async def ticker() -> None:
        nonlocal turns
        while running:
            turns += 1
            await asyncio.sleep(0)

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        async with sqlite_db.session() as s:
            await s.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: a trip (it may wait for the lock)
            # When the transaction runs 50 statements
            trips.clear()
            before = turns
            for n in range(50):
                await s.execute(insert(Tag), [{"id": 100 + n, "name": f"t{n}"}])
            # Then none went to the thread, and the other task ran between them
            assert trips == []
            assert turns - before >= 50
            trips.clear()
        # And the commit went to the thread (it may checkpoint the log)
        assert len(trips) == 1
    finally:
        running = False
        await tick
    async with sqlite_db.reader() as s:
        assert await s.scalar(select(func.count()).select_from(Tag)) == 50


async def test_a_delete_in_a_write_transaction_goes_to_the_thread(sqlite_db: Database, trips: list[Any]) -> None:
    # Given a write transaction already holding the lock, and rows to prune
    async with sqlite_db.session() as s:
        await s.execute(insert(Tag), [{"id": n, "name": f"t{n}"} for n in range(1, 1001)])
        trips.clear()
        # When it deletes them (housekeeping prunes a thousand rows at a time: milliseconds)
        result = await s.execute(delete(Tag).where(Tag.id <= 1000))
        # Then the delete ran on aiosqlite's thread, leaving the event loop free meanwhile
        assert len(trips) == 1
        assert result.rowcount == 1000  # type: ignore[attr-defined]
        # And an insert after it runs on the loop's thread again
        trips.clear()
        await s.execute(insert(Tag), [{"id": 2000, "name": "kept"}])
        assert trips == []
    async with sqlite_db.reader() as s:
        assert (await s.scalars(select(Tag.name))).all() == ["kept"]
