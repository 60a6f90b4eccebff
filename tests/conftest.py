"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL; `start_node` starts a
node on the test's database (the factory of nodes, peers and contexts is `tests/factory.py`).

`ATRIUM_TEST_ENGINES` (default `sqlite,postgresql`) picks the engines. PostgreSQL comes from
`ATRIUM_TEST_POSTGRES_URL` (default: the machine's server, database `test`); each xdist worker
gets databases of its own. A PostgreSQL that cannot be reached fails the run, never skips it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest

from storage import migrate
from storage.db import Database
from storage.models import Base

if TYPE_CHECKING:
    from tests.factory import LocalNode

StartNode = Callable[..., Awaitable["LocalNode"]]

ENGINES = [e.strip() for e in os.environ.get("ATRIUM_TEST_ENGINES", "sqlite,postgresql").split(",") if e.strip()]
POSTGRES_URL = os.environ.get(
    "ATRIUM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def worker_tag() -> str:
    """Unique per test process, so concurrent runs never drop each other's databases."""
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


def _pg_dsn(database: str) -> str:
    """asyncpg's plain DSN for `database` on the test server."""
    base = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    return base.rsplit("/", 1)[0] + "/" + database


def pg_url(database: str) -> str:
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + database


async def _recreate_pg_database(name: str) -> None:
    admin_db = POSTGRES_URL.rsplit("/", 1)[1]
    try:
        conn = await asyncpg.connect(_pg_dsn(admin_db), timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise RuntimeError(
            f"PostgreSQL at {POSTGRES_URL} is not reachable ({exc}); start it or set "
            "ATRIUM_TEST_ENGINES=sqlite to run without it"
        ) from exc
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def recreate_pg_database(name: str) -> str:
    """A fresh, empty PostgreSQL database for this worker; returns its SQLAlchemy URL."""
    asyncio.run(_recreate_pg_database(name))
    return pg_url(name)


async def _migrated(url: str) -> None:
    db = Database(url)
    try:
        await migrate.upgrade(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, made once per worker and copied for each test."""
    path = tmp_path_factory.mktemp("template") / "atrium.db"
    asyncio.run(_migrated(f"sqlite+aiosqlite:///{path}"))
    return path


async def _drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(_pg_dsn(POSTGRES_URL.rsplit("/", 1)[1]), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def drop_pg_database(name: str) -> None:
    asyncio.run(_drop_pg_database(name))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A migrated PostgreSQL database for this worker; tests truncate it before use."""
    name = f"atrium_t_{worker_tag()}"
    url = recreate_pg_database(name)
    asyncio.run(_migrated(url))
    yield url
    drop_pg_database(name)


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(engine_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of the engine under test."""
    if engine_name == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "atrium.db"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")

    async def _clean() -> None:
        conn = await asyncpg.connect(_pg_dsn(url.rsplit("/", 1)[1]))
        try:
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        finally:
            await conn.close()

    asyncio.run(_clean())
    return url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def start_node(db: Database) -> AsyncIterator[StartNode]:
    """`await start_node(policy=..., users=(...), ...)`: a node on this test's database, served
    in-process on loopback (`tests/factory.py` `running_node`, whose options it takes), stopped
    when the test ends."""
    # Imported here: the application is not loaded for the tests that never start a node.
    from tests.factory import running_node

    async with AsyncExitStack() as stack:

        async def start(**options: Any) -> LocalNode:
            return await stack.enter_async_context(running_node(db, **options))

        yield start
