"""`atrium search reindex`: rebuilds the full-text index of posts from the posts, in batches,
and says how many; a bad option is one line. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from atrium.assembly import context_for
from node import accounts, post_search, posts, search_query
from node.posts import NewPost
from node.settings import load
from storage import search_index
from storage.db import Database
from tests.cli.conftest import assert_one_line_error, run


def _in_node(data_dir: Path, action: str) -> int:
    async def go() -> int:
        settings = load(data_dir)
        db = Database(settings.resolved_database_url)
        try:
            ctx = context_for(settings, db)
            alice = await accounts.get_local(ctx, "alice")
            if action == "post":
                for i in range(5):
                    await posts.create_post(ctx, alice, NewPost(f"migration step {i}"))
                async with db.session() as s:  # the index lost (a restore, a copy)
                    await search_index.clear(s)
                return 0
            query = search_query.parse("migrate", settings.domain)
            return len(await post_search.find_posts(ctx, alice, query, post_search.Window(limit=40)))
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_reindex_rebuilds_the_index(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a node with five posts whose index was lost
    code, _, err = run(capsys, "user", "create", "alice", "--password-stdin", "--data-dir", str(node_dir),
                       stdin="a-long-password\n")
    assert code == 0, err
    _in_node(node_dir, "post")
    assert _in_node(node_dir, "count") == 0
    # When `atrium search reindex` runs in batches of two
    code, out, err = run(capsys, "search", "reindex", "--batch", "2", "--data-dir", str(node_dir))
    # Then it says how many, and the posts are found again
    assert code == 0, err
    assert out.strip() == "indexed 5 posts"
    assert _in_node(node_dir, "count") == 5


def test_reindex_refuses_a_bad_batch(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "search", "reindex", "--batch", "0", "--data-dir", str(node_dir))
    assert code != 0 and "Traceback" not in err and "--batch" in err


def test_reindex_without_a_node_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "search", "reindex", "--data-dir", str(tmp_path / "nothing"))
    assert_one_line_error(code, err)
