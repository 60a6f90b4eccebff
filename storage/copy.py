"""Copy a node's whole database into another (SQLite -> PostgreSQL, or back).

The target is migrated to the code's schema first and must hold nothing beyond what the
migrations themselves write (the audit chain's genesis row). Tables are copied in foreign-key
order, in batches, inside one target transaction: a failure leaves the target as it was.
Columns that point into their own table (a reply's parent post) are filled in a second pass,
since a row may name a parent stored after it. Row counts are compared before committing.

Written here rather than taken from a tool (pgloader and friends) because it must go through
the code's own column types — SQLite keeps naive UTC text that PostgreSQL must receive as
aware timestamps — and must check the schema revision on both sides.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Column, Table, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import migrate
from storage.db import Database
from storage.errors import AtriumError, Conflict, Invalid
from storage.models import Base

BATCH = 500


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int


def tables() -> list[Table]:
    """Every table of the schema, parents before the tables that point at them."""
    return list(Base.metadata.sorted_tables)


def _self_references(table: Table) -> list[Column[object]]:
    return [c for c in table.columns if any(fk.column.table is table for fk in c.foreign_keys)]


async def _counts(conn: AsyncConnection) -> dict[str, int]:
    return {t.name: int(await conn.scalar(select(func.count()).select_from(t)) or 0) for t in tables()}


async def migration_rows() -> dict[str, int]:
    """How many rows a freshly migrated database holds in each table (seed rows)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'fresh.db'}")
        try:
            await migrate.upgrade(db)
            async with db.engine.connect() as conn:
                return await _counts(conn)
        finally:
            await db.dispose()


async def _require_head(db: Database, what: str) -> None:
    current, head = await migrate.current_revision(db), migrate.head_revision()
    if current != head:
        raise Invalid(
            f"the {what} database's schema is at {current or 'nothing'}, the code needs {head}: "
            "run `atrium migrate` on it first"
        )


async def _copy_table(source: AsyncConnection, target: AsyncConnection, table: Table, batch: int) -> int:
    later = _self_references(table)
    key = list(table.primary_key.columns)
    copied = 0
    deferred: list[dict[str, object]] = []
    result = await source.stream(select(table).order_by(*key))
    async for rows in result.partitions(batch):
        values = [dict(row._mapping) for row in rows]
        for v in values:
            if any(v[c.name] is not None for c in later):
                deferred.append({**{f"k_{c.name}": v[c.name] for c in key}, **{f"v_{c.name}": v[c.name] for c in later}})
            for c in later:
                v[c.name] = None
        await target.execute(table.insert(), values)
        copied += len(values)
    if deferred:
        stmt = (
            table.update()
            .where(*(c == bindparam(f"k_{c.name}") for c in key))
            .values({c.name: bindparam(f"v_{c.name}") for c in later})
        )
        for start in range(0, len(deferred), batch):
            await target.execute(stmt, deferred[start : start + batch])
    return copied


async def copy_database(source: Database, target: Database, batch: int = BATCH) -> list[Copied]:
    """Copy every row of `source` into `target` (migrated here if it has no schema yet)."""
    if source.url == target.url:
        raise Invalid("the source and the target are the same database")
    await _require_head(source, "source")
    await migrate.upgrade(target)
    await _require_head(target, "target")
    seeded = await migration_rows()
    # A snapshot of the source: one read transaction (REPEATABLE READ on PostgreSQL).
    src_engine = source.read_engine
    if source.dialect == "postgresql":  # not its readers' engine: they run in autocommit
        src_engine = source.engine.execution_options(isolation_level="REPEATABLE READ")
    async with src_engine.connect() as src, target.engine.begin() as dst:
        await src.begin()
        found = await _counts(dst)
        extra = [name for name, n in found.items() if n != seeded.get(name, 0)]
        if extra:
            raise Conflict(f"the target database already holds data (in {', '.join(sorted(extra))}); give an empty one")
        for table in reversed(tables()):  # the migrations' seed rows make way for the source's
            if seeded.get(table.name):
                await dst.execute(table.delete())
        copied = [Copied(t.name, await _copy_table(src, dst, t, batch)) for t in tables()]
        expected, landed = await _counts(src), await _counts(dst)
        if expected != landed:
            wrong = [f"{n}: {expected[n]} -> {landed[n]}" for n in expected if expected[n] != landed[n]]
            raise AtriumError(f"row counts differ after the copy ({'; '.join(wrong)}); nothing was written", status=500)
    return copied
