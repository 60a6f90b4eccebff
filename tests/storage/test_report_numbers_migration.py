"""Migration 0009 numbers the reports a node already keeps, in the order they came."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import TextClause, bindparam, text

from storage import migrate
from storage.db import Database
from storage.models import UTCDateTime

ACCOUNT = "INSERT INTO accounts (id, username, display_name, bio, role, disabled, locked, credentials_version, " \
          "suspended, silenced, created_at, updated_at) VALUES (:id, :name, '', '', 'user', false, false, 0, " \
          "false, false, :at, :at)"
REPORT = "INSERT INTO reports (id, reporter_id, target_id, post_ids, comment, resolved, resolution, created_at) " \
         "VALUES (:id, 1, 2, '[]', '', false, '', :at)"


def at(day: int) -> datetime:
    return datetime(2026, 1, day, tzinfo=UTC)


def insert(sql: str) -> TextClause:
    return text(sql).bindparams(bindparam("at", type_=UTCDateTime()))


async def test_reports_kept_before_the_migration_are_numbered_by_age(db: Database) -> None:
    # Given a node at 0008 keeping three reports, whose ids do not follow their age
    await migrate.downgrade(db, "0008")
    async with db.session() as s:
        for account_id, name in ((1, "alice"), (2, "mallory")):
            await s.execute(insert(ACCOUNT), {"id": account_id, "name": name, "at": at(1)})
        for report_id, day in ((300, 2), (100, 3), (200, 1)):
            await s.execute(insert(REPORT), {"id": report_id, "at": at(day)})
    # When it is upgraded
    await migrate.upgrade(db)
    # Then the oldest is #1 and the newest #3
    async with db.reader() as s:
        rows = (await s.execute(text("SELECT id, number FROM reports ORDER BY number"))).all()
    assert [tuple(r) for r in rows] == [(200, 1), (300, 2), (100, 3)]
