"""Every limit holds for the node, not for each process: one node as two real `atrium serve
--role web` processes on one PostgreSQL database, with requests spread over both.

Posting and sign-in are counted in the database; the inbox's in-process buckets each hold
half the node's budget once the two processes see each other in `serving_processes`. Where
per-process limits would admit twice the budget, the node admits it once.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from node.settings import SETTINGS_FILE
from tests.conftest import drop_pg_database, recreate_pg_database, worker_tag
from tests.factory import free_port
from tests.federation.fake_peer import FakePeer, running_peer
from tests.federation.nodes import eventually
from tests.scaleout.cluster import RoleProcess
from tests.security.clients import new_app, password_grant, post_signed_from, session_from

ADDRESS_BURST, PEER_BURST = 20, 6  # the node's budgets; each at 1 a second beyond the burst


@dataclass
class Node:
    web: list[RoleProcess]
    peer_port: int

    @property
    def base_url(self) -> str:
        return self.web[0].base_url


def _tighten(toml: Path) -> None:
    text = toml.read_text()
    for key, value in {"inbox_per_address_per_s": 1, "inbox_per_address_burst": ADDRESS_BURST,
                       "inbox_per_peer_per_s": 1, "inbox_per_peer_burst": PEER_BURST,
                       "statuses_per_account_per_hour": 1, "statuses_per_account_burst": 2}.items():
        for line in [line for line in text.splitlines() if line.startswith(f"{key} = ")]:
            text = text.replace(line, f"{key} = {value}")
    toml.write_text(text)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    root: Path = tmp_path_factory.mktemp("shared_limits")
    pg_name = f"atrium_limits_{worker_tag()}"
    url = recreate_pg_database(pg_name)
    first = RoleProcess("web1", root, url, "web")
    first.init()
    _tighten(first.data_dir / SETTINGS_FILE)
    for name in ("alice", "bob", "carol"):
        first.create_user(name)
    n = Node([first, RoleProcess("web2", root, url, "web", of=first)], free_port())
    first.write_policy(f'mode = "allowlist"\n[peers."127.0.0.1:{n.peer_port}"]\ntrust = "public"\n')
    try:
        for p in n.web:
            p.start()
        yield n
    finally:
        for p in n.web:
            p.stop()
        if not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            drop_pg_database(pg_name)


@pytest.fixture
async def both(node: Node) -> Node:
    """The node once each process counts two serving it (each then holds half the inbox)."""
    for p in node.web:
        async def sees_two(p: RoleProcess = p) -> bool:
            return (await p.ready()).get("serving_processes") == 2

        await eventually(sees_two, timeout=30, what=f"{p.name} seeing two serving processes")
    return node


@pytest.fixture
async def peer(node: Node) -> AsyncIterator[FakePeer]:
    async with running_peer(node.peer_port) as fake:
        fake.add_actor("mallory")
        yield fake


async def test_posting_is_limited_for_the_node(both: Node) -> None:
    # Given alice may post 2 at once, then one an hour, and holds a token
    app = await new_app(both.base_url)
    token = json.loads((await password_grant(both.base_url, app, "alice", "alice-password", source="127.0.0.1")).text)
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    # When she posts four times, through each process in turn
    answers = []
    for n, p in enumerate([*both.web, *both.web]):
        async with aiohttp.ClientSession() as http, http.post(f"{p.direct_url}/api/v1/statuses",
                                                              data={"status": f"post {n}"}, headers=headers) as r:
            answers.append((r.status, "Retry-After" in r.headers))
    # Then the node took two, whichever process she asked (per process it would take four)
    assert answers == [(200, False), (200, False), (429, True), (429, True)]


async def test_failed_sign_ins_are_counted_for_the_node(both: Node) -> None:
    # Given someone at one address guessing bob's password, each guess at the other process
    app = await new_app(both.base_url)
    statuses = []
    for n in range(8):
        p = both.web[n % 2]
        statuses.append((await password_grant(p.direct_url, app, "bob", f"guess {n}", source="127.0.0.2")).status)
    # Then after five the guesses wait, at either process (per process it would be ten)
    assert statuses == [400] * 5 + [429] * 3
    # while bob signs in from his own address, at either process
    for p in both.web:
        assert (await password_grant(p.direct_url, app, "bob", "bob-password", source="127.0.0.3")).status == 200


async def test_the_inbox_limit_per_address_holds_across_the_processes(both: Node) -> None:
    # When one address sends 60 requests at once, half to each process
    start = time.monotonic()

    async def one(n: int) -> int:
        async with session_from("127.0.0.4") as http, http.post(
            f"{both.web[n % 2].direct_url}/inbox", data=b"{}", headers={"Content-Type": "application/activity+json"}
        ) as r:
            return r.status

    statuses = await asyncio.gather(*(one(n) for n in range(60)))
    elapsed = time.monotonic() - start
    # Then the node answers (401: unsigned) no more than its budget, the rest 429 —
    # per-process buckets would have answered twice the burst
    answered = len([s for s in statuses if s != 429])
    assert set(statuses) == {401, 429}
    assert answered <= ADDRESS_BURST + elapsed * 1 + 1, (answered, elapsed)
    assert answered < 2 * ADDRESS_BURST


async def test_the_inbox_limit_per_verified_peer_holds_across_the_processes(both: Node, peer: FakePeer) -> None:
    # Given the peer's key already known to both processes (one delivery through each)
    inbox = f"{both.base_url}/inbox"

    async def deliver(n: int, p: RoleProcess) -> int:
        activity = peer.create("mallory", peer.note("mallory", n, f"hello {n}"))
        answer = await post_signed_from("127.0.0.5", f"{p.direct_url}/inbox", activity, peer.key_id("mallory"),
                                        peer.keys["mallory"], url=inbox)
        return answer.status

    assert [await deliver(n, p) for n, p in enumerate(both.web)] == [202, 202]
    await asyncio.sleep(2.5)  # each process's half refills (half a token a second) to its 3
    # When the peer sends 24 deliveries at once, half to each process
    start = time.monotonic()
    statuses = await asyncio.gather(*(deliver(100 + n, both.web[n % 2]) for n in range(24)))
    elapsed = time.monotonic() - start
    # Then the node accepts no more than the peer's budget and refuses the rest with 429
    accepted = statuses.count(202)
    assert set(statuses) == {202, 429}
    assert accepted <= PEER_BURST + elapsed * 1 + 1, (accepted, elapsed)
    assert accepted < 2 * PEER_BURST
