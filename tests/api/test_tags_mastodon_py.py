"""Followed tags, featured tags, suggestions and trends with Mastodon.py 2.3.3 against real
`atrium serve` processes: `here` (the engine under test) and `there`, trusted as organisation."""

from __future__ import annotations

import asyncio

import aiohttp
import mastodon
import pytest

from node import follows, posts, remote
from node.posts import NewPost
from tests.api.two_nodes import api_token, http, pair
from tests.federation.nodes import NodeProcess, eventually
from tests.federation.test_multinode import follow_remote

__all__ = ["http", "pair"]  # fixtures, used by name


def client(node: NodeProcess, token: str) -> mastodon.Mastodon:
    return mastodon.Mastodon(access_token=token, api_base_url=node.base_url, version_check_mode="created")


async def test_followed_tag_from_another_node_reaches_home_and_trends(
    pair: tuple[NodeProcess, NodeProcess], http: aiohttp.ClientSession
) -> None:
    here, there = pair
    here.create_user("ops")
    alice = client(here, await api_token(http, here, "alice"))
    ops = client(here, await api_token(http, here, "ops"))
    # Given alice follows #Launch through Mastodon.py, and ops (not alice) follows pat on there
    tag = await asyncio.to_thread(alice.tag_follow, "Launch")
    assert tag["name"] == "launch" and tag["following"] is True
    assert [t["name"] for t in await asyncio.to_thread(alice.followed_tags)] == ["launch"]
    assert (await asyncio.to_thread(alice.tag, "launch"))["following"] is True
    await follow_remote(here, "ops", f"pat@{there.domain}")

    async def accepted() -> bool:
        async with here.act() as ctx:
            me = await here.user(ctx, "ops")
            pat = await remote.resolve_handle(ctx, f"pat@{there.domain}")
            return bool((await follows.relationship(ctx, me, pat.id))["following"])

    await eventually(accepted, what="pat to accept ops' follow")
    # When pat posts with the tag on his node
    async with there.act() as ctx:
        await posts.create_post(ctx, await there.user(ctx, "pat"), NewPost("sales is ready #launch"))

    async def in_alice_home() -> list[str]:
        home = await asyncio.to_thread(alice.timeline_home)
        return [s["content"] for s in home if "sales is ready" in s["content"]]

    # Then it lands in alice's home timeline, though she follows nobody
    assert await eventually(in_alice_home, what="pat's tagged post in alice's home")
    # And alice's own post with a link, liked by ops, trends with the tag (two people today)
    own = await asyncio.to_thread(alice.status_post, "read https://docs.acme.test/launch #launch")
    await asyncio.to_thread(ops.status_favourite, own["id"])
    trending = await asyncio.to_thread(alice.trending_tags)
    assert [t["name"] for t in trending] == ["launch"]
    assert trending[0]["history"][0]["accounts"] == "2" and len(trending[0]["history"]) == 7
    assert [s["id"] for s in await asyncio.to_thread(alice.trending_statuses)] == [own["id"]]
    links = await asyncio.to_thread(alice.trending_links)
    assert [link["url"] for link in links] == ["https://docs.acme.test/launch"]
    # When she unfollows the tag, it leaves her list
    assert (await asyncio.to_thread(alice.tag_unfollow, "launch"))["following"] is False
    assert await asyncio.to_thread(alice.followed_tags) == []


async def test_featured_tags_and_suggestions_with_mastodon_py(
    pair: tuple[NodeProcess, NodeProcess], http: aiohttp.ClientSession
) -> None:
    here, _ = pair
    here.create_user("dana")
    alice = client(here, await api_token(http, here, "alice"))
    await asyncio.to_thread(alice.status_post, "shipping #Ops")
    # Given alice features #ops
    assert "ops" in [t["name"] for t in await asyncio.to_thread(alice.featured_tag_suggestions)]
    featured = await asyncio.to_thread(alice.featured_tag_create, "ops")
    assert featured["name"] == "ops" and featured["statuses_count"] == "1" and featured["last_status_at"]
    me = await asyncio.to_thread(alice.me)
    assert [t["name"] for t in await asyncio.to_thread(alice.account_featured_tags, me["id"])] == ["ops"]
    await asyncio.to_thread(alice.featured_tag_delete, featured["id"])
    assert await asyncio.to_thread(alice.featured_tags) == []
    # Then dana, a colleague on this node, is suggested (Mastodon 4.3 shape)
    found = {s["account"]["acct"]: s for s in await asyncio.to_thread(alice.suggestions_v2)}
    assert found["dana"]["sources"] == ["most_followed"] and found["dana"]["source"] == "global"
    assert "alice" not in found
    # When alice blocks dana, dana is suggested no more; a dismissed one neither
    dana_id = found["dana"]["account"]["id"]
    await asyncio.to_thread(alice.account_block, dana_id)
    assert "dana" not in {a["acct"] for a in await asyncio.to_thread(alice.suggestions_v1)}
    await asyncio.to_thread(alice.account_unblock, dana_id)
    await asyncio.to_thread(alice.suggestion_delete, dana_id)
    assert "dana" not in {s["account"]["acct"] for s in await asyncio.to_thread(alice.suggestions_v2)}
    with pytest.raises(mastodon.MastodonNotFoundError):
        await asyncio.to_thread(alice.suggestion_delete, 99999999)
