"""The migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage import migrate, search_index
from storage.db import Database
from storage.models import Base


async def test_migrations_reach_head_and_match_the_models(db: Database) -> None:
    # Given a database migrated by the fixture
    # When we compare it with the models
    def _diff(sync_conn: Any) -> list[Any]:
        ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return [d for d in compare_metadata(ctx, Base.metadata) if not _expression_index(d) and not _search_index(d)]

    async with db.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    # Then nothing differs and the revision is the head
    assert diff == []
    assert await migrate.current_revision(db) == migrate.head_revision()


def _expression_index(d: Any) -> bool:
    # Alembic cannot reflect expression indexes on SQLite; test_handle_is_unique covers it.
    return isinstance(d, tuple) and d[0] in ("add_index", "remove_index") and d[1].name == "ux_accounts_handle"


def _search_index(d: Any) -> bool:
    # The full-text index is no model (an FTS5 table and its shadows; a tsvector table):
    # storage/search_index.py owns it, tests/node/test_post_search.py tests it.
    if not isinstance(d, tuple) or d[0] not in ("remove_table", "remove_index"):
        return False
    table = d[1] if d[0] == "remove_table" else d[1].table
    return bool(table.name.startswith(search_index.TABLE_PREFIX))


async def test_downgrade_to_base_and_up_again(db: Database) -> None:
    # Given a migrated database, When it is downgraded to nothing and upgraded again
    await migrate.downgrade(db, "base")
    assert await migrate.current_revision(db) is None
    await migrate.upgrade(db)
    # Then it is at head again
    assert await migrate.current_revision(db) == migrate.head_revision()


async def test_handle_is_unique_in_the_database_itself(db: Database) -> None:
    # Given an account row, When another row with the same handle in another case is written
    # directly (bypassing the node's own check), Then the database refuses it
    import pytest
    from sqlalchemy.exc import IntegrityError

    from storage.models import Account

    async with db.session() as s:
        s.add(Account(username="Alice", domain=None))
    with pytest.raises(IntegrityError):
        async with db.session() as s:
            s.add(Account(username="alice", domain=None))
    async with db.session() as s:  # the same name on another domain is someone else
        s.add(Account(username="alice", domain="sales.acme.test"))
