"""SQLite through aiosqlite with one trip to its thread per statement.

aiosqlite runs every call on a sqlite3 connection in a thread of its own, and SQLAlchemy's
adapter makes one such call for each step of a statement: open a cursor, execute, fetch the
rows, close the cursor. Each call is a hand-over to the thread and a wake-up of the event loop
through its self-pipe, and on the inbound benchmark those hand-overs (about 26 per stored
Create) cost more than the statements. This cursor does the whole statement in one call —
execute, fetch every row, read the description, rowcount and last row id — and serves the rows
from memory, as SQLAlchemy's own adapter does once they are fetched.

Written here rather than taken from a library because no maintained driver offers it: the
alternatives run every statement on the event loop's thread (a slow read or a busy lock would
stall every request) or are SQLAlchemy's adapter itself. It uses two of aiosqlite's names that are
not public, `_execute` (queue a function on the connection's thread) and `_conn` (the sqlite3
connection, only touched on that thread), as SQLAlchemy's adapter does; the versions are pinned
in pyproject.toml and tests/storage/test_sqlite_driver.py checks both.

Server-side cursors (`stream()`) keep SQLAlchemy's cursor: they fetch in steps by design.

Inside a write transaction (after `BEGIN IMMEDIATE`, until its commit or rollback) a statement
skips the thread altogether and runs on the event loop's: the connection holds the write lock,
and in WAL mode readers never block a writer, so nothing can make the statement wait — it costs
what SQLite's own work costs (microseconds for the hot paths' statements), where a trip to the
thread costs about a hundred. Each such statement still yields to the loop once, so a batch of
them does not hold other tasks up. What can wait stays on the thread: `BEGIN IMMEDIATE` (for
the lock, up to the busy timeout), the commit (which may checkpoint the log), and every read
outside a write transaction (a long read must not stall the loop), and `DELETE`s, which prune
in batches of a thousand rows. The write engine's
connections are opened with `check_same_thread=False` for it; the two threads never use one
connection at once, since every trip is awaited before the next statement.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection, AsyncAdapt_aiosqlite_dbapi
from sqlalchemy.util.concurrency import await_

_Done = tuple[Any, list[Any] | None, int, int | None]


def _run(conn: aiosqlite.Connection, operation: str, parameters: Any, many: bool) -> _Done:
    """On the connection's thread: the whole statement, its rows and what the cursor says."""
    cursor = conn._conn.cursor()  # noqa: SLF001 - the thread's own sqlite3 connection
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else None
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _may_be_long(operation: str) -> bool:
    """A statement that may touch many rows, kept on the thread even in a write transaction:
    the deletes of housekeeping and retention (1,000 rows each, 5-7 ms that would stall the
    loop). The hot paths' statements are inserts, updates and reads of a few rows."""
    return operation[:6].upper() == "DELETE"


class OneTripCursor:
    """A DBAPI cursor whose every statement is one call on aiosqlite's thread."""

    server_side = False
    arraysize = 1

    def __init__(self, adapt_connection: OneTripConnection) -> None:
        self._adapt_connection = adapt_connection
        self._rows: collections.deque[Any] = collections.deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._done(await_(self._trip(operation, parameters, many=False)))

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> None:
        self._done(await_(self._trip(operation, seq_of_parameters, many=True)))

    async def _trip(self, operation: Any, parameters: Any, *, many: bool) -> _Done:
        adapt = self._adapt_connection
        conn = cast("aiosqlite.Connection", adapt._connection)  # noqa: SLF001
        try:
            if adapt.inline and not _may_be_long(operation):
                done = _run(conn, operation, parameters, many)
                # A batch of statements must not hold the loop: others run between any two.
                await asyncio.sleep(0)
                return done
            async with adapt._execute_mutex:  # noqa: SLF001 - one statement at a time, as SQLAlchemy's
                trip: _Done = await conn._execute(_run, conn, operation, parameters, many)  # type: ignore[no-untyped-call]  # noqa: SLF001
                return trip
        except Exception as error:  # noqa: BLE001 - mapped to the DBAPI's errors by SQLAlchemy's adapter
            adapt._handle_exception(error)  # noqa: SLF001

    def _done(self, done: _Done) -> None:
        self.description, rows, self.rowcount, self.lastrowid = done
        self._rows = collections.deque(rows) if rows else collections.deque()

    async def _async_soft_close(self) -> None:
        """Nothing to close on the thread: the statement's cursor closed with it."""

    def close(self) -> None:
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        pass

    def __iter__(self) -> Iterator[Any]:
        while self._rows:
            yield self._rows.popleft()

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        rows = self._rows
        return [rows.popleft() for _ in range(min(self.arraysize if size is None else size, len(rows)))]

    def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """`inline`: the connection holds this node's write transaction (`write_transaction_begun`),
    so its statements run on the event loop's thread until the transaction ends."""

    __slots__ = ("inline",)

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.inline = False

    def commit(self) -> None:
        self.inline = False  # a commit may checkpoint the log (disk writes): on the thread
        super().commit()

    def rollback(self) -> None:
        self.inline = False
        conn = self._connection._connection  # noqa: SLF001 - the sqlite3 connection, None once closed
        if conn is not None and not conn.in_transaction:
            return  # nothing to undo (the pool's reset of a connection after its commit): no trip
        super().rollback()

    def cursor(self, server_side: bool = False) -> Any:
        return super().cursor(server_side=True) if server_side else OneTripCursor(self)


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite DBAPI module, handing out `OneTripConnection`s."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)  # noqa: SLF001


def write_transaction_begun(dbapi_connection: Any) -> None:
    """`BEGIN IMMEDIATE` succeeded on this connection: it holds the database's write lock."""
    if isinstance(dbapi_connection, OneTripConnection):
        dbapi_connection.inline = True


def dbapi() -> OneTripDBAPI:
    """What `create_async_engine(..., module=...)` takes for a SQLite URL."""
    return OneTripDBAPI(aiosqlite, sqlite3)
