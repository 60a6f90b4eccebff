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

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def _migrate(db: Database, step: Callable[[Config, str], None], revision: str) -> None:
    """Run an Alembic command (upgrade, downgrade) on the database, in one transaction."""
    cfg = alembic_config()

    def _run(sync_conn: Any) -> None:
        cfg.attributes["connection"] = sync_conn
        step(cfg, revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(_run)


async def upgrade(db: Database, revision: str = "head") -> None:
    await _migrate(db, command.upgrade, revision)


async def downgrade(db: Database, revision: str) -> None:
    await _migrate(db, command.downgrade, revision)


async def current_revision(db: Database) -> str | None:
    def _current(sync_conn: Any) -> str | None:
        return MigrationContext.configure(sync_conn).get_current_revision()

    async with db.engine.connect() as conn:
        return await conn.run_sync(_current)
