"""Relationships across two real nodes, driven only through the client API a Mastodon app
uses: a remote follow federates and stays `requested` until the peer's Accept arrives, a
locked remote account authorizes by API, unfollow and block reach the other side.

eng (SQLite) and sales (PostgreSQL when the run includes it) trust each other as `organization`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import ENGINES, drop_pg_database, recreate_pg_database, worker_tag
from tests.federation.nodes import NodeProcess, eventually

JSON = Any


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    root: Path = tmp_path_factory.mktemp("api-pair")
    pg_name = f"atrium_api_sales_{worker_tag()}" if "postgresql" in ENGINES else None
    eng = NodeProcess("eng", root)
    sales = NodeProcess("sales", root, recreate_pg_database(pg_name) if pg_name else None)
    with ThreadPoolExecutor() as pool:
        list(pool.map(NodeProcess.init, (eng, sales)))
    eng.write_policy(f'mode = "allowlist"\n[peers."{sales.domain}"]\ntrust = "organization"\n')
    sales.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "organization"\n')
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda a: a[0].create_user(a[1]), [(eng, "alice"), (sales, "bob"), (sales, "lena")]))
    try:
        with ThreadPoolExecutor() as pool:
            list(pool.map(NodeProcess.start, (eng, sales)))
        yield eng, sales
    finally:
        eng.stop()
        sales.stop()
        if pg_name and not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            drop_pg_database(pg_name)


class App:
    """A Mastodon client app signed in to one node as one user, over real HTTP."""

    def __init__(self, http: aiohttp.ClientSession, node: NodeProcess, token: str) -> None:
        self.http, self.node, self.token = http, node, token

    @classmethod
    async def sign_in(cls, http: aiohttp.ClientSession, node: NodeProcess, username: str) -> App:
        app = await (
            await http.post(
                f"{node.base_url}/api/v1/apps",
                data={"client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write follow"},
            )
        ).json()
        resp = await http.post(
            f"{node.base_url}/oauth/token",
            data={
                "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
                "username": username, "password": f"{username}-password", "scope": "read write follow",
            },
        )
        assert resp.status == 200, await resp.text()
        return cls(http, node, (await resp.json())["access_token"])

    async def call(self, method: str, path: str, expect: int = 200, **kw: Any) -> JSON:
        resp = await self.http.request(
            method, f"{self.node.base_url}{path}", headers={"Authorization": f"Bearer {self.token}"}, **kw
        )
        body = await resp.json()
        assert resp.status == expect, (resp.status, body)
        return body

    async def relationship(self, account_id: str) -> JSON:
        return (await self.call("GET", "/api/v1/accounts/relationships", params={"id[]": account_id}))[0]

    async def find(self, handle: str) -> JSON:
        found = await self.call("GET", "/api/v1/accounts/search", params={"q": handle, "resolve": "true"})
        assert [a["acct"] for a in found] == [handle]
        return found[0]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


async def test_remote_follow_is_requested_until_the_accept_then_following(
    pair: tuple[NodeProcess, NodeProcess], http: aiohttp.ClientSession
) -> None:
    eng, sales = pair
    alice = await App.sign_in(http, eng, "alice")
    bob = await App.sign_in(http, sales, "bob")
    # Given alice finds bob on sales by his handle (user@host:port)
    remote_bob = await alice.find(f"bob@{sales.domain}")
    # When she follows him
    rel = await alice.call("POST", f"/api/v1/accounts/{remote_bob['id']}/follow")
    # Then the follow is requested, not yet following: it waits for sales to accept
    assert (rel["following"], rel["requested"]) == (False, True)

    async def following() -> bool:
        return bool((await alice.relationship(remote_bob["id"]))["following"])

    await eventually(following, timeout=60, what="sales to accept alice's follow")
    # And on sales, bob has alice (as a remote account) among his followers
    bob_me = await bob.call("GET", "/api/v1/accounts/verify_credentials")
    followers = await bob.call("GET", f"/api/v1/accounts/{bob_me['id']}/followers")
    assert [a["acct"] for a in followers] == [f"alice@{eng.domain}"]
    assert (await alice.call("GET", "/api/v1/accounts/lookup", params={"acct": f"bob@{sales.domain}"}))["id"] == remote_bob["id"]
    # When she unfollows, the Undo reaches sales and bob loses the follower
    rel = await alice.call("POST", f"/api/v1/accounts/{remote_bob['id']}/unfollow")
    assert (rel["following"], rel["requested"]) == (False, False)

    async def no_followers() -> bool:
        return await bob.call("GET", f"/api/v1/accounts/{bob_me['id']}/followers") == []

    await eventually(no_followers, timeout=60, what="the Undo at sales")


async def test_locked_remote_account_authorizes_by_api(
    pair: tuple[NodeProcess, NodeProcess], http: aiohttp.ClientSession
) -> None:
    eng, sales = pair
    alice = await App.sign_in(http, eng, "alice")
    lena = await App.sign_in(http, sales, "lena")
    # Given lena locks her account, and alice asks to follow her
    assert (await lena.call("PATCH", "/api/v1/accounts/update_credentials", data={"locked": "true"}))["locked"] is True
    remote_lena = await alice.find(f"lena@{sales.domain}")
    assert (await alice.call("POST", f"/api/v1/accounts/{remote_lena['id']}/follow"))["requested"] is True

    async def requests() -> list[JSON]:
        found: list[JSON] = await lena.call("GET", "/api/v1/follow_requests")
        return found

    pending = await eventually(requests, timeout=60, what="alice's request at sales")
    assert [a["acct"] for a in pending] == [f"alice@{eng.domain}"]
    # While lena has not answered, alice stays requested
    assert (await alice.relationship(remote_lena["id"]))["requested"] is True
    # When lena authorizes it by API
    rel = await lena.call("POST", f"/api/v1/follow_requests/{pending[0]['id']}/authorize")
    assert rel["followed_by"] is True
    # Then the Accept reaches eng and alice follows her

    async def following() -> bool:
        return bool((await alice.relationship(remote_lena["id"]))["following"])

    await eventually(following, timeout=60, what="lena's Accept at eng")


async def test_block_of_a_remote_follower_severs_the_follow_on_both_nodes(
    pair: tuple[NodeProcess, NodeProcess], http: aiohttp.ClientSession
) -> None:
    eng, sales = pair
    alice = await App.sign_in(http, eng, "alice")
    bob = await App.sign_in(http, sales, "bob")
    # Given bob on sales follows alice on eng
    remote_alice = await bob.find(f"alice@{eng.domain}")
    await bob.call("POST", f"/api/v1/accounts/{remote_alice['id']}/follow")

    async def bob_follows() -> bool:
        return bool((await bob.relationship(remote_alice["id"]))["following"])

    await eventually(bob_follows, timeout=60, what="bob's follow accepted")
    # When alice blocks bob
    remote_bob = await alice.find(f"bob@{sales.domain}")
    rel = await alice.call("POST", f"/api/v1/accounts/{remote_bob['id']}/block")
    assert (rel["blocking"], rel["followed_by"]) == (True, False)
    # Then the Block reaches sales: bob no longer follows her there, and sees the block

    async def severed() -> bool:
        rel = await bob.relationship(remote_alice["id"])
        return not rel["following"] and bool(rel["blocked_by"])

    await eventually(severed, timeout=60, what="the Block at sales")
    await alice.call("POST", f"/api/v1/accounts/{remote_bob['id']}/unblock")
