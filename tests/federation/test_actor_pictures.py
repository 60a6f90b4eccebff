"""Pictures of people across nodes (node/avatars.py): a peer's `Update` of its actor with a
new `icon`/`image` changes what this node shows of that person, as Mastodon sends it.

The node runs in-process on loopback (both engines); the peer is a real HTTP server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from node import remote
from node.policy import PeerRule, Policy
from storage.models import Account, MediaAttachment, MediaRole
from tests.conftest import StartNode
from tests.factory import LocalNode, fake_peer
from tests.federation.fake_peer import FakePeer

TOOT = {"toot": "http://joinmastodon.org/ns#", "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"}}


@pytest.fixture
async def peer() -> AsyncIterator[FakePeer]:
    async with fake_peer("mallory") as p:
        p.actor_extra["mallory"] = {"icon": {"type": "Image", "mediaType": "image/png", "url": f"{p.base}/a/1.png"}}
        yield p


@pytest.fixture
async def node(peer: FakePeer, start_node: StartNode) -> LocalNode:
    return await start_node(policy=Policy(mode="allowlist", peers=(PeerRule(peer.domain, "public"),)))


async def _pictures(node: LocalNode, account_id: int) -> dict[str, str | None]:
    async with node.ctx.db.reader() as s:
        account = await s.get(Account, account_id)
        assert account is not None
        rows = (await s.scalars(select(MediaAttachment).where(MediaAttachment.account_id == account_id))).all()
    by_id = {r.id: r for r in rows}
    assert len(rows) == (account.avatar_id is not None) + (account.header_id is not None)  # no row left behind
    return {
        MediaRole.AVATAR: by_id[account.avatar_id].remote_url if account.avatar_id else None,
        MediaRole.HEADER: by_id[account.header_id].remote_url if account.header_id else None,
    }


async def test_a_peers_update_of_its_actor_changes_its_pictures_here(node: LocalNode, peer: FakePeer) -> None:
    # Given mallory, known here with her avatar
    mallory = await remote.actor_by_uri(node.ctx, peer.actor("mallory"))
    assert await _pictures(node, mallory.id) == {MediaRole.AVATAR: f"{peer.base}/a/1.png", MediaRole.HEADER: None}
    # When her server sends an Update of her actor with a new avatar and a header, as Mastodon does
    doc = peer.actor_document("mallory") | {
        "icon": {"type": "Image", "mediaType": "image/jpeg", "url": f"{peer.base}/a/2.jpg"},
        "image": {"type": "Image", "mediaType": "image/jpeg", "url": f"{peer.base}/h/1.jpg"},
    }
    context = [*doc.pop("@context"), TOOT]  # type: ignore[misc]
    update = {"@context": context, "id": f"{peer.actor('mallory')}#updates/1", "type": "Update",
              "actor": peer.actor("mallory"), "object": doc}
    assert (await peer.post(node.inbox, update, as_actor="mallory"))[0] == 202
    await node.process()
    # Then this node shows her new pictures, and keeps no row of the old avatar
    assert await _pictures(node, mallory.id) == {MediaRole.AVATAR: f"{peer.base}/a/2.jpg",
                                                  MediaRole.HEADER: f"{peer.base}/h/1.jpg"}
