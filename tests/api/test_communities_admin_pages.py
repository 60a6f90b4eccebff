"""The web pages that list people, over real HTTP as a browser signs in: the admin's Users page
and the people directory list people, not the node's communities (which share their names'
namespace), and the admin page cannot make a person under a community's name."""

from __future__ import annotations

import re

import aiohttp

from node import accounts, communities
from tests.conftest import StartNode
from tests.factory import PASSWORD

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def test_admin_users_and_the_directory_list_people_only(start_node: StartNode) -> None:
    # Given a node with an admin, a person, and a community the person moderates
    node = await start_node(instance=True, users=("bob",), admins=("root",))
    bob = await accounts.get_local(node.ctx, "bob")
    await communities.create_community(node.ctx, "guild", audience="local", creator=bob, display_name="The Guild")
    async with aiohttp.ClientSession(base_url=node.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get("/signin") as r:
            csrf = CSRF.search(await r.text())
        assert csrf is not None
        async with http.post("/signin", data={"login": "root", "password": PASSWORD, "csrf": csrf.group(1)},
                             allow_redirects=False) as r:
            assert r.status == 303, await r.text()
        # When the admin opens the Users page and the directory
        async with http.get("/admin/users") as r:
            users = await r.text()
        async with http.get("/directory") as r:
            directory = await r.text()
        # Then both list bob and the admin, and neither lists the community
        assert r.status == 200
        for page in (users, directory):
            assert "@bob" in page and "@root" in page
            assert "@guild" not in page and "The Guild" not in page
        # And making a person named like the community (other letters) is refused, saying why
        token = CSRF.search(users)
        assert token is not None
        form = {"username": "GUILD", "password": "long-enough-pw", "role": "user", "csrf": token.group(1)}
        async with http.post("/admin/users", data=form) as r:
            refused = await r.text()
        assert "taken by a community" in refused
    assert [a.username for a in await accounts.list_users(node.ctx)] == ["bob", "root"]
