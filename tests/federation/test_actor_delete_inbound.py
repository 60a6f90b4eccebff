"""A peer's actor `Delete`, received over real HTTP from a fake peer (node/inbox/notes.py →
node/account_deletion.py forget_remote_account): honoured only from the actor itself, and the
actor id stays refused afterwards even while the peer serves the actor again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from node import remote
from node.policy import PeerRule, Policy
from storage.models import Account, Follow, Notification, Post
from tests.conftest import StartNode
from tests.factory import LocalNode, fake_peer
from tests.federation.fake_peer import FakePeer


@pytest.fixture
async def peer() -> AsyncIterator[FakePeer]:
    async with fake_peer("mallory", "eve", keys={"eve": 1}) as p:
        yield p


@pytest.fixture
async def node(peer: FakePeer, start_node: StartNode) -> LocalNode:
    return await start_node(policy=Policy(mode="allowlist", peers=(PeerRule(peer.domain, "public"),)))


@pytest.fixture
async def alice(node: LocalNode, peer: FakePeer) -> Account:
    """A local user who follows mallory (and is followed back), with a post of mallory's stored."""
    mallory = await remote.actor_by_uri(node.ctx, peer.actor("mallory"))
    async with node.ctx.db.session() as s:
        alice = Account(username="alice", domain=None, display_name="Alice")
        s.add(alice)
        await s.flush()
        s.add(Follow(follower_id=alice.id, target_id=mallory.id, state="accepted", uri=f"{node.ctx.base_url}/follows/1"))
        s.add(Follow(follower_id=mallory.id, target_id=alice.id, state="accepted", uri=f"{peer.actor('mallory')}/f/1"))
    note = peer.note("mallory", 1, "<p>hello from mallory</p>")
    assert (await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory"))[0] == 202
    await node.process()
    assert await node.post(str(note["id"])) is not None
    return alice


def _delete(peer: FakePeer, actor: str, obj: str, n: int) -> dict[str, object]:
    return {"id": f"{peer.actor(actor)}#delete-{n}", "type": "Delete", "actor": peer.actor(actor), "object": obj,
            "to": ["https://www.w3.org/ns/activitystreams#Public"]}


async def _count(node: LocalNode, model: type, *where: object) -> int:
    async with node.ctx.db.reader() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _mallory(node: LocalNode, peer: FakePeer) -> Account:
    async with node.ctx.db.reader() as s:
        row = await s.scalar(select(Account).where(Account.actor_uri == peer.actor("mallory")))
    assert row is not None
    return row


async def test_an_actor_delete_removes_the_account_here_and_its_later_creates_are_refused(
    node: LocalNode, peer: FakePeer, alice: Account
) -> None:
    mallory = await _mallory(node, peer)
    # When mallory's node sends mallory's actor Delete, signed by mallory
    delete = _delete(peer, "mallory", peer.actor("mallory"), 1)
    assert (await peer.post(node.inbox, delete, as_actor="mallory"))[0] == 202
    await node.process()
    # Then her posts, follows both ways and notifications are gone here, and the row is marked
    assert ("Delete", "done", "account deleted") in await node.outcomes()
    assert await _count(node, Post, Post.account_id == mallory.id) == 0
    assert await _count(node, Follow, (Follow.follower_id == mallory.id) | (Follow.target_id == mallory.id)) == 0
    assert await _count(node, Notification, Notification.from_account_id == mallory.id) == 0
    row = await _mallory(node, peer)
    assert row.deleted_at is not None and row.display_name == ""
    # When the peer still serves her actor, and it is looked up again, and she sends a Create
    await remote.fetch_actor(node.ctx, peer.actor("mallory"))
    assert (await _mallory(node, peer)).deleted_at is not None
    note = peer.note("mallory", 2, "<p>back from the dead</p>")
    assert (await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory"))[0] == 202
    await node.process()
    # Then it is refused, with its reason in the inbox log, and nothing is stored
    assert await node.post(str(note["id"])) is None
    assert (await node.outcomes())[-1] == ("Create", "refused", f"mallory@{peer.domain} was deleted by its own node")


async def test_an_actor_delete_signed_by_another_actor_deletes_nobody(
    node: LocalNode, peer: FakePeer, alice: Account
) -> None:
    # When eve (same server) signs a Delete claiming to be mallory's
    status, body = await peer.post(node.inbox, _delete(peer, "mallory", peer.actor("mallory"), 2), as_actor="eve")
    # Then the inbox refuses it: the signer is not the actor
    assert status == 403 and "not the activity's actor" in json.loads(body)["error"]
    # When eve deletes mallory's actor id as her own object
    assert (await peer.post(node.inbox, _delete(peer, "eve", peer.actor("mallory"), 3), as_actor="eve"))[0] == 202
    await node.process()
    # Then mallory is untouched: still here, with her post and follows
    mallory = await _mallory(node, peer)
    assert mallory.deleted_at is None and not mallory.disabled
    assert await _count(node, Post, Post.account_id == mallory.id) == 1
    assert await _count(node, Follow, Follow.target_id == mallory.id) == 1
