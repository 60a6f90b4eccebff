"""A peer blocked by one spelling of its address cannot come in or be sent to under another
(issue #13, findings 3 and 4), over real HTTP on loopback, on both engines.

The node runs in-process in `open` mode — the mode where an unnamed spelling would be admitted
with the default trust — with its policy parsed from a `policy.toml` text, as an operator
writes it. The fake peer listens on 127.0.0.1 and names itself (actors, keys, inboxes) with
another spelling of that address; the tests assert on what it recorded.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from federation.addresses import AddressPolicy, address_category, make_session
from federation.vocab import AP_CONTENT_TYPE
from node import posts
from node.context import NodeContext
from node.delivery import handle_delivery
from node.federate import FANOUT
from node.inbox import handle_inbox
from node.outbox import DELIVER, handle_fanout
from node.policy import Policy, parse_policy
from node.posts import NewPost
from node.workers import JobWorker
from storage.db import Database
from storage.models import Account, AuditEntry, Follow, Job
from tests.factory import fake_peer, free_port, running_node
from tests.federation.fake_peer import FakePeer, public_pem, rsa_key

MAPPED = "[::ffff:7f00:1]"  # 127.0.0.1, IPv4-mapped


@dataclass
class SpelledPeer(FakePeer):
    """A fake peer whose URIs spell its host `spelling` (and its port, unless `default_port`)."""

    spelling: str = MAPPED
    default_port: bool = False
    scheme: str = "http"

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.spelling}" + ("" if self.default_port else f":{self.port}")

    @property
    def domain(self) -> str:  # as the node stored it before the canonical name was one
        return self.spelling if self.default_port else f"{self.spelling}:{self.port}"


@asynccontextmanager
async def serving(peer: FakePeer) -> AsyncIterator[FakePeer]:
    """`peer`'s app on 127.0.0.1:peer.port, whatever spelling its URIs use."""
    runner = web.AppRunner(peer.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", peer.port).start()
    try:
        yield peer
    finally:
        await runner.cleanup()


@dataclass
class Node:
    ctx: NodeContext
    policy: Policy

    @property
    def inbox(self) -> str:
        return f"{self.ctx.base_url}/inbox"

    async def drain(self) -> None:
        """Step the fan-out, delivery and inbox workers until nothing is left; every job done."""
        worker = JobWorker(self.ctx.db, {
            FANOUT: lambda job: handle_fanout(self.ctx, job),
            DELIVER: lambda job: handle_delivery(self.ctx, job),
            "inbox": lambda job: handle_inbox(self.ctx, job),
        })
        while await worker.run_once():
            pass
        async with self.ctx.db.reader() as s:
            unfinished = (await s.execute(select(Job.queue, Job.last_error).where(Job.status != "done"))).all()
        assert unfinished == [], unfinished

    async def local(self, username: str) -> Account:
        key = rsa_key(3)
        private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
        async with self.ctx.db.session() as s:
            account = Account(username=username, domain=None, private_key_pem=private_pem, public_key_pem=public_pem(key))
            s.add(account)
        return account

    async def audit(self) -> list[tuple[str, str, str, str]]:
        async with self.ctx.db.reader() as s:
            rows = (await s.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
        return [(e.direction, e.peer, e.decision, e.rule) for e in rows]


@asynccontextmanager
async def open_node(db: Database, policy_toml: str) -> AsyncIterator[Node]:
    """The node on a free loopback port, in the policy parsed from `policy_toml`."""
    policy, problems = parse_policy(policy_toml)
    assert problems == [] and policy is not None, problems
    async with running_node(db, policy=policy) as node:
        yield Node(node.ctx, policy)


def follow(peer: FakePeer, node: Node) -> dict[str, object]:
    """mallory of `peer` follows lena of the node."""
    actor = peer.actor("mallory")
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor}/follows/1", "type": "Follow",
            "actor": actor, "object": node.ctx.actor_uri("lena")}


def blocking(rule: str) -> str:
    return f'mode = "open"\ndefault_trust = "public"\n\n[peers."{rule}"]\ntrust = "blocked"\n'


@pytest.fixture
async def mapped_peer() -> AsyncIterator[SpelledPeer]:
    peer = SpelledPeer(free_port())
    peer.add_actor("mallory")
    async with serving(peer):
        yield peer


async def test_the_mapped_address_reaches_the_same_server_and_the_address_policy_knows_it(
    mapped_peer: SpelledPeer,
) -> None:
    """Why the spelling matters: `[::ffff:7f00:1]` is 127.0.0.1. A socket to it reaches the
    peer's 127.0.0.1 listener, and the address policy judges it by the embedded address."""
    assert address_category(ipaddress.ip_address("::ffff:7f00:1")) == address_category("127.0.0.1") == "loopback"
    assert not AddressPolicy().admits("::ffff:7f00:1")
    async with make_session(AddressPolicy(allow_loopback=True, allow_http=True)) as session, \
            session.get(mapped_peer.actor("mallory"), headers={"Accept": AP_CONTENT_TYPE}) as r:
        assert r.status == 200
        assert json.loads(await r.text())["id"] == f"http://{MAPPED}:{mapped_peer.port}/users/mallory"
    assert mapped_peer.requests == [("GET", "/users/mallory")]


async def test_a_peer_blocked_as_127_0_0_1_cannot_follow_as_its_mapped_address(
    db: Database, mapped_peer: SpelledPeer
) -> None:
    # Given a node in open mode that blocks 127.0.0.1:PORT, and a local user lena
    rule = f"127.0.0.1:{mapped_peer.port}"
    async with open_node(db, blocking(rule)) as node:
        await node.local("lena")
        # When the peer, signing as http://[::ffff:7f00:1]:PORT/users/mallory, follows lena
        status, body = await mapped_peer.post(node.inbox, follow(mapped_peer, node), as_actor="mallory")
        await node.drain()
        # Then it is refused before any key is fetched, by the rule for 127.0.0.1:PORT
        assert status == 403, body
        assert mapped_peer.requests == []
        assert await node.audit() == [("in", rule, "refused", f'peers."{rule}"')]
        # and nothing of it is stored: no account, no follow, nothing sent back
        async with node.ctx.db.reader() as s:
            assert (await s.scalars(select(Account.actor_uri).where(Account.domain.is_not(None)))).all() == []
            assert (await s.scalars(select(Follow))).all() == []
        assert mapped_peer.received == []


async def test_a_follower_stored_under_the_mapped_spelling_gets_no_followers_only_post(db: Database) -> None:
    async with AsyncExitStack() as stack:
        mapped = SpelledPeer(free_port())
        await stack.enter_async_context(serving(mapped))
        admitted = await stack.enter_async_context(fake_peer())
        # Given a node in open mode that blocks 127.0.0.1:PORT, and lena's two followers: one on
        # an admitted peer, and the blocked peer's mallory as a node stored her before the
        # canonical name reduced mapped addresses (domain `[::ffff:7f00:1]:PORT`)
        rule = f"127.0.0.1:{mapped.port}"
        node = await stack.enter_async_context(open_node(db, blocking(rule)))
        lena = await node.local("lena")
        async with node.ctx.db.session() as s:
            for peer in (mapped, admitted):
                uri = peer.add_actor("mallory")
                follower = Account(username="mallory", domain=peer.domain, actor_uri=uri, inbox_uri=f"{uri}/inbox",
                                   shared_inbox_uri=f"{peer.base}/inbox", key_id=peer.key_id("mallory"))
                s.add(follower)
                await s.flush()
                s.add(Follow(follower_id=follower.id, target_id=lena.id, state="accepted"))
        assert mapped.domain == f"{MAPPED}:{mapped.port}"
        # When lena posts to her followers only
        post = await posts.create_post(node.ctx, lena, NewPost("for my followers", visibility="followers"))
        await node.drain()
        # Then the admitted follower's node receives it, and the blocked peer nothing at all
        assert [a["object"]["id"] for a in admitted.received] == [post.uri]  # type: ignore[index]
        assert mapped.received == [] and mapped.requests == []
        # and the refusal is audited under the canonical name, with the rule that made it
        assert ("out", rule, "refused", f'peers."{rule}"') in await node.audit()


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("rule_port", ["80", "443"])
async def test_a_peer_blocked_with_a_default_port_is_refused_in_open_mode(
    db: Database, scheme: str, rule_port: str
) -> None:
    # Given a node in open mode whose rule blocks 127.0.0.2 written with a default port
    async with open_node(db, blocking(f"127.0.0.2:{rule_port}")) as node:
        await node.local("lena")
        # When a peer signs as <scheme>://127.0.0.2/users/mallory, on its default port (where
        # nothing listens: a refusal must not need it)
        peer = SpelledPeer(free_port(), spelling="127.0.0.2", default_port=True, scheme=scheme)
        peer.add_actor("mallory")
        status, body = await peer.post(node.inbox, follow(peer, node), as_actor="mallory")
        # Then the rule (`127.0.0.2`, its default port dropped) refuses it before any key fetch
        assert status == 403, body
        assert await node.audit() == [("in", "127.0.0.2", "refused", 'peers."127.0.0.2"')]


@pytest.mark.parametrize("spelling", ["0x7f.0.0.1", "2130706433", "127.1", "0177.0.0.1"])
async def test_a_key_id_on_a_legacy_spelling_of_an_address_is_refused_and_audited(
    db: Database, mapped_peer: SpelledPeer, spelling: str
) -> None:
    # Given a node in open mode that blocks nothing by this name
    async with open_node(db, blocking("blocked.example")) as node:
        await node.local("lena")
        # When a peer signs with a key id on a legacy spelling of 127.0.0.1
        peer = SpelledPeer(mapped_peer.port, keys=mapped_peer.keys, spelling=spelling)
        status, body = await peer.post(node.inbox, follow(peer, node), as_actor="mallory")
        # Then it is refused, says why, and nothing was fetched from anywhere
        assert status == 403
        assert "legacy spelling of the IPv4 address 127.0.0.1" in json.loads(body)["error"]
        assert mapped_peer.requests == []
        assert await node.audit() == [("in", f"{spelling}:{mapped_peer.port}", "refused", "canonical host name")]
