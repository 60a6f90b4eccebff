"""Migrations keep every row: a table SQLite rebuilds (Alembic's batch mode) is dropped with
foreign keys off, so the ON DELETE rules of the tables that point at it do not run. With them on,
upgrading through 0028 emptied a node's bookmarks and deleted its boosts (storage/migrate.py)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import text

from storage import migrate
from storage.db import Database

ACCOUNT = "INSERT INTO accounts (id, username, display_name, bio, role, disabled, locked, credentials_version, " \
          "suspended, silenced, created_at, updated_at) VALUES (:id, :name, '', '', 'user', false, false, 0, " \
          "false, false, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
POST = "INSERT INTO posts (id, account_id, local, source, content_html, summary, sensitive, visibility, in_reply_to_id, " \
       "reblog_of_id, replies_count, likes_count, boosts_count, created_at) VALUES (:id, :author, true, '', '', '', " \
       "false, 'public', :reply_to, :boost_of, 0, 0, 0, '2026-01-01 00:00:00')"
BOOKMARK = "INSERT INTO bookmarks (id, account_id, post_id, created_at) VALUES (5, 2, 10, '2026-01-01 00:00:00')"


async def test_upgrading_keeps_the_rows_that_point_at_a_rebuilt_table(db: Database) -> None:
    # Given a node at 0027 where bob replied to alice's post, boosted it and bookmarked it
    await migrate.downgrade(db, "0027")
    async with db.session() as s:
        for account_id, name in ((1, "alice"), (2, "bob")):
            await s.execute(text(ACCOUNT), {"id": account_id, "name": name})
        await s.execute(text(POST), {"id": 10, "author": 1, "reply_to": None, "boost_of": None})
        await s.execute(text(POST), {"id": 11, "author": 2, "reply_to": 10, "boost_of": None})
        await s.execute(text(POST), {"id": 12, "author": 2, "reply_to": None, "boost_of": 10})
        await s.execute(text(BOOKMARK))
    # When it is upgraded (0028 and 0029 rebuild the posts table on SQLite)
    await migrate.upgrade(db)
    # Then the reply still answers the post, the boost and the bookmark are still there
    async with db.reader() as s:
        posts = (await s.execute(text("SELECT id, in_reply_to_id, reblog_of_id FROM posts ORDER BY id"))).all()
        bookmarks = (await s.execute(text("SELECT post_id FROM bookmarks"))).scalars().all()
    assert [tuple(p) for p in posts] == [(10, None, None), (11, 10, None), (12, None, 10)]
    assert bookmarks == [10]


async def test_after_a_migration_every_connection_enforces_foreign_keys_again(sqlite_db: Database) -> None:
    # Given a SQLite node migrated down and up again
    await migrate.downgrade(sqlite_db, "0028")
    await migrate.upgrade(sqlite_db)
    # When its pooled connections are all taken at once
    async with asyncio.TaskGroup() as group:
        checks = [group.create_task(_foreign_keys_on(sqlite_db)) for _ in range(4)]
    # Then each of them enforces foreign keys
    assert [c.result() for c in checks] == [1, 1, 1, 1]


async def _foreign_keys_on(db: Database) -> int:
    async with db.engine.connect() as conn:
        value = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one()
        await asyncio.sleep(0.05)  # hold it, so the others take other connections
        return int(value)


async def test_a_migration_that_would_leave_broken_references_changes_nothing(sqlite_db: Database) -> None:
    # Given a SQLite node at 0028 with a bookmark of a post that is not there (written by hand,
    # with foreign keys off)
    await migrate.downgrade(sqlite_db, "0028")
    with sqlite3.connect(sqlite_db.url.split("///", 1)[1]) as raw:
        raw.execute("INSERT INTO accounts (id, username, display_name, bio, role, disabled, locked, credentials_version,"
                    " suspended, silenced, created_at, updated_at) VALUES (2, 'bob', '', '', 'user', 0, 0, 0, 0, 0,"
                    " '2026-01-01', '2026-01-01')")
        raw.execute(BOOKMARK)
    # When it is upgraded
    with pytest.raises(migrate.BrokenReferences):
        await migrate.upgrade(sqlite_db)
    # Then it stays at 0028, its rows as they were
    assert await migrate.current_revision(sqlite_db) == "0028"
    async with sqlite_db.reader() as s:
        assert (await s.execute(text("SELECT post_id FROM bookmarks"))).scalars().all() == [10]
