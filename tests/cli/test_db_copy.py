"""`atrium db copy`: a SQLite node moved to PostgreSQL (and back), every row intact.

Needs both engines: the source is a real SQLite node, the target a real PostgreSQL database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from atrium.assembly import context_for
from node import accounts, follows, posts
from node.posts import NewPost
from node.settings import load
from storage.copy import tables
from storage.db import Database
from storage.models import Post
from tests.cli.conftest import assert_one_line_error, run
from tests.conftest import drop_pg_database, recreate_pg_database, worker_tag


@pytest.fixture
def pg_target() -> Iterator[str]:
    name = f"atrium_copy_{worker_tag()}"
    url = recreate_pg_database(name)
    yield url
    drop_pg_database(name)


async def _fill(data_dir: Path) -> None:
    """Posts, a reply, a follow and a like; and a post that answers one stored after it,
    as happens when a remote reply arrives before its parent."""
    settings = load(data_dir)
    db = Database(settings.resolved_database_url)
    try:
        ctx = context_for(settings, db)
        alice = await accounts.get_local(ctx, "alice")
        bob = await accounts.get_local(ctx, "bob")
        await follows.follow(ctx, bob, alice.id)
        first = await posts.create_post(ctx, alice, NewPost("first, for the organisation", visibility="organization"))
        reply = await posts.create_post(ctx, bob, NewPost("a reply", in_reply_to_id=first.id))
        later = await posts.create_post(ctx, bob, NewPost("stored after the post that answers it"))
        async with db.session() as s:
            await s.execute(update(Post).where(Post.id == first.id).values(in_reply_to_id=later.id))
        assert reply.id > first.id
    finally:
        await db.dispose()


async def _rows(url: str) -> dict[str, list[dict[str, object]]]:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            out = {}
            for t in tables():
                result = await conn.execute(select(t).order_by(*t.primary_key.columns))
                out[t.name] = [dict(r._mapping) for r in result]
            return out
    finally:
        await db.dispose()


@pytest.fixture
def sqlite_node(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    data_dir = tmp_path / "eng"
    assert run(capsys, "init", "--data-dir", str(data_dir), "--domain", "eng.acme.test")[0] == 0
    for name in ("alice", "bob"):
        code, _, err = run(capsys, "user", "create", name, "--password-stdin", "--data-dir", str(data_dir), stdin=f"{name}-password\n")
        assert code == 0, err
    asyncio.run(_fill(data_dir))
    return data_dir


def test_a_sqlite_node_moves_to_postgresql_with_every_row(
    sqlite_node: Path, pg_target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite_url = load(sqlite_node).resolved_database_url
    before = asyncio.run(_rows(sqlite_url))
    assert len(before["posts"]) == 3 and len(before["audit_head"]) == 1
    # When the node's data is copied into an empty PostgreSQL database
    code, out, err = run(capsys, "db", "copy", "--data-dir", str(sqlite_node), "--to", pg_target)
    assert code == 0, err
    assert "counts verified" in out
    # Then every row of every table is there, the same
    assert asyncio.run(_rows(pg_target)) == before
    # And the node now reads PostgreSQL: its settings say so and its commands work on it
    assert load(sqlite_node).database_url == pg_target
    code, out, err = run(capsys, "user", "list", "--data-dir", str(sqlite_node))
    assert code == 0, err
    assert "alice" in out and "bob" in out
    code, out, err = run(capsys, "audit", "verify", "--data-dir", str(sqlite_node))
    assert code == 0, err + out
    # And it copies back to a fresh SQLite file just as well
    back = f"sqlite+aiosqlite:///{tmp_path / 'back.db'}"
    code, _, err = run(capsys, "db", "copy", "--from", pg_target, "--to", back)
    assert code == 0, err
    assert asyncio.run(_rows(back)) == before


def test_a_target_that_holds_data_is_refused_and_left_alone(
    sqlite_node: Path, pg_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite_url = load(sqlite_node).resolved_database_url
    # Given a first copy filled the target
    code, _, err = run(capsys, "db", "copy", "--from", sqlite_url, "--to", pg_target)
    assert code == 0, err
    filled = asyncio.run(_rows(pg_target))
    # When a second copy aims at it
    code, _, err = run(capsys, "db", "copy", "--from", sqlite_url, "--to", pg_target)
    # Then it is refused in one line, and the target is unchanged
    assert_one_line_error(code, err)
    assert "already holds data" in err
    assert asyncio.run(_rows(pg_target)) == filled


def test_a_source_that_is_not_a_node_database_is_refused(
    tmp_path: Path, pg_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    code, _, err = run(capsys, "db", "copy", "--from", empty, "--to", pg_target)
    assert_one_line_error(code, err)
    assert "atrium migrate" in err
