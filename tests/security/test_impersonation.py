"""Impersonation: nobody speaks, or changes things, for an actor but that actor.

Each test is a signed request a hostile peer could make, sent over real HTTP to a node on
loopback; the assertion is the refusal and that nothing was stored.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from sqlalchemy import select

from federation.vocab import PUBLIC
from node import accounts, posts
from node.policy import PeerRule, Policy
from node.posts import NewPost
from storage.models import Account, Like, Post
from tests.factory import LocalNode, free_port
from tests.federation.fake_peer import FakePeer, public_pem
from tests.security.conftest import post_signed


async def test_a_key_on_another_host_cannot_name_an_owner_here(node: LocalNode, peer: FakePeer, other_peer: FakePeer) -> None:
    # Given trudy's server publishes a key document claiming mallory (on another host) as owner
    key_url = f"{other_peer.actor('trudy')}/notes/99"
    other_peer.objects[key_url] = {"@context": "https://w3id.org/security/v1", "id": key_url, "type": "Key",
                                   "owner": peer.actor("mallory"), "publicKeyPem": public_pem(other_peer.keys["trudy"])}
    # When trudy signs a Create in mallory's name with that key
    answer = await post_signed(node.inbox, peer.create("mallory", peer.note("mallory", 1, "forged")), key_url,
                               other_peer.keys["trudy"])
    # Then it is refused and nothing is queued
    assert answer.status == 401 and "key" in answer.error
    assert await node.outcomes() == []


async def test_an_actor_of_another_host_cannot_sign_for_this_one(node: LocalNode, peer: FakePeer, other_peer: FakePeer) -> None:
    answer = await post_signed(node.inbox, peer.create("mallory", peer.note("mallory", 2, "forged")),
                               other_peer.key_id("trudy"), other_peer.keys["trudy"])
    assert answer.status == 403 and "not the activity's actor" in answer.error
    assert await node.outcomes() == []


async def test_an_activity_id_on_another_origin_is_refused(node: LocalNode, peer: FakePeer, other_peer: FakePeer) -> None:
    activity = peer.create("mallory", peer.note("mallory", 3, "hi")) | {"id": f"{other_peer.base}/activities/3"}
    answer = await post_signed(node.inbox, activity, peer.key_id("mallory"), peer.keys["mallory"])
    assert answer.status == 403 and "activity's id" in answer.error


async def test_an_update_of_another_actors_note_is_refused(
    node: LocalNode, peer: FakePeer, alice_follows_mallory: Account
) -> None:
    # Given mallory's note is stored here
    note = peer.note("mallory", 4, "original")
    assert (await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory"))[0] == 202
    await node.process()
    # When eve (same server) sends an Update of it, first honestly attributed, then claiming it as hers
    update = {"id": f"{peer.actor('eve')}/u/1", "type": "Update", "actor": peer.actor("eve"),
              "object": note | {"content": "defaced"}}
    honest = await post_signed(node.inbox, update, peer.key_id("eve"), peer.keys["eve"])
    lying = await post_signed(node.inbox, update | {"id": f"{peer.actor('eve')}/u/2",
                                                    "object": note | {"content": "defaced", "attributedTo": peer.actor("eve")}},
                              peer.key_id("eve"), peer.keys["eve"])
    await node.process()
    # Then the first is refused at the door, the second by the handler, and the note is unchanged
    assert honest.status == 403 and "attributed to someone other" in honest.error
    assert lying.status == 202
    assert ("Update", "refused", "an actor may update only its own objects") in await node.outcomes()
    stored = await node.post(str(note["id"]))
    assert stored is not None and "original" in stored.content_html


async def test_an_undo_of_another_actors_like_is_refused(node: LocalNode, peer: FakePeer) -> None:
    # Given mallory likes alice's public post
    alice = await accounts.get_local(node.ctx, "alice")
    post = await posts.create_post(node.ctx, alice, NewPost("like me"))
    like = {"id": f"{peer.actor('mallory')}/likes/1", "type": "Like", "actor": peer.actor("mallory"), "object": post.uri}
    assert (await peer.post(node.inbox, like, as_actor="mallory"))[0] == 202
    await node.process()
    # When eve undoes mallory's like, once naming mallory as its actor and once by id alone
    named = {"id": f"{peer.actor('eve')}/undo/1", "type": "Undo", "actor": peer.actor("eve"), "object": like}
    bare = {"id": f"{peer.actor('eve')}/undo/2", "type": "Undo", "actor": peer.actor("eve"), "object": like["id"]}
    for undo in (named, bare):
        assert (await peer.post(node.inbox, undo, as_actor="eve"))[0] == 202
    await node.process()
    # Then the like stands
    outcomes = await node.outcomes()
    assert ("Undo", "refused", "an actor may undo only its own activities") in outcomes
    assert ("Undo", "ignored", "nothing to undo") in outcomes
    async with node.ctx.db.reader() as s:
        assert len((await s.scalars(select(Like))).all()) == 1
        assert (await s.get(Post, post.id)).likes_count == 1  # type: ignore[union-attr]


async def test_another_actor_cannot_delete_a_note_before_it_arrives(
    node: LocalNode, peer: FakePeer, alice_follows_mallory: Account
) -> None:
    # Given eve sends a Delete for a note of mallory's that has not arrived yet
    note = peer.note("mallory", 5, "still mine")
    delete = {"id": f"{peer.actor('eve')}/d/5", "type": "Delete", "actor": peer.actor("eve"), "object": note["id"]}
    assert (await peer.post(node.inbox, delete, as_actor="eve"))[0] == 202
    await node.process()
    # When mallory's Create arrives
    assert (await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory"))[0] == 202
    await node.process()
    # Then it is stored: eve's Delete did not suppress it
    assert await node.post(str(note["id"])) is not None


async def test_a_boosted_document_whose_id_is_not_its_url_is_not_stored(
    node: LocalNode, peer: FakePeer, other_peer: FakePeer, alice_follows_mallory: Account
) -> None:
    # Given the peer serves, at one URL, a note claiming to be trudy's note on another server
    url = f"{peer.actor('eve')}/notes/60"
    forged = other_peer.note("trudy", 60, "words put in trudy's mouth")
    peer.objects[url] = forged
    # When mallory boosts that URL
    announce = {"id": f"{peer.actor('mallory')}/boosts/1", "type": "Announce", "actor": peer.actor("mallory"),
                "object": url, "to": [PUBLIC]}
    assert (await peer.post(node.inbox, announce, as_actor="mallory"))[0] == 202
    await node.process()
    # Then neither the forged note nor a boost of it is stored
    assert await node.post(str(forged["id"])) is None and await node.post(url) is None
    assert await node.post(str(announce["id"])) is None


@pytest.fixture
async def upload_host(node: LocalNode, peer: FakePeer) -> AsyncIterator[str]:
    """A media host (admitted by policy) serving an uploaded actor document under the content
    type in its path (`application_json` for application/json)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    async def media(request: web.Request) -> web.Response:
        uri = f"{base}{request.path}"
        doc = peer.actor_document("mallory") | {"id": uri, "inbox": f"{uri}/inbox", "outbox": f"{uri}/outbox",
                                                "followers": f"{uri}/followers"}
        doc["publicKey"] = {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": public_pem(peer.keys["mallory"])}
        return web.Response(text=json.dumps(doc), content_type=request.match_info["type"].replace("_", "/"))

    app = web.Application()
    app.router.add_get("/media/{type}/actor.json", media)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    node.policy[0] = Policy(peers=(*node.policy[0].peers, PeerRule(f"127.0.0.1:{port}", "public")))
    try:
        yield base
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("served_as, status", [
    ("application_json", 401),
    ("text_plain", 401),
    ("application_octet-stream", 401),
    ("application_activity+json", 202),  # the control: the same document served as ActivityStreams
])
async def test_an_uploaded_json_file_is_not_an_actor(
    node: LocalNode, peer: FakePeer, upload_host: str, served_as: str, status: int
) -> None:
    # Given an attacker uploaded an actor document to a media host and points a key id at it
    actor = f"{upload_host}/media/{served_as}/actor.json"
    activity = {"id": f"{actor}/a", "type": "Follow", "actor": actor, "object": node.ctx.actor_uri("alice")}
    # When it signs an activity with the uploaded key
    answer = await post_signed(node.inbox, activity, f"{actor}#main-key", peer.keys["mallory"])
    # Then the key is not taken unless the file was served as ActivityStreams
    assert answer.status == status, answer.text
    if status == 401:
        assert "signer's key" in answer.error
        async with node.ctx.db.reader() as s:
            assert await s.scalar(select(Account).where(Account.actor_uri == actor)) is None
