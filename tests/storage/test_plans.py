"""Query plans of hot reads: the timelines' exclusion of moderated accounts reads the partial
indexes of migration 0006, never a scan of every account (which grows with the node)."""

from __future__ import annotations

from sqlalchemy import select, text

from node.visibility import in_shared_timelines, not_suspended
from storage.db import Database
from storage.models import Post


async def _plan(db: Database, stmt: object) -> str:
    compiled = stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            rows = (await conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))).all()
            return "\n".join(str(r[-1]) for r in rows)
        # On a near-empty table PostgreSQL rightly prefers a sequential scan; what matters is
        # that the index can serve the predicate at all.
        await conn.execute(text("SET enable_seqscan = off"))
        return "\n".join(r[0] for r in (await conn.execute(text(f"EXPLAIN {compiled}"))).all())


async def test_timelines_leave_out_moderated_accounts_through_the_partial_indexes(db: Database) -> None:
    # Given the exclusions every timeline read carries
    stmt = select(Post.id).where(not_suspended(), in_shared_timelines())
    # When the database plans them
    plan = await _plan(db, stmt)
    # Then the accounts are read through a partial index, not scanned
    assert "ix_accounts_unlisted" in plan, plan
    assert "SCAN accounts\n" not in plan + "\n" and "Seq Scan on accounts" not in plan, plan


async def test_the_retention_worker_reads_expired_posts_through_its_index(db: Database) -> None:
    from datetime import UTC, datetime

    from node.audience import Audience
    from node.retention import expired

    # Given the retention worker's query for one audience's expired posts (node/retention.py)
    stmt = expired(Audience.ORGANIZATION, local=True, before=datetime(2026, 1, 1, tzinfo=UTC), limit=200)
    # When the database plans it  # Then it reads a range of ix_posts_retention, oldest first
    plan = await _plan(db, stmt)
    assert "ix_posts_retention" in plan, plan
    assert "TEMP B-TREE FOR ORDER BY" not in plan, plan
