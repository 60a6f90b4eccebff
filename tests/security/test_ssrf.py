"""Server-side request forgery through the inbox: a key id is a URL the attacker chooses, and
the node fetches it. Loopback, private, link-local, mapped and oddly written addresses, and
names that resolve inside, are refused before any connection unless the configuration admits
their range.

Nothing here can leave loopback even if the defence breaks: the autouse guard (shared with
tests/federation/test_addresses.py) refuses and records, at the socket, every connect to
anything but 127.0.0.1 and ::1 and every DNS look-up, and host names are answered by an
injected `RecordingResolver` that never asks the network.
"""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest

from federation.addresses import AddressPolicy
from node import accounts
from node.policy import Policy
from tests.conftest import StartNode
from tests.factory import LocalNode
from tests.federation.fake_peer import rsa_key
from tests.federation.test_addresses import NetGuard, RecordingResolver, guarded_network
from tests.security.conftest import PASSWORD, post_signed, sign_in

NAMES = {"internal.test": "10.1.2.3", "metadata.test": "169.254.169.254", "loopback.test": "127.0.0.1",
         "mapped.test": "::ffff:127.0.0.1", "mixed.test": ["198.51.100.7", "192.168.0.9"]}


@pytest.fixture(autouse=True)
def net_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetGuard]:
    yield from guarded_network(monkeypatch)


@pytest.fixture
def resolver() -> RecordingResolver:
    return RecordingResolver({name: [[a] if isinstance(a, str) else a] for name, a in NAMES.items()})


async def _production_node(start_node: StartNode, resolver: RecordingResolver, networks: list[str]) -> LocalNode:
    """A node configured as in production (https, no loopback), in open mode so that any key
    domain passes the trust policy and reaches the fetch: the address guard is all that stands."""
    return await start_node(
        policy=Policy(mode="open", default_trust="public"), domain="social.example", scheme="https",
        address_policy=AddressPolicy.for_node(networks, scheme="https", domain="social.example"), resolver=resolver,
    )


@pytest.fixture
async def node(resolver: RecordingResolver, start_node: StartNode) -> LocalNode:
    return await _production_node(start_node, resolver, [])


@pytest.fixture
async def private_node(resolver: RecordingResolver, start_node: StartNode) -> LocalNode:
    return await _production_node(start_node, resolver, ["10.0.0.0/8"])


HOSTILE_KEY_HOSTS = [
    "127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "017700000001", "[::1]",
    "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[0:0:0:0:0:ffff:127.0.0.1]", "0.0.0.0", "localhost",
    "10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254", "[fe80::1]", "[fd00::1]",
    "internal.test", "metadata.test", "loopback.test", "mapped.test", "mixed.test",
]
LEGACY_SPELLINGS = {"127.1", "2130706433", "0x7f000001", "0177.0.0.1", "017700000001"}


@pytest.mark.parametrize("host", HOSTILE_KEY_HOSTS)
async def test_a_key_id_pointing_inside_is_refused_without_a_connection(
    node: LocalNode, net_guard: NetGuard, resolver: RecordingResolver, host: str
) -> None:
    # Given an attacker's activity signed with a key id on an inside address
    actor = f"https://{host}/users/x"
    activity = {"id": f"{actor}/a/1", "type": "Follow", "actor": actor, "object": "https://social.example/users/a"}
    # When it is posted to a production node's inbox
    answer = await post_signed(node.inbox, activity, f"{actor}#main-key", rsa_key())
    # Then it is refused — for want of a key, or before that for a legacy spelling of an address
    # (node/domains.py) — and no connection went anywhere but the test's own
    if host in LEGACY_SPELLINGS:
        assert answer.status == 403 and "legacy spelling of the IPv4 address 127.0.0.1" in answer.error, answer.text
    else:
        assert answer.status == 401 and "signer's key" in answer.error, answer.text
    assert net_guard.non_loopback_connects() == [] and net_guard.blocked == []
    assert all(not name[0].isdigit() and not name.startswith("[") for name in resolver.asked)


async def test_a_range_the_configuration_admits_is_connected_to(
    private_node: LocalNode, net_guard: NetGuard
) -> None:
    # Given a node whose settings admit 10.0.0.0/8 (its organisation's network)
    net_guard.expect_blocked = True  # the test guard, not the node, stops the packet
    activity = {"id": "https://internal.test/a/1", "type": "Follow", "actor": "https://internal.test/users/x",
                "object": "https://social.example/users/a"}
    # When a key id there is used
    answer = await post_signed(private_node.inbox, activity, "https://internal.test/users/x#main-key", rsa_key())
    # Then the node tried that address (and only that one): the range is admitted, by configuration
    assert answer.status == 401
    assert net_guard.non_loopback_connects() == [("10.1.2.3", 443)]


USER_CHOSEN = [
    "https://169.254.169.254/latest/meta-data/", "https://2130706433/users/a", "https://[::ffff:10.0.0.1]/x",
    "https://internal.test/users/admin", "@admin@10.0.0.1", "@admin@internal.test", "@root@0177.1",
    "@x@metadata.test",
]


@pytest.mark.parametrize("query", USER_CHOSEN)
async def test_a_search_that_resolves_a_url_or_handle_inside_connects_nowhere(
    node: LocalNode, net_guard: NetGuard, resolver: RecordingResolver, query: str
) -> None:
    # Given a signed-in user of a production node
    await accounts.create_user(node.ctx, "alice", PASSWORD)
    async with aiohttp.ClientSession(base_url=node.inbox.removesuffix("/inbox")) as http:
        headers = await sign_in(http, "alice", "read")
        # When she asks the node to resolve a URL or handle that points inside
        async with http.get("/api/v2/search", params={"q": query, "resolve": "true"}, headers=headers) as r:
            status, body = r.status, await r.json()
    # Then she gets an answer (nothing found, or a refusal), never a connection inside
    assert status < 500, body
    assert body.get("accounts", []) == [] and body.get("statuses", []) == []
    assert net_guard.non_loopback_connects() == [] and net_guard.blocked == []
    if query.endswith(".test") or ".test/" in query:
        # a name: the node did try it, through the guarded resolver, and stopped there
        host = query.split("://", 1)[1].split("/", 1)[0] if "://" in query else query.rsplit("@", 1)[1]
        assert host in resolver.asked
