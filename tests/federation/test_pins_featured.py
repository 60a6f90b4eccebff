"""The actor's `featured` collection (pinned posts) as peers read it: each pinned post is listed
only to a reader that may fetch the post itself, so an organisation post is named to an
organisation peer and never to a partner or the open web; a community's pins likewise, and an
organisation community's collection is not there at all for a partner.

The node runs in-process on loopback; the peers are real HTTP servers whose actors sign the
reads (the node fetches their keys from them over real HTTP)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, update

from federation.signatures import sign_request
from federation.vocab import AP_CONTENT_TYPE
from node import accounts, communities, pins, posts
from node.policy import PeerRule, Policy
from node.posts import NewPost
from storage.errors import Forbidden, Invalid
from storage.models import AuditEntry, Post
from tests.conftest import StartNode
from tests.factory import LocalNode, fake_peer
from tests.federation.fake_peer import FakePeer


@pytest.fixture
async def org_peer() -> AsyncIterator[FakePeer]:
    async with fake_peer("olga", keys={"olga": 2}) as p:
        yield p


@pytest.fixture
async def partner_peer() -> AsyncIterator[FakePeer]:
    async with fake_peer("pat", keys={"pat": 3}) as p:
        yield p


@pytest.fixture
async def node(org_peer: FakePeer, partner_peer: FakePeer, start_node: StartNode) -> LocalNode:
    policy = Policy(mode="allowlist", peers=(PeerRule(org_peer.domain, "organization"),
                                             PeerRule(partner_peer.domain, "partner")))
    return await start_node(policy=policy, users=("alice", "bob"))


async def read(node: LocalNode, path: str, peer: FakePeer | None = None, name: str = "") -> tuple[int, Any]:
    """GET `path` as `name` on `peer` (signed), or unsigned (the open web) without a peer."""
    url = f"{node.ctx.base_url}{path}"
    headers = {"Accept": AP_CONTENT_TYPE}
    if peer is not None:
        headers = sign_request("GET", url, headers, None, peer.key_id(name), peer.keys[name])
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers) as r:
        return r.status, json.loads(await r.text())


def listed(collection: dict[str, Any]) -> list[str]:
    """The ids of the collection's items (a note embedded, or only its id)."""
    return [i["id"] if isinstance(i, dict) else i for i in collection["orderedItems"]]


async def test_featured_lists_to_each_reader_the_pins_it_may_fetch(
    node: LocalNode, org_peer: FakePeer, partner_peer: FakePeer
) -> None:
    # Given alice pinned a public post, an organisation post, a followers' post and a local one
    alice = await accounts.get_local(node.ctx, "alice")
    made: dict[str, Post] = {}
    for audience in ("public", "organization", "followers", "local"):
        made[audience] = await posts.create_post(node.ctx, alice, NewPost(f"pinned, for {audience}", visibility=audience))
        await pins.pin(node.ctx, alice, made[audience].id)
    uri = {k: p.uri for k, p in made.items()}
    # Then her actor names the collection
    status, actor = await read(node, "/users/alice")
    assert status == 200 and actor["featured"] == f"{node.ctx.base_url}/users/alice/collections/featured"
    # And an organisation peer's signed read lists the public and the organisation posts, as notes
    status, doc = await read(node, "/users/alice/collections/featured", org_peer, "olga")
    assert status == 200 and doc["type"] == "OrderedCollection"
    assert listed(doc) == [uri["organization"], uri["public"]] and doc["totalItems"] == 2
    assert all(item["type"] == "Note" for item in doc["orderedItems"])
    # And a partner's signed read, and the open web, list only the public one
    for who in ((partner_peer, "pat"), (None, "")):
        status, doc = await read(node, "/users/alice/collections/featured", *who)
        assert status == 200 and listed(doc) == [uri["public"]] and doc["totalItems"] == 1
    # And the partner's refusal of the organisation post is audited as a fetch
    async with node.ctx.db.reader() as s:
        reasons = list(await s.scalars(select(AuditEntry.reason).where(AuditEntry.peer == partner_peer.domain,
                                                                        AuditEntry.decision == "refused")))
    assert any(r.startswith("fetch:") for r in reasons)
    # When she unpins the public post, no reader is told of it any longer
    await pins.unpin(node.ctx, alice, made["public"].id)
    status, doc = await read(node, "/users/alice/collections/featured", org_peer, "olga")
    assert listed(doc) == [uri["organization"]]
    assert listed((await read(node, "/users/alice/collections/featured"))[1]) == []


async def test_a_communitys_pins_are_its_moderators_and_stay_inside_its_audience(
    node: LocalNode, org_peer: FakePeer, partner_peer: FakePeer
) -> None:
    # Given an organisation community moderated by alice, and a post bob wrote to it
    alice = await accounts.get_local(node.ctx, "alice")
    bob = await accounts.get_local(node.ctx, "bob")
    guild = await communities.create_community(node.ctx, "guild", audience="organization", creator=alice)
    written = await posts.create_post(node.ctx, bob, NewPost("to the guild", visibility="organization"))
    elsewhere = await posts.create_post(node.ctx, alice, NewPost("not in the guild", visibility="organization"))
    async with node.ctx.db.session() as s:  # what posting to a community records (node/community_posts.py)
        await s.execute(update(Post).where(Post.id == written.id).values(community_id=guild.id))
    # When bob, who is no moderator, pins it to the guild: refused
    with pytest.raises(Forbidden, match="moderators"):
        await pins.pin(node.ctx, bob, written.id, on_behalf_of=guild)
    # And alice may not pin a post that was not written to the guild
    with pytest.raises(Invalid, match="written to this community"):
        await pins.pin(node.ctx, alice, elsewhere.id, on_behalf_of=guild)
    # When alice, a moderator, pins bob's post to the guild
    await pins.pin(node.ctx, alice, written.id, on_behalf_of=guild)
    # Then the guild's page lists it for a member here, and not for the open web
    assert [p.id for p in await pins.pinned(node.ctx, bob, guild.id)] == [written.id]
    assert await pins.pinned(node.ctx, None, guild.id) == []
    # And it is not alice's own pin
    assert await pins.pinned(node.ctx, alice, alice.id) == []
    # And the guild's featured collection lists it to the organisation peer only; a partner and
    # the open web get nothing of the community at all
    status, doc = await read(node, "/users/guild/collections/featured", org_peer, "olga")
    assert status == 200 and listed(doc) == [written.uri]
    for who in ((partner_peer, "pat"), (None, "")):
        status, _ = await read(node, "/users/guild/collections/featured", *who)
        assert status == 404
    # When alice unpins it on the guild's behalf, the page has none
    await pins.unpin(node.ctx, alice, written.id, on_behalf_of=guild)
    assert await pins.pinned(node.ctx, bob, guild.id) == []


async def test_an_admin_of_the_node_pins_to_any_community(node: LocalNode) -> None:
    # Given a community the node's admin does not moderate
    admin = await accounts.create_user(node.ctx, "root", "correct horse battery", role="admin")
    alice = await accounts.get_local(node.ctx, "alice")
    guild = await communities.create_community(node.ctx, "guild", audience="public", creator=alice)
    written = await posts.create_post(node.ctx, alice, NewPost("to the guild"))
    async with node.ctx.db.session() as s:
        await s.execute(update(Post).where(Post.id == written.id).values(community_id=guild.id))
    # When the admin pins a post of it (an admin of a node moderates each of its communities)
    await pins.pin(node.ctx, admin, written.id, on_behalf_of=guild)
    # Then it is pinned to the community
    assert [p.id for p in await pins.pinned(node.ctx, None, guild.id)] == [written.id]
