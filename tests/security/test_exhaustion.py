"""Resource exhaustion: what a hostile peer sends is refused early and clearly, and the work
it can cause is bounded (by size, by count, by a fetch budget, by a rate limit)."""

from __future__ import annotations

import gzip
import json

import aiohttp
import pytest

from federation.vocab import AP_CONTENT_TYPE
from node.inbox.notes import MAX_THREAD_FETCHES
from node.ratelimit import Limits
from storage.models import Account
from tests.factory import LocalNode
from tests.federation.fake_peer import FakePeer
from tests.security.conftest import post_signed


@pytest.fixture
def limits() -> Limits:
    # 5 requests at once per client address, then (practically) none: the flood test counts
    return Limits(inbox_per_address_per_s=0.001, inbox_per_address_burst=5)


async def test_a_hundred_thousand_recipients_are_refused_at_the_door(node: LocalNode, peer: FakePeer) -> None:
    note = peer.note("mallory", 1, "to everyone", to=["x"] * 100_000)
    answer = await post_signed(node.inbox, peer.create("mallory", note), peer.key_id("mallory"), peer.keys["mallory"])
    assert answer.status == 400 and "more than" in answer.error
    assert await node.outcomes() == []


@pytest.mark.parametrize("depth", [100, 5000])
async def test_deep_nesting_is_refused_at_the_door(node: LocalNode, peer: FakePeer, depth: int) -> None:
    # (written as text: the json module itself cannot encode what this attacker sends)
    deep = '{"type": "Note", "inReplyTo": ' * depth + '"bottom"' + "}" * depth
    body = json.dumps(peer.create("mallory", peer.note("mallory", 2, "x", inReplyTo="DEEP"))).replace('"DEEP"', deep).encode()
    answer = await post_signed(node.inbox, body, peer.key_id("mallory"), peer.keys["mallory"])
    assert answer.status == 400 and "deeper" in answer.error
    assert await node.outcomes() == []


async def test_a_gzip_bomb_is_refused_without_storing_anything(node: LocalNode, peer: FakePeer) -> None:
    # Given 64 MB of JSON whitespace compressed to a few tens of kilobytes
    bomb = gzip.compress(b'{"type": "Create", "pad": "' + b" " * (64 * 1024 * 1024) + b'"}', compresslevel=9)
    assert len(bomb) < 200_000
    # When it is posted to the inbox as a gzip-encoded body
    async with aiohttp.ClientSession() as s, s.post(
        node.inbox, data=bomb, headers={"Content-Type": AP_CONTENT_TYPE, "Content-Encoding": "gzip"}
    ) as r:
        status, text = r.status, await r.text()
    # Then it is refused as too large once inflated past the cap, with a reason
    assert status == 413 and "error" in json.loads(text)
    assert await node.outcomes() == []


async def test_a_flood_of_unknown_key_ids_costs_at_most_the_burst_in_fetches(node: LocalNode, peer: FakePeer) -> None:
    # Given a peer that signs with a new, unknown key id every time, from one address
    activity = peer.create("mallory", peer.note("mallory", 3, "x"))
    statuses = []
    for n in range(30):
        answer = await post_signed(node.inbox, activity, f"{peer.base}/users/ghost{n}#main-key", peer.keys["mallory"])
        statuses.append(answer.status)
    # Then the first few are refused for want of a key, the rest with 429 before any fetch
    assert statuses == [401] * 5 + [429] * 25
    assert len([r for r in peer.requests if r[0] == "GET"]) == 5


async def test_a_deep_reply_chain_is_fetched_within_the_budget(
    node: LocalNode, peer: FakePeer, alice_follows_mallory: Account
) -> None:
    # Given eve's thread a hundred notes deep on the peer
    chain = [peer.note("eve", 100, "root")]
    for n in range(101, 200):
        chain.append(peer.note("eve", n, f"reply {n}", inReplyTo=chain[-1]["id"]))
    peer.objects = {str(n["id"]): n for n in chain}
    # When mallory replies to the deepest note
    reply = peer.note("mallory", 4, "me too", inReplyTo=chain[-1]["id"])
    assert (await peer.post(node.inbox, peer.create("mallory", reply), as_actor="mallory"))[0] == 202
    await node.process()
    # Then the reply is stored and at most the budget of notes was fetched
    assert await node.post(str(reply["id"])) is not None
    fetched = [path for method, path in peer.requests if method == "GET" and "/notes/" in path]
    assert 0 < len(fetched) <= MAX_THREAD_FETCHES


@pytest.mark.parametrize("bad_id", ["http://127.0.0.1:1u1/a", "http://[::1/a", "http://127.0.0.1:99999/a"])
async def test_unusable_ids_are_a_clear_400(node: LocalNode, peer: FakePeer, bad_id: str) -> None:
    # (found by the activitystreams fuzzer: a port that is not a number was a 500)
    activity = peer.create("mallory", peer.note("mallory", 5, "x")) | {"id": bad_id}
    answer = await post_signed(node.inbox, activity, peer.key_id("mallory"), peer.keys["mallory"])
    assert answer.status == 400 and "URI" in answer.error
    assert await node.outcomes() == []
