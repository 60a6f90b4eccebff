"""Every request the node makes names it as Mastodon names itself: `User-Agent:
Atrium/VERSION (+SCHEME://DOMAIN/)` — WebFinger, signed fetches and deliveries alike, because
the outbound gate (federation/gate.py) sets it, not each caller.

The node is wired as `atrium serve` wires it (`atrium.assembly.federating`, signing as the
instance actor); the peer is a fake one over real HTTP on loopback that records the headers of
every request it gets.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from atrium.assembly import federating
from atrium.server import job_handlers
from federation.addresses import AddressPolicy
from federation.gate import OutboundGate, Purpose
from node import accounts, follows, remote
from node.instance import create_instance
from node.policy import PeerRule, Policy
from node.settings import Settings
from node.version import VERSION
from node.workers import JobWorker
from storage.db import Database
from tests.factory import free_port, node_context
from tests.federation.canary import admit_anyone
from tests.federation.fake_peer import FakePeer

NODE = "127.0.0.1:8470"  # the node's own domain: named, never listened on
EXPECTED = f"Atrium/{VERSION} (+http://{NODE}/)"


@asynccontextmanager
async def peer_with_webfinger() -> AsyncIterator[FakePeer]:
    """A fake peer (bob lives there) that also answers WebFinger for its actors."""
    peer = FakePeer(free_port())
    peer.add_actor("bob")
    app = peer.app()

    async def finger(request: web.Request) -> web.Response:
        user = request.query.get("resource", "").removeprefix("acct:").split("@", 1)[0]
        if user not in peer.keys:
            return web.json_response({"error": "no"}, status=404)
        jrd = {"subject": f"acct:{user}@{peer.domain}",
               "links": [{"rel": "self", "type": "application/activity+json", "href": peer.actor(user)}]}
        return web.Response(text=json.dumps(jrd), content_type="application/jrd+json")

    app.router.add_get("/.well-known/webfinger", finger)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", peer.port).start()
    try:
        yield peer
    finally:
        await runner.cleanup()


async def test_webfinger_signed_fetch_and_delivery_each_name_the_node(db: Database, tmp_path: Path) -> None:
    async with peer_with_webfinger() as peer:
        # Given a development node on http://127.0.0.1:8470, federating as `atrium serve` does,
        # whose policy admits the peer, and a local user alice
        policy = Policy(peers=(PeerRule(peer.domain, "public"),))
        ctx = node_context(db, NODE, scheme="http", policy=policy)
        await create_instance(db, NODE)
        alice = await accounts.create_user(ctx, "alice", "correct horse battery")
        async with federating(ctx, Settings(data_dir=tmp_path, domain=NODE, scheme="http")):
            # When the node looks bob up by handle (WebFinger, then his actor, signed) and alice
            # follows him (a Follow delivered to his inbox)
            bob = await remote.resolve_handle(ctx, f"bob@{peer.domain}")
            await follows.follow(ctx, alice, bob.id)
            worker = JobWorker(db, job_handlers(ctx))
            for _ in range(5):
                if peer.received:
                    break
                await worker.run_once()
        # Then the peer saw exactly those three requests, each one naming the node, with its
        # version and its own scheme and domain
        assert peer.requests == [("GET", "/.well-known/webfinger"), ("GET", "/users/bob"),
                                 ("POST", "/users/bob/inbox")]
        assert [a["type"] for a in peer.received] == ["Follow"]
        webfinger, actor, delivery = peer.headers
        assert "Signature" not in webfinger and "Signature" in actor and "Signature" in delivery
        assert [h.get("User-Agent") for h in peer.headers] == [EXPECTED] * 3


async def test_the_gate_replaces_a_user_agent_a_caller_passes() -> None:
    # Given a gate built with the node's name, and a fake peer
    peer = FakePeer(free_port())
    peer.add_actor("bob")
    runner = web.AppRunner(peer.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", peer.port).start()
    try:
        async with OutboundGate(AddressPolicy(allow_loopback=True, allow_http=True), admit_anyone,
                                user_agent=EXPECTED) as gate:
            # When a caller passes a User-Agent of its own (in any spelling)
            async with gate.request("GET", peer.actor("bob"), purpose=Purpose.ACTOR,
                                    headers={"user-agent": "curl/8", "Accept": "application/activity+json"}) as r:
                assert r.status == 200
    finally:
        await runner.cleanup()
    # Then the peer saw only the gate's
    assert peer.headers[0]["User-Agent"] == EXPECTED
