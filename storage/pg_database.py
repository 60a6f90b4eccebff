"""A new node's PostgreSQL database: made by `atrium init` when it does not exist yet.

SQLite makes its file on first use; PostgreSQL needs `CREATE DATABASE` first, which an
operator following a recipe forgets. When the role in the URL may create databases, init does
it (and drops it again if init then fails); when it may not, the error says how to.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from storage.errors import Invalid

MISSING_DATABASE = "3D000"  # SQLSTATE invalid_catalog_name
MAINTENANCE = ("postgres", "template1")  # the databases every server has, to run CREATE from


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


async def _connects(url: URL) -> bool:
    """True when `url`'s database answers; False when the server says it does not exist."""
    engine = create_async_engine(url, poolclass=NullPool, connect_args={"timeout": 10})
    try:
        async with engine.connect():
            return True
    except DBAPIError as exc:
        if _sqlstate(exc) == MISSING_DATABASE:
            return False
        raise
    finally:
        await engine.dispose()


async def _run_in_maintenance(url: URL, statement: str) -> None:
    """Run `statement` outside a transaction (CREATE/DROP DATABASE must) from a database that
    every server has, as the URL's role."""
    for name in MAINTENANCE:
        engine = create_async_engine(
            url.set(database=name), poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args={"timeout": 10}
        )
        try:
            async with engine.connect() as conn:
                await conn.execute(text(statement))
                return
        except DBAPIError as exc:
            if _sqlstate(exc) != MISSING_DATABASE or name == MAINTENANCE[-1]:
                raise
        finally:
            await engine.dispose()


def _quoted(name: str) -> str:
    """A database name as a PostgreSQL identifier (CREATE DATABASE takes no bound parameter)."""
    return '"' + name.replace('"', '""') + '"'


def _how_to_create(url: URL) -> str:
    where = f"-h {url.host or 'localhost'} -p {url.port or 5432}"
    owner = f" -O {url.username}" if url.username else ""
    return f"createdb {where}{owner} {url.database}"


async def create_if_missing(database_url: str) -> bool:
    """Create the PostgreSQL database `database_url` names when the server has none of that
    name; True when this made it. Any other URL: False, nothing done."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql" or not url.database or await _connects(url):
        return False
    quoted = _quoted(url.database)
    try:
        await _run_in_maintenance(url, f"CREATE DATABASE {quoted}")
    except DBAPIError as exc:
        reason = str(getattr(exc.orig, "__cause__", None) or exc.orig).strip().splitlines()[0]
        raise Invalid(
            f'database "{url.database}" does not exist on {url.host or "localhost"}:{url.port or 5432} '
            f"and could not be created ({reason}): create it with `{_how_to_create(url)}` "
            "as a role that may, then run init again"
        ) from exc
    return True


async def drop(database_url: str) -> None:
    """Drop the database `create_if_missing` made (init failed after making it)."""
    url = make_url(database_url)
    quoted = _quoted(url.database or "")
    await _run_in_maintenance(url, f"DROP DATABASE IF EXISTS {quoted}")
