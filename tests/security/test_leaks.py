"""Leaks: a non-public post reaches only its audience, whichever way is asked.

The sweep asks every way out a reader has (ActivityPub object and collections, the client
API, the HTML pages, search, feeds) as an anonymous reader, as a local account outside the
audience, and signed as an admitted peer's actor outside it; the post's words must appear in
none of the answers.
"""

from __future__ import annotations

import aiohttp
import pytest
from sqlalchemy import select

from federation.signatures import sign_request
from federation.vocab import AP_CONTENT_TYPE, PUBLIC
from node import accounts, posts, remote
from node.posts import NewPost
from storage.models import Account, Follow, Mention, Notification, Post
from tests.federation.fake_peer import FakePeer
from tests.federation.test_inbox import Node
from tests.security.conftest import PASSWORD, sign_in

SECRET = "zq-secret-7"  # in the post's text; never in a URL the sweep asks (pages echo queries)
TAG = "zqsecret"


async def _follow(node: Node, follower: Account, target: Account) -> None:
    async with node.ctx.db.session() as s:
        s.add(Follow(follower_id=follower.id, target_id=target.id, state="accepted"))


def _paths(alice: Account, post: Post) -> list[str]:
    n = post.id
    return [
        f"/users/alice/statuses/{n}", f"/users/alice/statuses/{n}/", f"/users/alice/statuses/{n}?page=true",
        f"/users/alice/statuses/{n}/replies", f"/users/alice/statuses/{n}/activity",
        "/users/alice/outbox", "/users/alice/outbox?page=true", "/users/alice", "/users/alice/collections/featured",
        f"/api/v1/statuses/{n}", f"/api/v1/statuses/{n}/context", f"/api/v1/statuses/{n}/history",
        f"/api/v1/statuses/{n}/source", f"/api/v1/accounts/{alice.id}/statuses",
        "/api/v1/timelines/public", "/api/v1/timelines/public?local=true", "/api/v1/timelines/home",
        f"/api/v1/timelines/tag/{TAG}", "/api/v2/search?q=zq-secret&resolve=false", "/api/v1/notifications",
        "/api/v1/bookmarks",
        f"/@alice/{n}", "/@alice", "/local", "/federated", "/organization", f"/tags/{TAG}", "/search?q=zq-secret",
        "/@alice.rss", "/users/alice.rss", "/users/alice.atom", "/@alice/with_replies",
    ]


@pytest.mark.parametrize("visibility", ["followers", "direct", "local"])
async def test_a_non_public_post_is_read_by_no_one_outside_its_audience(
    node: Node, peer: FakePeer, http: aiohttp.ClientSession, visibility: str
) -> None:
    # Given alice's non-public post (a direct one mentions bob), bob following alice
    alice = await accounts.get_local(node.ctx, "alice")
    bob = await accounts.get_local(node.ctx, "bob")
    await accounts.create_user(node.ctx, "carol", PASSWORD)
    await _follow(node, bob, alice)
    mallory = await remote.actor_by_uri(node.ctx, peer.actor("mallory"))
    text = f"#{TAG} {SECRET} for the few" + (" @bob" if visibility == "direct" else "")
    post = await posts.create_post(node.ctx, alice, NewPost(text, visibility=visibility))
    carol_auth = await sign_in(http, "carol")
    # When every way out is asked by an outsider: anonymous, carol (local), mallory (signed peer)
    leaks: list[str] = []
    for path in _paths(alice, post):
        outsiders = [("anonymous", {}), ("mallory", _signed(node, peer, path))]
        if visibility != "local":  # a local post is for every account of this node, carol included
            outsiders.append(("carol", carol_auth))
        for who, headers in outsiders:
            async with http.get(path, headers={"Accept": AP_CONTENT_TYPE, **headers}) as r:
                if SECRET in await r.text():
                    leaks.append(f"{who} GET {path} -> {r.status}")
            async with http.get(path, headers={"Accept": "text/html", **headers}) as r:
                if SECRET in await r.text():
                    leaks.append(f"{who} GET {path} (html) -> {r.status}")
    # Then the words reach none of them
    assert leaks == []
    assert mallory.id is not None
    # and the audience itself can read it (the sweep is not blind)
    if visibility != "local":
        bob_auth = await sign_in(http, "bob")
        async with http.get(f"/api/v1/statuses/{post.id}", headers=bob_auth) as r:
            assert r.status == 200 and SECRET in await r.text()


def _signed(node: Node, peer: FakePeer, path: str) -> dict[str, str]:
    url = f"{node.ctx.base_url}{path}"
    return sign_request("GET", url, {"Accept": AP_CONTENT_TYPE}, None, peer.key_id("mallory"), peer.keys["mallory"])


async def test_a_peer_cannot_boost_a_followers_only_post(node: Node, peer: FakePeer) -> None:
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


async def test_a_local_account_cannot_boost_a_followers_only_post(node: Node, http: aiohttp.ClientSession) -> None:
    alice = await accounts.get_local(node.ctx, "alice")
    bob = await accounts.get_local(node.ctx, "bob")
    await _follow(node, bob, alice)
    post = await posts.create_post(node.ctx, alice, NewPost("for followers", visibility="followers"))
    async with http.post(f"/api/v1/statuses/{post.id}/reblog", headers=await sign_in(http, "bob")) as r:
        assert r.status == 422 and "cannot be boosted" in (await r.json())["error"]


async def test_a_mention_tagged_but_not_addressed_gives_no_access(
    node: Node, peer: FakePeer, http: aiohttp.ClientSession, alice_follows_mallory: Account
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
    node: Node, peer: FakePeer, alice_follows_mallory: Account
) -> None:
    # A public post may be read by anyone: the tag alone is enough to tell bob
    note = peer.note("mallory", 71, "hello bob", tag=[{"type": "Mention", "href": node.ctx.actor_uri("bob")}])
    assert (await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory"))[0] == 202
    await node.process()
    bob = await accounts.get_local(node.ctx, "bob")
    async with node.ctx.db.reader() as s:
        assert (await s.scalars(select(Notification.type).where(Notification.account_id == bob.id))).all() == ["mention"]
