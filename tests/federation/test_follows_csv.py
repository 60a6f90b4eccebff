"""A following list exported and imported across two real nodes (`atrium serve` processes), from
the settings page "Import and export": each import is a normal follow, so it goes out through the
outbound gate and the trust policy decides — an account on a blocked peer is refused, reported and
audited, and that peer is never contacted.

eng (SQLite) and sales (PostgreSQL when the run includes it) trust each other as `organization`;
eng's policy blocks a third host, a fake peer that records every request it gets.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import pytest

from node import audit
from tests.conftest import ENGINES, drop_pg_database, recreate_pg_database, worker_tag
from tests.factory import free_port
from tests.federation.fake_peer import running_peer
from tests.federation.nodes import NodeProcess, eventually

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, NodeProcess, int]]:
    root: Path = tmp_path_factory.mktemp("csv-pair")
    pg_name = f"atrium_csv_sales_{worker_tag()}" if "postgresql" in ENGINES else None
    eng = NodeProcess("eng", root)
    sales = NodeProcess("sales", root, recreate_pg_database(pg_name) if pg_name else None)
    blocked_port = free_port()
    with ThreadPoolExecutor() as pool:
        list(pool.map(NodeProcess.init, (eng, sales)))
    eng.write_policy(f'mode = "allowlist"\n[peers."{sales.domain}"]\ntrust = "organization"\n'
                     f'[peers."127.0.0.1:{blocked_port}"]\ntrust = "blocked"\n')
    sales.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "organization"\n')
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda a: a[0].create_user(a[1]), [(eng, "alice"), (eng, "carol"), (sales, "bob")]))
    try:
        with ThreadPoolExecutor() as pool:
            list(pool.map(NodeProcess.start, (eng, sales)))
        yield eng, sales, blocked_port
    finally:
        eng.stop()
        sales.stop()
        if pg_name and not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            drop_pg_database(pg_name)


class Browser:
    """A person signed in to one node's web UI, over real HTTP."""

    def __init__(self, http: aiohttp.ClientSession, node: NodeProcess) -> None:
        self.http, self.node, self.csrf = http, node, ""

    async def get(self, path: str) -> str:
        async with self.http.get(self.node.base_url + path, allow_redirects=False) as r:
            assert r.status == 200, (path, r.status)
            text = await r.text()
        if m := CSRF.search(text):
            self.csrf = m.group(1)
        return text

    async def sign_in(self, username: str) -> Browser:
        await self.get("/signin")
        async with self.http.post(self.node.base_url + "/signin", allow_redirects=False,
                                  data={"login": username, "password": f"{username}-password", "csrf": self.csrf}) as r:
            assert r.status == 303, await r.text()
        await self.get("/settings/export")
        return self

    async def import_following(self, csv: str) -> str:
        form = aiohttp.FormData()
        form.add_field("csrf", self.csrf)
        form.add_field("csv", csv.encode(), filename="following_accounts.csv", content_type="text/csv")
        async with self.http.post(self.node.base_url + "/settings/export/following", data=form) as r:
            text = await r.text()
            assert r.status == 200, text
            return text


@pytest.fixture
async def sessions() -> AsyncIterator[list[aiohttp.ClientSession]]:
    made: list[aiohttp.ClientSession] = []
    yield made
    for http in made:
        await http.close()


async def browser(sessions: list[aiohttp.ClientSession], node: NodeProcess, username: str) -> Browser:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=60))
    sessions.append(http)
    return await Browser(http, node).sign_in(username)


async def test_an_imported_following_list_follows_through_the_gate_and_round_trips(
    nodes: tuple[NodeProcess, NodeProcess, int], sessions: list[aiohttp.ClientSession]
) -> None:
    eng, sales, blocked_port = nodes
    blocked = f"127.0.0.1:{blocked_port}"
    async with running_peer(blocked_port) as mallory_peer:
        mallory_peer.add_actor("mallory")
        alice = await browser(sessions, eng, "alice")
        # When alice imports a list naming bob on sales and mallory on the blocked peer
        page = await alice.import_following(
            "Account address,Show boosts,Notify on new posts,Languages\n"
            f"bob@{sales.domain},true,false,\nmallory@{blocked},true,false,\n")
        # Then bob is asked (a Follow went to sales), mallory refused by the policy and reported
        assert f"Requested <strong>bob@{sales.domain}</strong>" in page
        refused = re.search(rf"<strong>mallory@{re.escape(blocked)}</strong>: ([^<]+)</li>", page)
        assert refused is not None and "polic" in refused.group(1), page
        # And the blocked peer was never contacted
        assert mallory_peer.requests == []
    # And the refusal is in eng's audit trail
    async with eng.act() as ctx:
        refusals = [e for e in await audit.recent(ctx.db, peer=blocked) if e.decision == "refused"]
    assert refusals, "the refused contact was not audited"
    # And on sales, bob has alice among his followers (his own followers CSV says so)
    bob = await browser(sessions, sales, "bob")

    async def bob_followed_by_alice() -> bool:
        return f"alice@{eng.domain}" in await bob.get("/settings/export/followers.csv")

    await eventually(bob_followed_by_alice, timeout=60, what="sales to record alice's follow")
    # When alice exports whom she follows (once sales accepted) and carol imports that file
    exported = ""

    async def alice_follows_bob() -> bool:
        nonlocal exported
        exported = await alice.get("/settings/export/following_accounts.csv")
        return f"bob@{sales.domain}" in exported

    await eventually(alice_follows_bob, timeout=60, what="sales to accept alice's follow")
    assert exported == f"Account address,Show boosts,Notify on new posts,Languages\nbob@{sales.domain},true,false,\n"
    carol = await browser(sessions, eng, "carol")
    page = await carol.import_following(exported)
    assert f"bob@{sales.domain}" in page and "0 not followed" in page

    # Then carol follows bob too, and her own export is the same file
    async def carol_follows_bob() -> bool:
        return await carol.get("/settings/export/following_accounts.csv") == exported

    await eventually(carol_follows_bob, timeout=60, what="sales to accept carol's follow")
