"""Leaks: a non-public post reaches only its audience, whichever way is asked.

Boosts and mentions here; the sweep of every route the node serves, by every kind of reader,
is tests/security/test_leak_sweep.py.
"""

from __future__ import annotations

import aiohttp
from sqlalchemy import select

from federation.vocab import PUBLIC
from node import accounts, posts, remote
from node.posts import NewPost
from storage.models import Account, Follow, Mention, Notification
from tests.factory import LocalNode
from tests.federation.fake_peer import FakePeer
from tests.security.conftest import sign_in


async def _follow(node: LocalNode, follower: Account, target: Account) -> None:
    async with node.ctx.db.session() as s:
        s.add(Follow(follower_id=follower.id, target_id=target.id, state="accepted"))


async def test_a_peer_cannot_boost_a_followers_only_post(node: LocalNode, peer: FakePeer) -> None:
    # Given mallory follows alice and alice posts to her followers
    alice = await accounts.get_local(node.ctx, "alice")
    mallory = await remote.actor_by_uri(node.ctx, peer.actor("mallory"))
    await _follow(node, mallory, alice)
    post = await posts.create_post(node.ctx, alice, NewPost("for followers", visibility="followers"))
    # When mallory Announces it to the world
    announce = {"id": f"{peer.actor('mallory')}/boosts/2", "type": "Announce", "actor": peer.actor("mallory"),
                "object": post.uri, "to": [PUBLIC]}
    assert (await peer.post(node.inbox, announce, as_actor="mallory"))[0] == 202
    await node.process()
    # Then the boost is refused and not stored
    assert ("Announce", "refused", "a followers post cannot be boosted") in await node.outcomes()
    assert await node.post(str(announce["id"])) is None


async def test_a_local_account_cannot_boost_a_followers_only_post(node: LocalNode, http: aiohttp.ClientSession) -> None:
    alice = await accounts.get_local(node.ctx, "alice")
    bob = await accounts.get_local(node.ctx, "bob")
    await _follow(node, bob, alice)
    post = await posts.create_post(node.ctx, alice, NewPost("for followers", visibility="followers"))
    async with http.post(f"/api/v1/statuses/{post.id}/reblog", headers=await sign_in(http, "bob")) as r:
        assert r.status == 422 and "cannot be boosted" in (await r.json())["error"]


async def test_a_mention_tagged_but_not_addressed_gives_no_access(
    node: LocalNode, peer: FakePeer, http: aiohttp.ClientSession, alice_follows_mallory: Account
) -> None:
    # Given mallory writes to alice only, but tags bob as mentioned
    bob_uri = node.ctx.actor_uri("bob")
    note = peer.note("mallory", 70, "just between us", to=[node.ctx.actor_uri("alice")], cc=[],
                     tag=[{"type": "Mention", "href": node.ctx.actor_uri("alice")}, {"type": "Mention", "href": bob_uri}])
    assert (await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory"))[0] == 202
    await node.process()
    stored = await node.post(str(note["id"]))
    assert stored is not None and stored.visibility == "direct"
    # Then only alice is mentioned and notified; bob cannot read it
    bob = await accounts.get_local(node.ctx, "bob")
    async with node.ctx.db.reader() as s:
        mentioned = (await s.scalars(select(Mention.account_id).where(Mention.post_id == stored.id))).all()
        bob_heard = (await s.scalars(select(Notification.id).where(Notification.account_id == bob.id))).all()
    assert mentioned == [alice_follows_mallory.id] and bob_heard == []
    async with http.get(f"/api/v1/statuses/{stored.id}", headers=await sign_in(http, "bob")) as r:
        assert r.status == 404
    async with http.get(f"/api/v1/statuses/{stored.id}", headers=await sign_in(http, "alice")) as r:
        assert r.status == 200


async def test_a_mention_tagged_but_not_addressed_in_a_public_post_still_notifies(
    node: LocalNode, peer: FakePeer, alice_follows_mallory: Account
) -> None:
    # A public post may be read by anyone: the tag alone is enough to tell bob
    note = peer.note("mallory", 71, "hello bob", tag=[{"type": "Mention", "href": node.ctx.actor_uri("bob")}])
    assert (await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory"))[0] == 202
    await node.process()
    bob = await accounts.get_local(node.ctx, "bob")
    async with node.ctx.db.reader() as s:
        assert (await s.scalars(select(Notification.type).where(Notification.account_id == bob.id))).all() == ["mention"]
