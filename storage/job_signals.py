"""Telling the job workers there is work, so an idle worker can sleep instead of polling.

A transaction that makes a job due (`storage/jobs.py`: enqueue, bring forward) calls `due()`:
on commit, the workers of this process waiting on that queue are woken at once, and on
PostgreSQL the transaction also runs `pg_notify(CHANNEL, queue)`, which the server delivers on
commit to every process LISTENing (node/job_wake.py), so a worker in another process wakes as
promptly. (SQLite has one process owning the queue; a write by another one, the CLI say, is
seen by the worker's watch of the database files, node/job_wake.py.) Nothing is sent for a
transaction rolled back. A notification is a hint, never the only way a job is found: a
worker still polls now and then (node/workers.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import asyncpg
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage import batches

CHANNEL = "atrium_jobs"  # the PostgreSQL NOTIFY channel; the payload is the queue's name
_PENDING = "atrium_due_queues"  # the session's info key: queues this transaction made due

Wake = Callable[[str], None]
# In-process subscribers by database (`database_key`), then queue: one process may open a database twice.
_subscribers: dict[str, dict[str, set[Wake]]] = {}


def subscribe(key: str, queues: Iterable[str], wake: Wake) -> Callable[[], None]:
    """Call `wake(queue)` after every commit of this process that made a job of one of
    `queues` due on the database of `key` (`database_key`); returns the function that ends it."""
    by_queue = _subscribers.setdefault(key, {})
    names = list(queues)
    for q in names:
        by_queue.setdefault(q, set()).add(wake)

    def unsubscribe() -> None:
        for q in names:
            by_queue.get(q, set()).discard(wake)

    return unsubscribe


def woken(key: str, queue: str) -> None:
    """Wake this process's workers of `queue` (a commit made a job due, or a NOTIFY came)."""
    for wake in list(_subscribers.get(key, {}).get(queue, ())):
        wake(queue)


def database_key(engine_url: Any) -> str:
    """The key of a database among the subscribers: its engine's URL, password and all."""
    return str(engine_url.render_as_string(hide_password=False))


async def due(s: AsyncSession, queue: str) -> None:
    """Inside the caller's transaction: a job of `queue` is due once it commits."""
    pending: set[str] = s.sync_session.info.setdefault(_PENDING, set())
    # In a batch the NOTIFY may have gone with a savepoint rolled back since: send it again
    # (the server sends one of identical notifications of a transaction).
    if queue in pending and batches.held() is None:
        return
    pending.add(queue)
    if s.get_bind().dialect.name != "sqlite":
        # Sent by the server on commit, to every listener; one per queue per transaction.
        await s.execute(select(func.pg_notify(CHANNEL, queue)))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending: set[str] | None = session.info.pop(_PENDING, None)
    if pending:
        key = database_key(session.get_bind().engine.url)
        for queue in pending:
            woken(key, queue)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)  # nothing became due


class Listening:
    """One connection of its own LISTENing on CHANNEL for a process's workers (PostgreSQL):
    each notification wakes this process's workers of the queue it names."""

    def __init__(self, conn: Any, key: str) -> None:
        self._conn = conn
        self._key = key

    @classmethod
    async def open(cls, database_url: str, key: str, lost: Callable[[], None]) -> Listening:
        """Connect (asyncpg itself: the pool's connections come and go) and LISTEN; `lost` is
        called when the connection ends under it (the server restarted)."""
        dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            conn = await asyncpg.connect(dsn, timeout=10)
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:  # starting up, shutting down
            raise ConnectionError(f"cannot listen for jobs: {exc}") from exc
        self = cls(conn, key)
        try:
            await conn.add_listener(CHANNEL, self._notified)
        except BaseException:
            await conn.close(timeout=5)
            raise
        conn.add_termination_listener(lambda _conn: lost())
        return self

    def _notified(self, _conn: Any, _pid: int, _channel: str, queue: str) -> None:
        woken(self._key, queue)

    @property
    def closed(self) -> bool:
        return bool(self._conn.is_closed())

    async def close(self) -> None:
        if not self._conn.is_closed():
            try:
                await self._conn.close(timeout=5)
            except Exception:  # noqa: BLE001 - a connection already broken: drop it
                self._conn.terminate()
