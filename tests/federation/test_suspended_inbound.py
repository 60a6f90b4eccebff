"""A remote account suspended by this node's moderators: its inbound activities are refused at
the inbox (with an audit entry), over real HTTP from a fake peer."""

from __future__ import annotations

from sqlalchemy import select

from node import audit, moderation
from storage.models import Account, InboxEntry
from tests.factory import LocalNode
from tests.federation.fake_peer import FakePeer
from tests.federation.test_inbox import alice_follows_mallory, node, peer  # noqa: F401 - the fixtures

__all__ = ["alice_follows_mallory", "node", "peer"]


async def _suspend(node: LocalNode, peer: FakePeer, name: str) -> None:
    """A moderator of the node suspends the peer's account `name`."""
    async with node.ctx.db.session() as s:
        account = await s.scalar(select(Account).where(Account.actor_uri == peer.actor(name)))
        mod = Account(username="mod", domain=None, role="moderator", display_name="Mod", bio="", credentials_version=0)
        s.add(mod)
    assert account is not None
    await moderation.moderate_account(node.ctx, mod, account.id, "suspend", "spam")


async def test_a_suspended_remote_accounts_activities_are_refused(
    node: LocalNode, peer: FakePeer, alice_follows_mallory: Account  # noqa: F811
) -> None:
    # Given alice follows mallory on the peer, and mallory's post has arrived
    first = peer.create("mallory", peer.note("mallory", 1, "hello"))
    assert (await peer.post(node.inbox, first, as_actor="mallory"))[0] == 202
    await node.process()
    assert await node.post(peer.actor("mallory") + "/notes/1") is not None
    # When a moderator suspends her
    await _suspend(node, peer, "mallory")
    # Then her next activity is refused at the inbox, stored nowhere, and the refusal is audited
    second = peer.create("mallory", peer.note("mallory", 2, "more spam"))
    status, body = await peer.post(node.inbox, second, as_actor="mallory")
    assert status == 403 and "suspended" in body
    await node.process()
    assert await node.post(peer.actor("mallory") + "/notes/2") is None
    refusals = [e async for e in audit.entries(node.ctx.db, decision="refused")]
    assert [(e.rule, e.peer) for e in refusals] == [("moderation:suspended", peer.domain)]


async def test_an_activity_queued_before_a_suspension_is_refused_by_the_worker(
    node: LocalNode, peer: FakePeer, alice_follows_mallory: Account  # noqa: F811
) -> None:
    # Given mallory's post accepted at the inbox (202) but not processed yet
    note = peer.create("mallory", peer.note("mallory", 3, "queued before the ban"))
    assert (await peer.post(node.inbox, note, as_actor="mallory"))[0] == 202
    # When a moderator suspends her before the inbox worker gets to it
    await _suspend(node, peer, "mallory")
    await node.process()
    # Then the worker refuses it from the account's state in the database: nothing is stored
    assert await node.post(peer.actor("mallory") + "/notes/3") is None
    async with node.ctx.db.reader() as s:
        outcome = await s.scalar(select(InboxEntry.outcome).where(InboxEntry.activity_id == note["id"]))
    assert outcome == "refused"
