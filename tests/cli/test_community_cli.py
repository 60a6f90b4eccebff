"""`atrium community create|list`: a community made from the command line, with its
moderator; bad input (a name taken by a person either way round, in other letters, an audience
a boost does not keep, an unknown mode or moderator) is one line and changes nothing; people
listings (`atrium user list`) leave communities out. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import select

from atrium.assembly import context_for
from atrium.demo_seed import COMMUNITY, COMMUNITY_NODE, COMMUNITY_POSTS, DemoNode, make_community
from node import communities
from node.context import NodeContext
from node.settings import load
from storage.db import Database
from storage.models import Post
from tests.cli.conftest import assert_one_line_error, run

T = TypeVar("T")


def _rows(out: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split()[1:] for line in out.strip().splitlines()[1:]}


def test_create_and_list_communities(node_dir: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a node with a person, and ATRIUM_DATA_DIR standing in for --data-dir
    monkeypatch.setenv("ATRIUM_DATA_DIR", str(node_dir))
    code, _, err = run(capsys, "user", "create", "alice", "--password", "alice-password")
    assert code == 0, err
    # When an operator makes an organisation community moderated by alice, and an open public one
    code, out, err = run(capsys, "community", "create", "engineering-guild", "--audience", "organization",
                         "--mode", "approval", "--display-name", "Engineering Guild",
                         "--description", "Talks and tools", "--moderator", "alice")
    assert code == 0, err
    assert "engineering-guild@eng.acme.test" in out and "moderated by alice" in out
    code, out, err = run(capsys, "community", "create", "lunch", "--audience", "public",
                         "--data-dir", str(node_dir))
    assert code == 0, err
    # Then the list shows both with audience, mode and members (the moderator is the first)
    code, out, err = run(capsys, "community", "list")
    assert code == 0, err
    assert _rows(out) == {"engineering-guild": ["organization", "approval", "1", "Engineering", "Guild"],
                          "lunch": ["public", "open", "0", "lunch"]}
    # And `user list` lists people only
    code, out, err = run(capsys, "user", "list")
    assert code == 0, err
    assert list(_rows(out)) == ["alice"]


@pytest.mark.parametrize(("argv", "says"), [
    (["community", "create", "Alice", "--audience", "public"], "user 'alice' already exists"),  # a person's name, other letters
    (["community", "create", "GUILD", "--audience", "public"], "already exists"),  # a community's
    (["community", "create", "secret", "--audience", "followers"], "audience"),
    (["community", "create", "odd", "--audience", "public", "--mode", "closed"], "mode"),
    (["community", "create", "nobody", "--audience", "public", "--moderator", "zed"], "no such user"),
    (["community", "create", "lonely", "--audience", "public", "--moderator", "guild"], "not a person"),
    (["community", "create", "bad name!", "--audience", "public"], "invalid"),
    (["community", "create", "noaudience"], "--audience"),
    (["user", "create", "guild", "--password", "pw-pw-pw-pw"], "taken by a community"),  # the other way round
    (["user", "create", "Guild", "--password", "pw-pw-pw-pw"], "taken by a community"),
    (["user", "set-password", "guild", "--password", "pw-pw-pw-pw"], "a community, not a person"),  # no sign-in
    (["user", "set-role", "guild", "admin"], "a community, not a person"),
])
def test_bad_input_is_one_line_and_changes_nothing(node_dir: Path, capsys: pytest.CaptureFixture[str],
                                                   argv: list[str], says: str) -> None:
    # Given a person alice and a community guild
    dd = ["--data-dir", str(node_dir)]
    assert run(capsys, "user", "create", "alice", "--password", "alice-password", *dd)[0] == 0
    assert run(capsys, "community", "create", "guild", "--audience", "local", *dd)[0] == 0
    # When the command is refused
    code, _, err = run(capsys, *argv, *dd)
    assert_one_line_error(code, err)
    assert says in err, err
    # Then nothing else was made
    assert list(_rows(run(capsys, "community", "list", *dd)[1])) == ["guild"]
    assert list(_rows(run(capsys, "user", "list", *dd)[1])) == ["alice"]


def test_list_without_communities_says_how_to_make_one(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "community", "list", "--data-dir", str(node_dir))
    assert code == 0, err
    assert "atrium community create" in out


def test_the_demo_seeds_a_community_with_a_member_and_posts(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the demo's eng node with its people
    dd = ["--data-dir", str(node_dir)]
    for name in ("alice", "lena"):
        assert run(capsys, "user", "create", name, "--password", f"{name}-password", *dd)[0] == 0
    nodes = {COMMUNITY_NODE: DemoNode(COMMUNITY_NODE, "Acme Engineering", "department", 0, node_dir)}
    # When the demo seeds its community (twice: a second run keeps the first's)
    asyncio.run(make_community(nodes))
    asyncio.run(make_community(nodes))
    # Then it is listed with its moderator and member, and each sample post was re-shared by it
    assert _rows(run(capsys, "community", "list", *dd)[1])[COMMUNITY][:3] == ["organization", "open", "2"]

    async def reshares(ctx: NodeContext) -> list[str]:
        group, _ = await communities.get_community(ctx, COMMUNITY)
        async with ctx.db.reader() as s:
            originals = select(Post.reblog_of_id).where(Post.account_id == group.id)
            return list((await s.scalars(select(Post.source).where(Post.id.in_(originals)).order_by(Post.id))).all())

    assert _on_node(node_dir, reshares) == [text for _, text in COMMUNITY_POSTS]


def _on_node(data_dir: Path, fn: Callable[[NodeContext], Awaitable[T]]) -> T:
    async def go() -> T:
        settings = load(data_dir)
        db = Database(settings.resolved_database_url)
        try:
            return await fn(context_for(settings, db))
        finally:
            await db.dispose()

    return asyncio.run(go())
