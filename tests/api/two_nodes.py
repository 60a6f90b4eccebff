"""Two real `atrium serve` processes that trust each other as `organization`, and a client
API token on either by the password grant: for client-API behaviour that crosses nodes."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import ENGINES, drop_pg_database, recreate_pg_database, worker_tag
from tests.federation.nodes import NodeProcess


def running_pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str = "two_nodes",
    here_users: tuple[str, ...] = ("alice",), there_users: tuple[str, ...] = ("pat",),
) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    """`here` (on the engine of `request.param`) and `there` (SQLite), trusting each other as
    `organization`, with the users named (password NAME-password); stopped when done."""
    root: Path = tmp_path_factory.mktemp(name)
    pg_name = f"atrium_{name}_{worker_tag()}"
    url = recreate_pg_database(pg_name) if request.param == "postgresql" else None
    here, there = NodeProcess("here", root, url), NodeProcess("there", root)
    with ThreadPoolExecutor() as pool:
        list(pool.map(NodeProcess.init, (here, there)))
    here.write_policy(f'mode = "allowlist"\n[peers."{there.domain}"]\ntrust = "organization"\n')
    there.write_policy(f'mode = "allowlist"\n[peers."{here.domain}"]\ntrust = "organization"\n')
    users = [(here, u) for u in here_users] + [(there, u) for u in there_users]
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda a: a[0].create_user(a[1]), users))
    try:
        # One after the other: each start gets its whole deadline on a loaded machine.
        here.start()
        there.start()
        yield here, there
    finally:
        here.stop()
        there.stop()
        if url and not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            drop_pg_database(pg_name)


@pytest.fixture(scope="module", params=ENGINES)
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    """`here` (on the engine under test, user alice) and `there` (SQLite, user pat)."""
    yield from running_pair(request, tmp_path_factory, "pair")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def api_token(http: aiohttp.ClientSession, node: NodeProcess, username: str) -> str:
    app = await (await http.post(f"{node.base_url}/api/v1/apps", data={
        "client_name": "two nodes", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write"})).json()
    resp = await http.post(f"{node.base_url}/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": username, "password": f"{username}-password", "scope": "read write"})
    assert resp.status == 200, await resp.text()
    token: str = (await resp.json())["access_token"]
    return token
