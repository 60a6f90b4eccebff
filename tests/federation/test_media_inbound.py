"""A peer's attachments over real signed HTTP: recorded by reference on Create, replaced on
Update, and dropped (with a record of it) when the policy says `reject_media`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from node import audit, remote
from node.policy import PeerRule, Policy
from storage.models import Account, Follow, Post
from storage.models.media import MediaAttachment, MediaKind, MediaState
from tests.conftest import StartNode
from tests.factory import LocalNode, fake_peer
from tests.federation.fake_peer import FakePeer


def picture(peer: FakePeer, n: int, alt: str) -> dict[str, object]:
    """An attachment as Mastodon sends it."""
    return {"type": "Document", "mediaType": "image/jpeg", "url": f"{peer.base}/media/{n}.jpg", "name": alt,
            "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj", "focalPoint": [0.5, -0.25], "width": 640, "height": 480}


# The terms Mastodon defines inline beside AS2 for its attachments.
MASTODON_CONTEXT = ["https://www.w3.org/ns/activitystreams",
                    {"toot": "http://joinmastodon.org/ns#", "blurhash": "toot:blurhash",
                     "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"}}]


@pytest.fixture
async def peer() -> AsyncIterator[FakePeer]:
    async with fake_peer("mallory") as p:
        yield p


async def follows_mallory(node: LocalNode, peer: FakePeer) -> None:
    """A local user follows the peer's mallory, so mallory's posts are wanted here."""
    mallory = await remote.actor_by_uri(node.ctx, peer.actor("mallory"))
    async with node.ctx.db.session() as s:
        alice = Account(username="alice", domain=None, display_name="Alice")
        s.add(alice)
        await s.flush()
        s.add(Follow(follower_id=alice.id, target_id=mallory.id, state="accepted", uri=f"{node.ctx.base_url}/follows/1"))


@pytest.fixture
async def node(peer: FakePeer, start_node: StartNode) -> LocalNode:
    node = await start_node(policy=Policy(mode="allowlist", peers=(PeerRule(peer.domain, "public"),)))
    await follows_mallory(node, peer)
    return node


@pytest.fixture
async def rejecting_node(peer: FakePeer, start_node: StartNode) -> LocalNode:
    node = await start_node(policy=Policy(mode="allowlist", peers=(PeerRule(peer.domain, "public", reject_media=True),)))
    await follows_mallory(node, peer)
    return node


async def media_of(node: LocalNode, uri: str) -> list[MediaAttachment]:
    async with node.ctx.db.reader() as s:
        post_id = await s.scalar(select(Post.id).where(Post.uri == uri))
        return list(await s.scalars(select(MediaAttachment).where(MediaAttachment.post_id == post_id)
                                    .order_by(MediaAttachment.position)))


async def test_a_peers_attachments_are_recorded_by_reference(node: LocalNode, peer: FakePeer) -> None:
    # Given a note with two pictures, one of them with a Pleroma-style Link url
    second = picture(peer, 2, "second") | {"url": [{"type": "Link", "href": f"{peer.base}/media/2.jpg", "mediaType": "image/jpeg"}]}
    note = peer.note("mallory", 1, "<p>look</p>", attachment=[picture(peer, 1, "A red door"), second])
    # When the peer delivers it, signed
    status, _ = await peer.post(node.inbox, peer.create("mallory", note) | {"@context": MASTODON_CONTEXT}, as_actor="mallory")
    assert status == 202 and await node.process() == 1
    # Then each is a ready row by reference, in order, with what the peer said of it
    rows = await media_of(node, str(note["id"]))
    assert [(r.remote_url, r.position, r.description, r.state, r.storage_key) for r in rows] == [
        (f"{peer.base}/media/1.jpg", 0, "A red door", MediaState.READY, None),
        (f"{peer.base}/media/2.jpg", 1, "second", MediaState.READY, None),
    ]
    first = rows[0]
    assert (first.kind, first.content_type, first.width, first.height) == (MediaKind.IMAGE, "image/jpeg", 640, 480)
    assert (first.blurhash, first.focus_x, first.focus_y) == ("LEHV6nWB2yk8pyo0adR*.7kCMdnj", 0.5, -0.25)
    author = await node.post(str(note["id"]))
    assert author is not None and first.account_id == author.account_id
    assert await node.outcomes() == [("Create", "done", None)]


async def test_an_edit_replaces_the_attachments(node: LocalNode, peer: FakePeer) -> None:
    # Given a stored note with two pictures
    note = peer.note("mallory", 2, "<p>v1</p>", attachment=[picture(peer, 1, "one"), picture(peer, 2, "two")])
    await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory")
    await node.process()
    kept_id = (await media_of(node, str(note["id"])))[1].id
    # When the peer edits it: the second picture first with new alt text, the first gone, a third added
    edited = note | {"content": "<p>v2</p>", "updated": "2026-11-25T11:00:00Z",
                     "attachment": [picture(peer, 2, "two, described"), picture(peer, 3, "three")]}
    update = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{note['id']}/update/1", "type": "Update",
              "actor": peer.actor("mallory"), "object": edited}
    status, _ = await peer.post(node.inbox, update, as_actor="mallory")
    assert status == 202 and await node.process() == 1
    # Then the post carries exactly the new list; the picture it kept is the same row
    rows = await media_of(node, str(note["id"]))
    assert [(r.remote_url, r.position, r.description) for r in rows] == [
        (f"{peer.base}/media/2.jpg", 0, "two, described"),
        (f"{peer.base}/media/3.jpg", 1, "three"),
    ]
    assert rows[0].id == kept_id
    # And an edit that removes every attachment leaves none
    bare = edited | {"updated": "2026-11-25T12:00:00Z", "attachment": []}
    await peer.post(node.inbox, update | {"id": f"{note['id']}/update/2", "object": bare}, as_actor="mallory")
    await node.process()
    assert await media_of(node, str(note["id"])) == []


async def test_reject_media_drops_them_and_says_so(rejecting_node: LocalNode, peer: FakePeer) -> None:
    node = rejecting_node
    # Given a peer whose rule says reject_media, and a note with a picture
    note = peer.note("mallory", 3, "<p>text stays</p>", attachment=[picture(peer, 1, "dropped")])
    # When it delivers the note, and then an edit with another picture
    await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory")
    edited = note | {"updated": "2026-11-25T11:00:00Z", "attachment": [picture(peer, 2, "also dropped")]}
    await peer.post(node.inbox, {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{note['id']}/u",
                                 "type": "Update", "actor": peer.actor("mallory"), "object": edited}, as_actor="mallory")
    assert await node.process() == 2
    # Then the text is stored and no attachment is
    stored = await node.post(str(note["id"]))
    assert stored is not None and "text stays" in stored.content_html
    assert await media_of(node, str(note["id"])) == []
    # And the inbox log and the audit trail say what happened and which rule did it
    rule = f'peers."{peer.domain}".reject_media'
    assert await node.outcomes() == [("Create", "done", f"1 attachment(s) dropped by {rule}"),
                                     ("Update", "done", f"1 attachment(s) dropped by {rule}")]
    trail = [e async for e in audit.entries(node.ctx.db, decision="rewritten")]
    assert [(e.direction, e.peer, e.object, e.rule) for e in trail] == [("in", peer.domain, note["id"], rule)] * 2
