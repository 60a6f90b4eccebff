"""A community's pins by form post over real HTTP (a node in-process, a browser's cookies): its
moderator pins a post written to it and takes the pin back; someone else is refused, and so is
a post written elsewhere, each with a page that says why and nothing written."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import update

from node import accounts, communities, pins, posts
from node.posts import NewPost
from storage.models import Post
from tests.conftest import StartNode
from tests.factory import PASSWORD, LocalNode

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
async def node(start_node: StartNode) -> LocalNode:
    return await start_node(instance=True, users=("alice", "bob"))


async def signed_in(node: LocalNode, login: str) -> tuple[aiohttp.ClientSession, str]:
    http = aiohttp.ClientSession(base_url=node.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get("/signin") as r:
        csrf = CSRF.search(await r.text())
    assert csrf is not None
    async with http.post("/signin", data={"login": login, "password": PASSWORD, "csrf": csrf.group(1)},
                         allow_redirects=False) as r:
        assert r.status == 303, await r.text()
    async with http.get("/") as r:
        csrf = CSRF.search(await r.text())
    assert csrf is not None
    return http, csrf.group(1)


@pytest.fixture
async def sessions(node: LocalNode) -> AsyncIterator[dict[str, tuple[aiohttp.ClientSession, str]]]:
    made = {name: await signed_in(node, name) for name in ("alice", "bob")}
    try:
        yield made
    finally:
        for http, _ in made.values():
            await http.close()


async def test_a_moderator_pins_to_the_community_by_form_and_others_are_refused(
    node: LocalNode, sessions: dict[str, tuple[aiohttp.ClientSession, str]]
) -> None:
    # Given a community alice moderates, a post bob wrote to it and one he wrote elsewhere
    ctx = node.ctx
    alice, bob = await accounts.get_local(ctx, "alice"), await accounts.get_local(ctx, "bob")
    guild = await communities.create_community(ctx, "guild", audience="public", creator=alice)
    written = await posts.create_post(ctx, bob, NewPost("to the guild"))
    elsewhere = await posts.create_post(ctx, bob, NewPost("not to the guild"))
    async with ctx.db.session() as s:  # what posting to a community records
        await s.execute(update(Post).where(Post.id == written.id).values(community_id=guild.id))

    async def press(who: str, path: str) -> tuple[int, str]:
        http, csrf = sessions[who]
        async with http.post(path, data={"csrf": csrf, "next": "/@guild"}, allow_redirects=False) as r:
            return r.status, await r.text()

    # When bob, no moderator, presses "Pin to community": refused with the reason, nothing pinned
    status, text = await press("bob", f"/communities/{guild.id}/pins/{written.id}")
    assert status == 403 and "moderators" in text
    # And alice may not pin a post that was not written to the community
    status, text = await press("alice", f"/communities/{guild.id}/pins/{elsewhere.id}")
    assert status == 422 and "written to this community" in text
    assert await pins.pinned(ctx, None, guild.id) == []
    # When alice pins bob's post to it, she is sent back to the page, and it is pinned
    status, _ = await press("alice", f"/communities/{guild.id}/pins/{written.id}")
    assert status == 303
    assert [p.id for p in await pins.pinned(ctx, None, guild.id)] == [written.id]
    # And a form without its CSRF token changes nothing
    http, _ = sessions["alice"]
    async with http.post(f"/communities/{guild.id}/pins/{written.id}/remove", data={}, allow_redirects=False) as r:
        assert r.status == 403
    assert [p.id for p in await pins.pinned(ctx, None, guild.id)] == [written.id]
    # When she unpins it, the community has none
    status, _ = await press("alice", f"/communities/{guild.id}/pins/{written.id}/remove")
    assert status == 303 and await pins.pinned(ctx, None, guild.id) == []
