"""A peer trusted as `organization` through a wildcard rule is in the organisation at every
exit, as a peer named exactly is: its users' signed fetches of organisation posts, and its
posts on the Organisation timeline; and a more specific rule of another trust takes a host
out from under the wildcard everywhere at once (node/organization.py).

The node runs in-process on loopback with real HTTP; the peers are fake servers on 127.0.0.1
known by `*.acme.localhost` names (tests/security/readers.py says why and how those resolve).
The policy, as policy.toml says it:

    mode = "allowlist"
    [peers."*.acme.localhost"]
    trust = "organization"
    [peers."x.acme.localhost"]
    trust = "partner"
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import aiohttp
import pytest

from federation.signatures import sign_request
from federation.vocab import AP_CONTENT_TYPE, CONTEXT
from node import accounts, posts, remote
from node.context import NodeContext
from node.policy import parse_policy
from node.posts import NewPost
from storage.db import Database
from storage.models import Follow
from tests.factory import PASSWORD, LocalNode, free_port, running_node
from tests.security.readers import LoopbackNames, NamedPeer, running_named_peer, web_sign_in

POLICY = """
mode = "allowlist"
[peers."*.acme.localhost"]
trust = "organization"
[peers."x.acme.localhost"]
trust = "partner"
"""


@dataclass
class Acme:
    node: LocalNode
    sales: NamedPeer  # sales.acme.localhost: in the organisation by the wildcard
    x: NamedPeer  # x.acme.localhost: under the wildcard, but a partner by its own rule

    @property
    def ctx(self) -> NodeContext:
        return self.node.ctx


@pytest.fixture
async def acme(db: Database) -> AsyncIterator[Acme]:
    policy, problems = parse_policy(POLICY)
    assert policy is not None, problems
    async with AsyncExitStack() as stack:
        sales = await stack.enter_async_context(running_named_peer("sales.acme.localhost", free_port()))
        x = await stack.enter_async_context(running_named_peer("x.acme.localhost", free_port()))
        sales.add_actor("sam")
        x.add_actor("xavier")
        node = await stack.enter_async_context(
            running_node(db, policy=policy, resolver=LoopbackNames(), instance=True, users=("alice",))
        )
        yield Acme(node, sales, x)


async def _signed_get(url: str, peer: NamedPeer | None, name: str = "") -> tuple[int, str]:
    headers = {"Accept": AP_CONTENT_TYPE}
    if peer is not None:
        headers = sign_request("GET", url, headers, None, peer.key_id(name), peer.keys[name])
    async with aiohttp.ClientSession() as client, client.get(url, headers=headers) as r:
        return r.status, await r.text()


async def test_a_wildcard_organisation_peer_fetches_organisation_posts_and_an_outsider_does_not(acme: Acme) -> None:
    # Given alice's organisation post
    alice = await accounts.get_local(acme.ctx, "alice")
    post = await posts.create_post(acme.ctx, alice, NewPost("the org-only roadmap", visibility="organization"))
    url = f"{acme.ctx.base_url}/users/alice/statuses/{post.id}"
    # When sam on sales.acme.localhost (organisation by the wildcard) fetches it, signed
    sam_status, sam_body = await _signed_get(url, acme.sales, "sam")
    # Then he gets it (the node fetched his key from his own host, on loopback)
    assert (sam_status, "the org-only roadmap" in sam_body) == (200, True)
    assert ("GET", "/users/sam") in acme.sales.requests
    # and neither xavier on x.acme.localhost (a partner by a more specific rule) nor the open
    # web gets anything
    for peer, name in ((acme.x, "xavier"), (None, "")):
        status, body = await _signed_get(url, peer, name)
        assert status in (403, 404) and "roadmap" not in body, (name or "anonymous", status)


async def _deliver(acme: Acme, peer: NamedPeer, name: str, n: int, text: str, *, organization: bool) -> str:
    followers = f"{peer.actor(name)}/followers"
    if organization:  # as an Atrium node writes it (federation/addressing.py)
        note = peer.note(name, n, f"<p>{text}</p>", to=[followers], cc=[], audience_scope="organization")
    else:
        note = peer.note(name, n, f"<p>{text}</p>")
    status, _ = await peer.post(acme.node.inbox, peer.create(name, note) | {"@context": CONTEXT}, as_actor=name)
    assert status == 202
    return str(note["id"])


async def test_a_wildcard_organisation_peers_posts_are_on_the_organisation_timeline(acme: Acme) -> None:
    # Given alice follows sam (sales.acme.localhost) and xavier (x.acme.localhost, a partner),
    # and each delivers a public post and an organisation post to this node
    alice = await accounts.get_local(acme.ctx, "alice")
    for peer, name in ((acme.sales, "sam"), (acme.x, "xavier")):
        followed = await remote.actor_by_uri(acme.ctx, peer.actor(name))
        async with acme.ctx.db.session() as s:
            s.add(Follow(follower_id=alice.id, target_id=followed.id, state="accepted"))
    sam_org = await _deliver(acme, acme.sales, "sam", 1, "sam for the organisation", organization=True)
    sam_pub = await _deliver(acme, acme.sales, "sam", 2, "sam in public", organization=False)
    x_org = await _deliver(acme, acme.x, "xavier", 1, "xavier claims the organisation", organization=True)
    x_pub = await _deliver(acme, acme.x, "xavier", 2, "xavier in public", organization=False)
    await acme.node.process()
    assert await acme.node.outcomes() == [("Create", "done", None)] * 4
    stored = {uri: (await acme.node.post(uri)) for uri in (sam_org, sam_pub, x_org, x_pub)}
    assert {uri: p.visibility for uri, p in stored.items() if p} == {
        sam_org: "organization", sam_pub: "public", x_org: "followers", x_pub: "public"}  # x's claim narrowed
    # When alice reads the Organisation timeline in the web UI
    browser, _ = await web_sign_in(acme.ctx.base_url, "alice", PASSWORD)
    async with browser, browser.get("/organization") as r:
        page = await r.text()
    # Then sam's posts are there, and xavier's are not
    assert r.status == 200
    assert "sam for the organisation" in page and "sam in public" in page
    assert "xavier" not in page
