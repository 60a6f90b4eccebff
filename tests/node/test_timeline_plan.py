"""A timeline page's statement is planned once on PostgreSQL and its plan reused, not planned
afresh for every read (planning cost more than running it: 0.8 ms of a 3 ms home timeline)."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, text

from node import timelines
from node.context import NodeContext
from node.pagination import Page
from storage.db import Database
from storage.ids import new_id
from storage.models import Account, Post, TimelineEntry
from tests.conftest import ENGINES
from tests.factory import public_post_row

POSTS = 20_000
pytestmark = pytest.mark.parametrize("engine_name", [e for e in ENGINES if e == "postgresql"])


async def test_the_home_timeline_is_planned_once_and_its_plan_reused(db: Database) -> None:
    # Given a viewer whose home holds 20,000 posts of another account (with few, the plan for
    # any limit is cheap too, and the server keeps it either way), the statistics up to date
    async with db.session() as s:
        viewer, author = Account(username="viewer", domain=None), Account(username="author", domain=None)
        s.add_all([viewer, author])
    ids = sorted(new_id() for _ in range(POSTS))
    async with db.session() as s:
        await s.execute(insert(Post), [public_post_row(author.id, "hi", i) for i in ids])
        await s.execute(insert(TimelineEntry), [{"account_id": viewer.id, "post_id": i, "author_id": author.id}
                                                for i in ids])
    async with db.engine.connect() as conn:
        await conn.execute(text("ANALYZE posts"))
        await conn.execute(text("ANALYZE home_entries"))
        await conn.commit()
    ctx = NodeContext(db=db, domain="plan.atrium.test")
    # When the viewer reads the first page and the next, ten times each
    for _ in range(10):
        first = await timelines.home(ctx, viewer, Page(limit=20))
        rest = await timelines.home(ctx, viewer, Page(max_id=first[-1].id, limit=20))
        assert [p.id for p in first + rest] == ids[::-1][:40]
    # Then the server made a generic plan and ran it, past the five custom plans it tries first
    async with db.reader() as s:
        rows = (await s.execute(text(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE 'SELECT posts.%JOIN home_entries%'"
        ))).all()
    assert len(rows) == 2 and all(generic > 0 and custom <= 5 for generic, custom in rows), rows  # both pages
