"""Communities (FEP-1b12) between Atrium and a real Fedify 2.3.6 server, both ways: a Lemmy-style
community on Fedify (an Announce of the member's Create, embedded) delivers into an Atrium
member's home; an Atrium public community followed by a Fedify actor sends it the
Announce-wrapped posts written to it. Everything crosses real HTTP, signed and verified."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from node import communities, posts, remote, timelines
from node.pagination import Page
from node.posts import NewPost
from storage.models import Account, Follow, Post
from tests.federation.nodes import NodeProcess, eventually
from tests.interop.fedify_peer import FedifyPeer, ensure_fedify


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, FedifyPeer]]:
    node_binary = ensure_fedify()
    root: Path = tmp_path_factory.mktemp("fedify_communities")
    atrium = NodeProcess("atrium", root)
    fedify = FedifyPeer(root, group="club")
    atrium.init()
    atrium.write_policy(f'mode = "allowlist"\n[peers."{fedify.domain}"]\ntrust = "public"\n')
    atrium.create_user("alice")
    try:
        fedify.start(node_binary)
        atrium.start()
        yield atrium, fedify
    finally:
        atrium.stop()
        fedify.stop()


async def _member(atrium: NodeProcess, group_uri: str) -> bool:
    async with atrium.act() as ctx, ctx.db.reader() as s:
        alice = await atrium.user(ctx, "alice")
        group = await s.scalar(select(Account).where(Account.actor_uri == group_uri))
        state = None if group is None else await s.scalar(
            select(Follow.state).where(Follow.follower_id == alice.id, Follow.target_id == group.id))
    return state == "accepted"


async def _stored(atrium: NodeProcess, uri: str) -> Post | None:
    async with atrium.act() as ctx, ctx.db.reader() as s:
        return await s.scalar(select(Post).where(Post.uri == uri))


async def test_a_fedify_community_delivers_into_an_atrium_members_home(pair: tuple[NodeProcess, FedifyPeer]) -> None:
    atrium, fedify = pair
    club = f"{fedify.base_url}/users/club"
    # Given alice joins the Fedify community by its handle
    async with atrium.act() as ctx:
        group = await remote.resolve_handle(ctx, f"club@{fedify.domain}")
        assert group.is_group and group.actor_uri == club
        await communities.join(ctx, await atrium.user(ctx, "alice"), group.id)
    await eventually(lambda: _member(atrium, club), timeout=30, what="Fedify's Accept of alice's join")
    # When a member writes to it there, and the community announces the Create, embedded
    sent = await fedify.group_post("Lemmy-style hello to the club")
    # Then Atrium keeps the post as the community's, and the community's re-share is in alice's home
    note = await eventually(lambda: _stored(atrium, sent["note_id"]), timeout=30, what="the announced post at Atrium")
    async with atrium.act() as ctx, ctx.db.reader() as s:
        group_row = await s.scalar(select(Account).where(Account.actor_uri == club))
        assert group_row is not None and note.community_id == group_row.id
        home = await timelines.home(ctx, await atrium.user(ctx, "alice"), Page(limit=20))
    assert [(p.account_id, p.reblog_of_id) for p in home] == [(group_row.id, note.id)]
    assert "Lemmy-style hello" in note.content_html


async def _announce_at_fedify(fedify: FedifyPeer, actor: str, object_id: str) -> dict[str, Any] | None:
    for activity in await fedify.received():
        if activity["type"] == "Announce" and activity["actor"] == actor and activity["object_id"] == object_id:
            return activity
    return None


async def test_an_atrium_community_followed_from_fedify_sends_it_the_announces(pair: tuple[NodeProcess, FedifyPeer]) -> None:
    atrium, fedify = pair
    # Given a public community on Atrium, with alice in it, followed by the Fedify actor
    async with atrium.act() as ctx:
        alice = await atrium.user(ctx, "alice")
        group = await communities.create_community(ctx, "makers", audience="public", creator=alice)
        group_uri = ctx.actor_uri(group.username)
    follow_id = await fedify.follow(group_uri)

    async def accepted() -> bool:
        return any(a["type"] == "Accept" and a["object_id"] == follow_id for a in await fedify.received())

    await eventually(accepted, timeout=30, what="the community's Accept at Fedify")
    # When alice writes to the community
    async with atrium.act() as ctx:
        post = await posts.create_post(ctx, await atrium.user(ctx, "alice"),
                                       NewPost("Show and tell on Thursday", community_id=group.id))
    # Then Fedify verified the community's Announce of it (FEP-1b12's re-share)
    got = await eventually(lambda: _announce_at_fedify(fedify, group_uri, post.uri or ""), timeout=30,
                           what="the community's Announce at Fedify")
    assert got["raw"]["actor"] == group_uri and got["spec"] is not None  # signed, and Fedify verified it
