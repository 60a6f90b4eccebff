"""Three real nodes on loopback: two departments of one organisation and one partner.

eng (SQLite) and sales (PostgreSQL) trust each other as `organization`; both trust partner as
`partner`; partner trusts both as `public`. Everything between them crosses real HTTP, signed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from node import follows, interactions, notifications, posts, remote, timelines
from node.pagination import Page
from node.posts import NewPost
from storage.models import Account, Post
from tests.conftest import drop_pg_database, recreate_pg_database, worker_tag
from tests.federation.nodes import NodeProcess, eventually


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NodeProcess]]:
    root: Path = tmp_path_factory.mktemp("org")
    pg_name = f"atrium_sales_{worker_tag()}"
    nodes = {
        "eng": NodeProcess("eng", root),
        "sales": NodeProcess("sales", root, recreate_pg_database(pg_name)),
        "partner": NodeProcess("partner", root),
    }
    eng, sales, partner = nodes["eng"], nodes["sales"], nodes["partner"]
    for n in nodes.values():
        n.init()
    eng.write_policy(f'mode = "allowlist"\n[peers."{sales.domain}"]\ntrust = "organization"\n[peers."{partner.domain}"]\ntrust = "partner"\n')
    sales.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "organization"\n[peers."{partner.domain}"]\ntrust = "partner"\n')
    partner.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "public"\n[peers."{sales.domain}"]\ntrust = "public"\n')
    eng.create_user("alice")
    eng.create_user("lena")
    sales.create_user("bob")
    partner.create_user("pat")
    try:
        for n in nodes.values():
            n.start()
        yield nodes
    finally:
        for n in nodes.values():
            n.stop()
        if not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            drop_pg_database(pg_name)


async def home_texts(node: NodeProcess, username: str) -> list[str]:
    async with node.act() as ctx:
        me = await node.user(ctx, username)
        return [p.content_html for p in await timelines.home(ctx, me, Page(limit=40))]


async def stored(node: NodeProcess, uri: str) -> Post | None:
    async with node.act() as ctx, ctx.db.reader() as s:
        return await s.scalar(select(Post).where(Post.uri == uri))


async def follow_remote(node: NodeProcess, username: str, handle: str) -> None:
    async with node.act() as ctx:
        me = await node.user(ctx, username)
        target = await remote.resolve_handle(ctx, handle)
        await follows.follow(ctx, me, target.id)


async def test_follow_across_nodes_and_posts_reach_the_followers_home(org: dict[str, NodeProcess]) -> None:
    eng, sales = org["eng"], org["sales"]
    # Given bob on sales follows alice on eng by her handle
    await follow_remote(sales, "bob", f"alice@{eng.domain}")

    async def accepted() -> bool:
        async with sales.act() as ctx:
            bob = await sales.user(ctx, "bob")
            alice = await remote.resolve_handle(ctx, f"alice@{eng.domain}")
            return (await follows.relationship(ctx, bob, alice.id))["following"]

    await eventually(accepted, what="eng to accept bob's follow")
    # When alice posts publicly
    async with eng.act() as ctx:
        alice = await eng.user(ctx, "alice")
        post = await posts.create_post(ctx, alice, NewPost("Hello from engineering #launch"))
    # Then the post reaches bob's home timeline on sales
    texts = await eventually(lambda: home_texts(sales, "bob"), what="alice's post in bob's home")
    assert any("Hello from engineering" in t for t in texts)
    copy = await stored(sales, post.uri or "")
    assert copy is not None and copy.visibility == "public" and not copy.local
