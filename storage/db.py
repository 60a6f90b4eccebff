"""Engine and session setup for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with foreign keys on. Writers take the write lock at BEGIN
(`BEGIN IMMEDIATE`) so a transaction that reads then writes never fails half-way with
SQLITE_BUSY_SNAPSHOT; readers use a second engine with deferred BEGIN so they never wait
on writers.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage import batches, savepoints, sqlite_driver
from storage.errors import Invalid

SQLITE_BUSY_TIMEOUT_MS = 10_000
WRITE_TURN_WAIT = 10.0  # seconds a writer waits for its process's turn: as long as SQLite's busy timeout
# A look skipped because the SQLite files did not change is taken anyway after this long: the
# files' stamps are a cheap hint (a rewrite of a reset WAL within one clock tick keeps them).
CHANGE_BACKSTOP = 30.0
T = TypeVar("T")


def normalise_url(url: str, base_dir: Path | None = None) -> str:
    """Check a database URL and resolve a relative SQLite path against `base_dir`.

    Accepts `sqlite+aiosqlite:///path` and `postgresql+asyncpg://...`; plain `sqlite://` and
    `postgresql://` get their async driver added.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise Invalid(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
        db = parsed.database or ""
        if db and db != ":memory:" and not Path(db).is_absolute() and base_dir is not None:
            parsed = parsed.set(database=str((base_dir / db).resolve()))
    elif backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        raise Invalid(f"unsupported database {backend!r}: use sqlite or postgresql")
    return parsed.render_as_string(hide_password=False)


def _closed_ones_replaced(engine: AsyncEngine) -> None:
    """PostgreSQL: a pooled connection the server has closed (a restart, an administrator's
    pg_terminate_backend) is replaced as it is checked out, without a round trip. SQLAlchemy's
    pool_pre_ping sent three per checkout through asyncpg (BEGIN, an empty query, ROLLBACK):
    0.3 ms of every session, more than a timeline read's own query. A server that vanished
    without closing its connections is caught at first use instead, as the pool invalidates
    every connection older than the failure."""

    @event.listens_for(engine.sync_engine, "checkout")
    def _checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("the server closed this pooled connection")


def _sqlite_setup(engine: AsyncEngine, *, immediate: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN is ours (SQLAlchemy's recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        if immediate:  # the write lock is ours: statements need not go to the thread
            sqlite_driver.write_transaction_begun(conn.connection.dbapi_connection)


class Database:
    """One node's database: a write engine, a read engine (the same one on PostgreSQL)."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        if self.dialect == "sqlite":
            # Pooled: opening a connection and setting its pragmas for every unit of work cost
            # more than the work (the benchmarks showed it). Locks are per file, not per pool.
            # One trip to aiosqlite's thread per statement, not four (storage/sqlite_driver.py).
            sqlite_args: dict[str, Any] = {"pool_size": pool_size, "max_overflow": pool_size, "module": sqlite_driver.dbapi()}
            # The writer's statements run on the loop's thread inside its transactions (ditto).
            self.engine = create_async_engine(url, echo=echo, connect_args={"check_same_thread": False}, **sqlite_args)
            self.read_engine = create_async_engine(url, echo=echo, **sqlite_args)
            _sqlite_setup(self.engine, immediate=True)
            _sqlite_setup(self.read_engine, immediate=False)
        else:
            self.engine = create_async_engine(
                url,
                echo=echo,
                pool_size=pool_size,
                max_overflow=pool_size,
                # asyncpg waits 60 s by default: an unreachable server should fail fast.
                connect_args={"timeout": 10},
            )
            # Readers in autocommit: under READ COMMITTED every statement reads its own
            # snapshot either way, so BEGIN and COMMIT were two round trips that bought nothing.
            self.read_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
            _closed_ones_replaced(self.engine)
        savepoints.send_directly(self.engine)  # not compiled afresh each time (storage/savepoints.py)
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite: this process's writers take turns here rather than in SQLite's busy handler,
        # which sleeps in steps of up to 100 ms (under load, seconds of p99 for no work).
        # Other processes of the node still meet at SQLite's lock (busy_timeout).
        self._write_locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        self._reader = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def change_stamp(self) -> tuple[tuple[int, int] | None, ...] | None:
        """SQLite: the (mtime, size) of the database file and its WAL, which any process's
        commit changes (it appends to the WAL; a checkpoint writes the file). None on
        PostgreSQL, where only the server knows."""
        path = make_url(self.url).database
        if not self.is_sqlite or not path or path == ":memory:":
            return None
        return tuple(_stat(path + suffix) for suffix in ("", "-wal"))

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read-write unit of work: committed on success, rolled back on any error. Inside a
        batch the running task holds (`batch()`), a savepoint of the batch's transaction."""
        held = batches.held()
        if held is not None:
            async with held.session.begin_nested():
                yield held.session
            return
        if not self.is_sqlite:
            async with self._writer() as session:
                async with session.begin():
                    yield session
            return
        lock = self._write_lock()
        try:
            # Bounded like SQLite's own wait: behind a queue of writers each waiting out the busy
            # timeout (another process holding the lock), a request would otherwise wait for
            # minutes; it fails as an outage (TimeoutError: a 503) once it has waited as long.
            await asyncio.wait_for(lock.acquire(), WRITE_TURN_WAIT)
        except TimeoutError:
            raise TimeoutError("the database stayed busy with other writers past the busy timeout") from None
        try:
            async with self._writer() as session:
                async with session.begin():
                    yield session
        finally:
            lock.release()

    def _write_lock(self) -> asyncio.Lock:
        # One per event loop: an asyncio.Lock belongs to the loop it first waited in, and the
        # CLI and the tests run several loops in turn against one Database.
        loop = asyncio.get_running_loop()
        lock = self._write_locks.get(loop)
        if lock is None:
            for closed in [k for k in self._write_locks if k.is_closed()]:
                del self._write_locks[closed]
            lock = self._write_locks[loop] = asyncio.Lock()
        return lock

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[batches.Batch]:
        """One transaction for many units of work (storage/batches.py): every `session()` the
        running task opens inside it is a savepoint, every `reader()` the batch's own session.
        Committed at the end unless it raised; then what the batch kept for after the commit
        runs."""
        async with self.session() as session:
            batch = batches.Batch(session, asyncio.current_task())
            token = batches.enter(batch)
            try:
                yield batch
            finally:
                batches.leave(token)
        for callback in batch.committed:
            callback()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A read-only session that never waits on SQLite's write lock (inside a held batch,
        the batch's session: it sees what the batch wrote)."""
        held = batches.held()
        if held is not None:
            yield held.session
            return
        async with self._reader() as session:
            async with session.begin():
                yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.is_sqlite:  # on PostgreSQL the read engine shares the write engine's pool
            await self.read_engine.dispose()


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size)


class WhenChanged:
    """Runs a look at the database only when it may have changed since the last one: on
    SQLite a stat() of its files instead of a query, for the loops that poll a row every
    second (the policy sync); on PostgreSQL every time."""

    def __init__(self, db: Database, backstop: float = CHANGE_BACKSTOP) -> None:
        self.db = db
        self.backstop = backstop
        self._seen: object = None
        self._due = 0.0

    async def __call__(self, look: Callable[[], Awaitable[T]], unchanged: T) -> T:
        stamp = self.db.change_stamp()  # before the look: a commit during it shows next time
        if stamp is not None and stamp == self._seen and time.monotonic() < self._due:
            return unchanged
        result = await look()
        self._seen, self._due = stamp, time.monotonic() + self.backstop
        return result


def insert_ignoring_conflicts(s: AsyncSession, model: type) -> Any:
    """`INSERT … ON CONFLICT DO NOTHING` for the session's engine (SQLite or PostgreSQL):
    idempotent writes without a read first."""
    return inserting_ignored(s.get_bind().dialect.name, model)


@cache
def inserting_ignored(dialect: str, model: type) -> Any:
    """The same statement for a dialect, built once: a hot path runs it on its connection with
    rows as parameters (an executemany, or the base of an INSERT … SELECT)."""
    return (sqlite if dialect == "sqlite" else postgresql).insert(model).on_conflict_do_nothing()


async def lock_for_transaction(s: AsyncSession, key: int) -> None:
    """Serialise the writers that take the same `key` until the session's transaction ends:
    on PostgreSQL a transaction-level advisory lock; on SQLite nothing to do, as every writer
    already holds the database's write lock (BEGIN IMMEDIATE). For what a unique constraint
    alone would only refuse, such as the next number of a sequence read as max + 1."""
    if s.get_bind().dialect.name != "sqlite":
        await s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
