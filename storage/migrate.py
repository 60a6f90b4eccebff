"""Bring a database to the code's schema with Alembic (both engines run the same scripts)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.db import Database
from storage.errors import Conflict

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


class BrokenReferences(Conflict):
    """A migration would leave rows that point at rows no longer there; nothing was changed."""


async def _migrate(db: Database, step: Callable[[Config, str], None], revision: str) -> None:
    """Run an Alembic command (upgrade, downgrade) on the database, in one transaction.

    On SQLite, foreign keys are off while it runs. A migration that changes a table SQLite cannot
    alter in place rebuilds it (Alembic's batch mode: copy, DROP, rename), and with foreign keys
    on, the DROP deletes the old table's rows one by one, running every ON DELETE of the tables
    that point at it: upgrading a node emptied its bookmarks, favourites, timelines and boosts.
    This is Alembic's and SQLite's documented procedure (foreign keys off outside the
    transaction, `foreign_key_check` before the commit)."""
    cfg = alembic_config()

    def _run(sync_conn: Any) -> None:
        cfg.attributes["connection"] = sync_conn
        step(cfg, revision)
        broken = sync_conn.exec_driver_sql("PRAGMA foreign_key_check").first() if db.is_sqlite else None
        if broken is not None:  # (table, rowid, the table it points at, …)
            raise BrokenReferences(f"not migrated: rows of {broken[0]} would point at rows of {broken[2]} that are not "
                                   "there (PRAGMA foreign_key_check lists them); the database is unchanged")

    async with db.engine.connect() as conn:
        if db.is_sqlite:  # a no-op inside a transaction: set before it begins
            await conn.run_sync(_foreign_keys, on=False)
        try:
            async with conn.begin():
                await conn.run_sync(_run)
        finally:
            if db.is_sqlite:  # the connection goes back to the pool as every other is
                await conn.run_sync(_foreign_keys, on=True)


def _foreign_keys(sync_conn: Any, *, on: bool) -> None:
    # On the DBAPI connection itself: a statement through SQLAlchemy would begin a transaction.
    cursor = sync_conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        cursor.close()


async def upgrade(db: Database, revision: str = "head") -> None:
    await _migrate(db, command.upgrade, revision)


async def downgrade(db: Database, revision: str) -> None:
    await _migrate(db, command.downgrade, revision)


async def current_revision(db: Database) -> str | None:
    def _current(sync_conn: Any) -> str | None:
        return MigrationContext.configure(sync_conn).get_current_revision()

    async with db.engine.connect() as conn:
        return await conn.run_sync(_current)
