"""The inbox's limits are charged to what is known: the client address before anything is
checked, the peer domain only once a signature proves it. So a flood from one address stops
there, and a key id that merely *names* a trusted peer never spends that peer's allowance.

The node runs in-process on loopback; the attacker and the real peer send from different
loopback addresses (127.0.0.2, 127.0.0.3), as the node sees them.
"""

from __future__ import annotations

import pytest

from node.ratelimit import Limits
from tests.factory import LocalNode
from tests.federation.fake_peer import FakePeer, rsa_key
from tests.security.clients import post_signed_from

ATTACKER, PEER_HOST = "127.0.0.2", "127.0.0.3"


@pytest.fixture
def limits(request: pytest.FixtureRequest) -> Limits:
    return Limits(**request.param)


@pytest.mark.parametrize("limits", [{"inbox_per_peer_per_s": 0.001, "inbox_per_peer_burst": 5}], indirect=True)
async def test_a_forged_key_id_never_spends_the_trusted_peers_allowance(node: LocalNode, peer: FakePeer) -> None:
    # Given a node that takes 5 deliveries at once from each peer, then (practically) none
    forger_key = rsa_key(7)  # not the peer's: the attacker has no key of mallory's
    # When someone at another address floods the inbox with activities whose key id names
    # the trusted peer's mallory, signed with a key of their own
    forged = [await post_signed_from(ATTACKER, node.inbox, peer.create("mallory", peer.note("mallory", n, "forged")),
                                     peer.key_id("mallory"), forger_key) for n in range(20)]
    # Then each is refused for its signature, none for the peer's allowance
    assert {a.status for a in forged} == {401}, [a.text for a in forged[:3]]
    # and the node asked the peer for mallory's key at most twice (once, and one re-fetch)
    assert len([r for r in peer.requests if r == ("GET", "/users/mallory")]) <= 2
    # When the real peer then delivers, from its own address
    real = [await post_signed_from(PEER_HOST, node.inbox, peer.create("mallory", peer.note("mallory", 100 + n, "hi")),
                                   peer.key_id("mallory"), peer.keys["mallory"]) for n in range(5)]
    # Then its whole allowance is there
    assert [a.status for a in real] == [202] * 5, [a.text for a in real]
    assert await node.outcomes() == [("Create", "queued", None)] * 5


@pytest.mark.parametrize("limits", [{"inbox_per_address_per_s": 0.001, "inbox_per_address_burst": 5}],
                         indirect=True)
async def test_a_flood_from_one_address_stops_there_and_the_peer_elsewhere_gets_through(
    node: LocalNode, peer: FakePeer
) -> None:
    # Given a node that takes 5 requests at once from each client address
    # When one address floods the inbox with activities under key ids on the trusted peer
    flood = [await post_signed_from(ATTACKER, node.inbox, peer.create("mallory", peer.note("mallory", n, "x")),
                                    f"{peer.base}/users/ghost{n}#main-key", rsa_key(7)) for n in range(15)]
    # Then past the first five it is refused with 429 before any key is fetched
    assert [a.status for a in flood] == [401] * 5 + [429] * 10
    assert all(a.headers.get("Retry-After") for a in flood[5:])
    assert len([r for r in peer.requests if r[1].startswith("/users/ghost")]) == 5
    # and the peer's own deliveries, from its address, are accepted
    real = [await post_signed_from(PEER_HOST, node.inbox, peer.create("mallory", peer.note("mallory", 100 + n, "hi")),
                                   peer.key_id("mallory"), peer.keys["mallory"]) for n in range(5)]
    assert [a.status for a in real] == [202] * 5, [a.text for a in real]
