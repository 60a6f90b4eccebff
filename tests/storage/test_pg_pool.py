"""PostgreSQL's pool: a connection the server closed is replaced as it is checked out (no
caller sees the error), and a checkout costs no round trip of its own; readers run in
autocommit (no BEGIN or COMMIT around a read)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, text

from storage.db import Database
from tests.conftest import ENGINES

pytestmark = pytest.mark.parametrize("engine_name", [e for e in ENGINES if e == "postgresql"])


async def _statements(db: Database) -> list[str]:
    """Every query the engine's connections send from now on, as asyncpg sends them (BEGIN,
    COMMIT and pings included: SQLAlchemy's events do not see those)."""
    seen: list[str] = []

    def connected(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(lambda q: seen.append(q.query))

    await db.engine.dispose()  # the connections from now on are new ones, each with the logger
    event.listen(db.engine.sync_engine, "connect", connected)
    return seen


async def _backend_pid(db: Database) -> int:
    async with db.reader() as s:
        return int((await s.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_pooled_connection_the_server_closed_is_replaced_at_checkout(db: Database) -> None:
    # Given a node's pooled connection
    first = await _backend_pid(db)
    # When an administrator terminates it (as a server restart would) while it sits in the pool
    url = db.engine.url.set(drivername="postgresql")
    admin = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        for _ in range(250):  # until its server process has ended
            if not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", first):
                break
            await asyncio.sleep(0.02)
    finally:
        await admin.close()
    await asyncio.sleep(0.05)  # the closed socket is noticed
    # Then the next read works, on another connection, with no error to its caller
    assert await _backend_pid(db) != first


async def test_a_read_sends_no_ping_begin_or_commit(db: Database) -> None:
    # Given a warm pool and a record of what its connections send outside prepared statements
    # (transaction control and pings; SQLAlchemy's statements are prepared ones)
    seen = await _statements(db)
    await _backend_pid(db)
    await _settled()
    seen.clear()
    # When a reader reads
    async with db.reader() as s:
        await s.execute(text("SELECT 42"))
    await _settled()
    # Then nothing else went with its statement (before: BEGIN, ";" and ROLLBACK for the pool's
    # ping, BEGIN and COMMIT around the read: 0.4 ms of round trips a read)
    assert seen == [], seen
    # And the record does see what a writer sends around its statement
    async with db.session() as s:
        await s.execute(text("SELECT 42"))
    await _settled()
    assert seen and seen[0].startswith("BEGIN") and seen[-1] == "COMMIT;", seen


async def _settled() -> None:
    """asyncpg calls its query loggers soon after, not during, the query."""
    for _ in range(3):
        await asyncio.sleep(0)
