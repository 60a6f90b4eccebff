"""Organisation-wide announcements against fake peers over real HTTP (both engines).

Outbound: an admin's organisation-wide announcement leaves from the instance actor to the
organisation peer only — never to a partner — and its edit and withdrawal follow; what
crossed the wire is read from what each fake peer received.
Inbound (hostile): a peer's announcement is shown only when the policy lets that peer
announce (`accept_announcements` on an `organization` peer); from a partner, from an
organisation peer without the key, from one of a peer's people rather than its instance
actor, attributed to someone else, oversize, or withdrawn by another node, it is refused,
audited, and shows nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from aiohttp import web
from sqlalchemy import select

from federation.vocab import AP_CONTENT_TYPE
from node import accounts, announcements
from node.announcements import Draft
from node.delivery import handle_delivery
from node.outbox import DELIVER, handle_fanout
from node.policy import PeerRule, Policy
from node.queues import FANOUT
from node.workers import JobWorker
from storage.models import AuditEntry
from tests.conftest import StartNode
from tests.factory import LocalNode, free_port
from tests.federation.fake_peer import FakePeer

INSTANCE = "actor"  # an Atrium node's instance actor is at /actor


@dataclass
class NodePeer(FakePeer):
    """A fake peer that is also a node: its instance actor at /actor."""

    def actor(self, name: str) -> str:
        return f"{self.base}/actor" if name == INSTANCE else super().actor(name)

    def app(self) -> web.Application:
        app = super().app()

        async def instance(request: web.Request) -> web.Response:
            return web.Response(text=json.dumps(self.actor_document(INSTANCE)), content_type=AP_CONTENT_TYPE)

        app.router.add_get("/actor", instance)
        return app

    def announcement(self, n: int, html: str, *, kind: str = "Create", by: str = INSTANCE, **extra: object) -> dict[str, object]:
        obj = {"id": f"{self.base}/announcements/{n}", "type": "Note", "announcement": True,
               "attributedTo": self.actor(by), "content": html, "published": "2026-12-06T10:00:00Z", **extra}
        return {"@context": ["https://www.w3.org/ns/activitystreams", {"atrium": "https://atrium.example/ns#",
                                                                       "announcement": "atrium:announcement"}],
                "id": f"{obj['id']}#{kind.lower()}-{len(self.received)}", "type": kind, "actor": self.actor(by), "object": obj}


@asynccontextmanager
async def node_peer(*actors: str) -> AsyncIterator[NodePeer]:
    peer = NodePeer(free_port())
    runner = web.AppRunner(peer.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", peer.port).start()
    for name in (INSTANCE, *actors):
        peer.add_actor(name)
    try:
        yield peer
    finally:
        await runner.cleanup()


@pytest.fixture
async def org() -> AsyncIterator[NodePeer]:
    async with node_peer("mallory") as p:
        yield p


@pytest.fixture
async def partner() -> AsyncIterator[NodePeer]:
    async with node_peer() as p:
        yield p


def policy(org: NodePeer, partner: NodePeer, *, accept: bool = True) -> Policy:
    return Policy(mode="allowlist", peers=(PeerRule(org.domain, "organization", accept_announcements=accept),
                                            PeerRule(partner.domain, "partner", accept_announcements=True)))


async def _send(node: LocalNode) -> None:
    """Run the fan-out and the deliveries until both queues are empty."""
    fanout = JobWorker(node.ctx.db, {FANOUT: lambda job: handle_fanout(node.ctx, job)})
    deliver = JobWorker(node.ctx.db, {DELIVER: lambda job: handle_delivery(node.ctx, job)})
    while await fanout.run_once() + await deliver.run_once():
        pass


async def _refusals(node: LocalNode) -> list[tuple[str, str, str]]:
    async with node.ctx.db.reader() as s:
        rows = await s.scalars(select(AuditEntry).where(AuditEntry.decision == "refused").order_by(AuditEntry.id))
        return [(e.peer, e.rule, e.reason) for e in rows]


async def _shown(node: LocalNode) -> list[str]:
    return [v.announcement.content_html for v in await announcements.active(node.ctx, None)]


async def test_an_organisation_wide_announcement_reaches_organisation_peers_only(
    start_node: StartNode, org: NodePeer, partner: NodePeer
) -> None:
    # Given a node whose policy trusts one peer as organisation and one as partner
    node = await start_node(policy=policy(org, partner), instance=True, admins=("root",))
    root = await accounts.get_local(node.ctx, "root")
    # When root publishes one announcement for the node and one organisation-wide
    await announcements.create(node.ctx, root, Draft("for us only"))
    wide = await announcements.create(node.ctx, root, Draft("Holiday on Monday", organization_wide=True))
    await _send(node)
    # Then the organisation peer got one Create, from the instance actor, addressed to no one
    [create] = org.received
    assert create["type"] == "Create" and create["actor"] == f"{node.url}/actor"
    note = create["object"]
    assert isinstance(note, dict) and note["announcement"] is True and note["id"] == f"{node.url}/announcements/{wide.id}"
    assert note["content"] == "<p>Holiday on Monday</p>" and "to" not in create and "to" not in note
    # And the partner got nothing at all (not even a request)
    assert partner.received == [] and partner.requests == []
    # When root edits it, then withdraws it
    await announcements.update(node.ctx, root, wide.id, Draft("Holiday on Tuesday", organization_wide=True))
    await _send(node)
    await announcements.update(node.ctx, root, wide.id, Draft("Holiday on Tuesday", organization_wide=True, published=False))
    await _send(node)
    # Then the peer got the Update and the Delete, and the partner still nothing
    assert [a["type"] for a in org.received] == ["Create", "Update", "Delete"]
    assert org.received[1]["object"]["content"] == "<p>Holiday on Tuesday</p>"  # type: ignore[index]
    assert org.received[2]["object"] == {"id": note["id"], "type": "Tombstone"}
    assert partner.received == []


async def test_a_peer_allowed_to_announce_is_shown_and_withdraws(
    start_node: StartNode, org: NodePeer, partner: NodePeer
) -> None:
    node = await start_node(policy=policy(org, partner), instance=True, users=("alice",))
    # When the organisation peer's instance actor announces, then edits it
    assert (await org.post(node.inbox, org.announcement(1, "<p>Welcome <script>x()</script></p>"), as_actor=INSTANCE))[0] == 202
    await node.process()
    assert await _shown(node) == ["<p>Welcome </p>"]  # sanitised as any peer's HTML
    await org.post(node.inbox, org.announcement(1, "<p>Welcome, all</p>", kind="Update"), as_actor=INSTANCE)
    await node.process()
    [shown] = await announcements.active(node.ctx, None)
    assert shown.announcement.content_html == "<p>Welcome, all</p>" and shown.announcement.origin == org.domain
    # When one of its people tries to withdraw it  # Then it stays
    delete = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{org.base}/d1", "type": "Delete",
              "actor": org.actor("mallory"), "object": f"{org.base}/announcements/1"}
    await org.post(node.inbox, delete, as_actor="mallory")
    await node.process()
    assert await _shown(node) == ["<p>Welcome, all</p>"]
    # When its instance actor withdraws it  # Then it is gone
    await org.post(node.inbox, {**delete, "id": f"{org.base}/d2", "actor": org.actor(INSTANCE)}, as_actor=INSTANCE)
    await node.process()
    assert await _shown(node) == []
    outcomes = [o for o in await node.outcomes()]
    assert [(t, o) for t, o, _ in outcomes] == [("Create", "accepted"), ("Update", "accepted"), ("Delete", "refused"), ("Delete", "accepted")]


@pytest.mark.parametrize("case", ["partner", "no key", "a person", "not its own", "oversize", "no content"])
async def test_announcements_the_policy_does_not_admit_are_refused_and_audited(
    start_node: StartNode, org: NodePeer, partner: NodePeer, case: str
) -> None:
    node = await start_node(policy=policy(org, partner, accept=case != "no key"), instance=True, users=("alice",))
    sender, activity, as_actor = org, org.announcement(7, "<p>Listen to me</p>"), INSTANCE
    if case == "partner":  # a partner, even with the key, may not announce
        sender, activity = partner, partner.announcement(7, "<p>Listen to me</p>")
    elif case == "a person":
        activity, as_actor = org.announcement(7, "<p>Listen to me</p>", by="mallory"), "mallory"
    elif case == "not its own":
        activity = org.announcement(7, "<p>Listen to me</p>")
        activity["object"] = {**activity["object"], "id": f"{partner.base}/announcements/7"}  # type: ignore[dict-item]
    elif case == "oversize":
        activity = org.announcement(7, "<p>" + "a" * (announcements.MAX_HTML + 1) + "</p>")
    elif case == "no content":
        activity = org.announcement(7, "   ")
    status, answer = await sender.post(node.inbox, activity, as_actor=as_actor)
    await node.process()
    if case == "not its own" and status != 202:
        # the inbox's door refuses an object that is not on the sender's origin, before any queue
        assert 400 <= status < 500 and await node.outcomes() == [] and await _shown(node) == [], answer
        return
    # Then nothing is shown, the inbox log says refused, and the audit trail names the rule
    assert await _shown(node) == []
    if status == 202:
        [(kind, outcome, logged)] = await node.outcomes()
        assert (kind, outcome) == ("Create", "refused"), logged
        if case == "not its own" and not await _refusals(node):
            # the inbox's own check of the object's origin came first (its reason in the inbox log)
            assert logged is not None and "origin" in logged, logged
            return
    peer, rule, reason = (await _refusals(node))[-1]
    assert peer == sender.domain
    expected = {"partner": ("not an organisation peer", f'peers."{partner.domain}"'),
                "no key": ("may not announce", f'peers."{org.domain}".accept_announcements'),
                "a person": ("instance actor", "announcement:sender"),
                "not its own": ("not the sender's own", "announcement:origin"),
                "oversize": ("more than the 20000", "announcement:invalid"),
                "no content": ("needs content", "announcement:invalid")}[case]
    assert expected[0] in reason and rule == expected[1]
