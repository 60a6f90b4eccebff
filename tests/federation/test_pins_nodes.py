"""Pinned posts across three real nodes on loopback: eng (SQLite) and sales (PostgreSQL) trust
each other as `organization`, both trust partner as `partner`. alice on eng pins a public and an
organisation post; when bob on sales and pat on partner first open her profile, each node reads
her `featured` collection through its gate, signed, and shows her pins first — sales both,
partner only the public one: the organisation post never crossed to partner."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from node import pins, posts, profiles, remote
from node.posts import NewPost
from storage.models import Post
from tests.conftest import recreate_pg_database, worker_tag
from tests.federation.nodes import NodeProcess, serving


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NodeProcess]]:
    root: Path = tmp_path_factory.mktemp("pins")
    pg_name = f"atrium_pins_sales_{worker_tag()}"
    nodes = {
        "eng": NodeProcess("eng", root),
        "sales": NodeProcess("sales", root, recreate_pg_database(pg_name)),
        "partner": NodeProcess("partner", root),
    }
    eng, sales, partner = nodes["eng"], nodes["sales"], nodes["partner"]
    with ThreadPoolExecutor() as pool:
        list(pool.map(NodeProcess.init, nodes.values()))
    eng.write_policy(f'mode = "allowlist"\n[peers."{sales.domain}"]\ntrust = "organization"\n[peers."{partner.domain}"]\ntrust = "partner"\n')
    sales.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "organization"\n[peers."{partner.domain}"]\ntrust = "partner"\n')
    partner.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "public"\n[peers."{sales.domain}"]\ntrust = "public"\n')
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda a: a[0].create_user(a[1]), [(eng, "alice"), (sales, "bob"), (partner, "pat")]))
    with serving(list(nodes.values()), pg_name):
        yield nodes


async def _pin_on_eng(eng: NodeProcess) -> dict[str, str]:
    async with eng.act() as ctx:
        alice = await eng.user(ctx, "alice")
        made = {}
        for audience in ("public", "organization", "followers"):
            post = await posts.create_post(ctx, alice, NewPost(f"alice pinned this, for {audience}", visibility=audience))
            await pins.pin(ctx, alice, post.id)
            made[audience] = post.uri or ""
        unpinned = await posts.create_post(ctx, alice, NewPost("alice did not pin this"))
        made["unpinned"] = unpinned.uri or ""
        return made


async def _first_look(node: NodeProcess, viewer: str, handle: str) -> list[str]:
    """The viewer opens the profile (the first look reads it from its node); its pins as shown."""
    async with node.act() as ctx:
        me = await node.user(ctx, viewer)
        account = await remote.resolve_handle(ctx, handle)
        account = await profiles.first_look(ctx, account)
        return [p.uri or "" for p in await pins.pinned(ctx, me, account.id)]


async def _stored(node: NodeProcess, uri: str) -> bool:
    async with node.act() as ctx, ctx.db.reader() as s:
        return await s.scalar(select(Post.id).where(Post.uri == uri)) is not None


def test_a_peers_pins_are_shown_first_as_far_as_its_policy_lets_them_go(org: dict[str, NodeProcess]) -> None:
    eng, sales, partner = org["eng"], org["sales"], org["partner"]
    # Given alice on eng pinned a public, an organisation and a followers' post (latest last)
    made = asyncio.run(_pin_on_eng(eng))
    handle = f"alice@{eng.domain}"
    # When bob on sales (organisation) opens her profile for the first time
    seen_by_bob = asyncio.run(_first_look(sales, "bob", handle))
    # Then her organisation and public pins are shown, the latest pin first; not the followers' one
    assert seen_by_bob == [made["organization"], made["public"]]
    # When pat on partner opens it
    seen_by_pat = asyncio.run(_first_look(partner, "pat", handle))
    # Then only the public pin is shown, and the organisation post never reached partner at all
    assert seen_by_pat == [made["public"]]
    assert not asyncio.run(_stored(partner, made["organization"]))
    assert not asyncio.run(_stored(partner, made["followers"]))
    assert not asyncio.run(_stored(sales, made["followers"]))
