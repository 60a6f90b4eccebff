"""`atrium init --database-url postgresql+asyncpg://…/NAME` when the server has no database NAME:
init creates it when the URL's role may (and drops it again if init fails after all), and
otherwise stops with one line saying how to create it. Against the real test PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.cli.conftest import assert_one_line_error, run
from tests.conftest import ENGINES, POSTGRES_URL, _pg_dsn, drop_pg_database, pg_url, worker_tag

pytestmark = pytest.mark.skipif("postgresql" not in ENGINES, reason="a PostgreSQL test (ATRIUM_TEST_ENGINES)")


async def _admin(sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(_pg_dsn(POSTGRES_URL.rsplit("/", 1)[1]), timeout=10)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def _exists(name: str) -> bool:
    return bool(asyncio.run(_admin(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")))


@pytest.fixture
def missing_database() -> Iterator[str]:
    """The name of a database the server does not have (dropped again afterwards)."""
    name = f"atrium_init_{worker_tag()}"
    drop_pg_database(name)
    yield name
    drop_pg_database(name)


@pytest.fixture
def role_without_createdb(missing_database: str) -> Iterator[str]:
    """A login role that may not create databases (trust auth on loopback: no password)."""
    name = f"atrium_nocreate_{worker_tag()}"
    asyncio.run(_admin(f'DROP ROLE IF EXISTS "{name}"'))
    asyncio.run(_admin(f'CREATE ROLE "{name}" LOGIN NOCREATEDB'))
    yield name
    drop_pg_database(missing_database)  # it may own it by now
    asyncio.run(_admin(f'DROP ROLE IF EXISTS "{name}"'))


def _url_as(role: str, database: str) -> str:
    return pg_url(database).replace("//postgres@", f"//{role}@", 1)


def test_init_creates_the_database_when_the_role_may(
    tmp_path: Path, missing_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a server without the database the URL names, and a role that may create databases
    assert not _exists(missing_database)
    data_dir = tmp_path / "eng"
    # When the node is created on it
    code, out, err = run(capsys, "init", "--data-dir", str(data_dir), "--domain", "eng.acme.test",
                         "--database-url", pg_url(missing_database))
    # Then init made the database, said so, and the node works on it
    assert code == 0, err
    assert f"database: created {missing_database} on " in out
    assert _exists(missing_database)
    code, out, err = run(capsys, "user", "create", "alice", "--admin", "--password-stdin", "--data-dir", str(data_dir),
                         stdin="alice-password\n")
    assert code == 0, err
    code, out, err = run(capsys, "user", "list", "--data-dir", str(data_dir))
    assert code == 0 and "alice" in out, err


def test_a_role_that_may_not_create_it_is_told_how_in_one_line(
    tmp_path: Path, missing_database: str, role_without_createdb: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a role without CREATEDB and a database that does not exist
    data_dir = tmp_path / "eng"
    url = _url_as(role_without_createdb, missing_database)
    # When init is run with it
    code, _, err = run(capsys, "init", "--data-dir", str(data_dir), "--domain", "eng.acme.test", "--database-url", url)
    # Then it stops with one line that names the database and the command that creates it
    assert_one_line_error(code, err)
    assert f'database "{missing_database}" does not exist' in err
    assert f"createdb -h 127.0.0.1 -p 5432 -O {role_without_createdb} {missing_database}" in err
    assert "permission denied" in err
    # And leaves nothing behind
    assert not data_dir.exists() and not _exists(missing_database)
    # When someone who may creates the database as told, init then succeeds
    asyncio.run(_admin(f'CREATE DATABASE "{missing_database}" OWNER "{role_without_createdb}"'))
    code, out, err = run(capsys, "init", "--data-dir", str(data_dir), "--domain", "eng.acme.test", "--database-url", url)
    assert code == 0, err
    assert "database: created" not in out


def test_a_database_init_made_is_dropped_when_init_fails_after_all(
    tmp_path: Path, missing_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a data directory where init cannot write policy.toml (a directory is in its place)
    data_dir = tmp_path / "eng"
    (data_dir / "policy.toml").mkdir(parents=True)
    # When init creates the database and then fails
    code, _, err = run(capsys, "init", "--data-dir", str(data_dir), "--domain", "eng.acme.test",
                       "--database-url", pg_url(missing_database))
    assert_one_line_error(code, err)
    # Then the database it made is gone again, and the directory is as it was
    assert not _exists(missing_database)
    assert sorted(p.name for p in data_dir.iterdir()) == ["policy.toml"]
