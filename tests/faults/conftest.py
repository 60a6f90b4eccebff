"""Fault tests run real node processes on each engine under test (SQLite file or a fresh
PostgreSQL database on the test server)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.conftest import drop_pg_database, recreate_pg_database, worker_tag


@pytest.fixture
def node_database(engine_name: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for SQLite (the node's own file), else a fresh empty PostgreSQL database's URL."""
    if engine_name == "sqlite":
        yield None
        return
    name = f"atrium_fault_{worker_tag()}"
    url = recreate_pg_database(name)
    yield url
    if not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
        drop_pg_database(name)
