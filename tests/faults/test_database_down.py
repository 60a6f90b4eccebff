"""The database briefly unavailable under traffic: requests answer 503 with a reason and a
Retry-After (never 500, never a traceback), nothing that was answered 202 is lost, and the
node's workers pick up again by themselves when the database is back.

SQLite: another connection holds the write lock longer than the busy timeout. PostgreSQL: a
throwaway cluster of the test's own (tests/faults/pgcluster.py) is stopped and started again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from node.settings import load
from storage.db import SQLITE_BUSY_TIMEOUT_MS
from tests.faults.harness import Traffic, fault_peers, start_node, stored_uris
from tests.faults.pgcluster import throwaway_cluster
from tests.federation.nodes import NodeProcess, eventually

Outage = Callable[[NodeProcess], AbstractAsyncContextManager[None]]


async def _stored_at_least(node: NodeProcess, n: int) -> bool:
    return len(await stored_uris(node)) >= n


def _assert_unavailable_answers(traffic: Traffic) -> None:
    """Every refusal was a 503 with a one-line reason and a Retry-After."""
    assert traffic.refusals, "no request was refused while the database was away"
    for status, text, headers in traffic.refusals:
        assert status == 503, (status, text)
        assert "Traceback" not in text
        assert "database" in json.loads(text)["error"]
        assert int(headers["Retry-After"]) > 0


async def _recovered(node: NodeProcess, traffic: Traffic) -> None:
    """Then: requests are accepted again, and every accepted activity is stored exactly once."""
    accepted_before = len(traffic.accepted)

    async def accepting_again() -> bool:
        return len(traffic.accepted) >= accepted_before + 3

    await eventually(accepting_again, timeout=90, what="202s again after the database came back")
    await traffic.stop()
    assert node.proc is not None and node.proc.poll() is None, "the node died"

    async def all_stored() -> bool:
        return set(await stored_uris(node)) >= traffic.accepted

    await eventually(all_stored, timeout=120, what="every accepted activity stored")
    uris = await stored_uris(node)
    assert len(uris) == len(set(uris))
    assert set(traffic.answers.values()) <= {202, 503}, "an answer other than 202 or 503"


@asynccontextmanager
async def database(engine_name: str) -> AsyncIterator[tuple[str | None, Outage]]:
    """The node's database (None: its own SQLite file) and a way to take it away for a while."""
    if engine_name == "sqlite":
        yield None, sqlite_locked
        return
    with throwaway_cluster() as cluster:

        @asynccontextmanager
        async def postgresql_stopped(node: NodeProcess) -> AsyncIterator[None]:
            cluster.stop("fast")
            try:
                yield
            finally:
                cluster.start()

        yield cluster.url, postgresql_stopped


@asynccontextmanager
async def sqlite_locked(node: NodeProcess) -> AsyncIterator[None]:
    """Another connection holds SQLite's write lock (longer than the node's busy timeout)."""
    path = make_url(load(node.data_dir).resolved_database_url).database
    locker = sqlite3.connect(str(path), isolation_level=None, timeout=30)
    locker.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        locker.rollback()
        locker.close()


async def test_the_database_briefly_away_answers_503_then_recovers(tmp_path: Path, engine_name: str) -> None:
    async with fault_peers(2) as peers, database(engine_name) as (url, outage):
        node = start_node(tmp_path, peers, url)
        traffic = Traffic(node, peers, pause=0.05)
        try:
            traffic.start()
            await eventually(lambda: _stored_at_least(node, 3), timeout=60, what="the first notes stored")
            # Given the database goes away mid-traffic (SQLite: locked past the busy timeout;
            # PostgreSQL: the server stops)
            async with outage(node):
                # When requests arrive, they are answered 503
                async def refused() -> bool:
                    return traffic.count(503) >= 3

                await eventually(refused, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000 * 9, what="503s while it is away")
            _assert_unavailable_answers(traffic)
            # And it comes back: the node recovers by itself (pool reconnects, workers resume)
            await _recovered(node, traffic)
        finally:
            await traffic.stop()
            node.stop()
