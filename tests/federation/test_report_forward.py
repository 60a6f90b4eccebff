"""A report forwarded to the reported account's node (node/reports.py): a Flag from this node's
instance actor, never naming the reporter, through the normal way out — the trust policy at
fan-out and at delivery, then the outbound gate — against a fake peer over real HTTP that
records every request it gets (both engines)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from node import remote, reports
from node.delivery import handle_delivery
from node.outbox import DELIVER
from node.policy import PeerRule, Policy
from node.ratelimit import Limits
from node.reports import ReportRequest
from node.workers import JobWorker
from storage.errors import Invalid, NotFound, RateLimited
from storage.models import Account, AuditEntry, Follow, Post, Report
from tests.conftest import StartNode
from tests.factory import LocalNode, fake_peer
from tests.federation.fake_peer import FakePeer

TRUSTED = "partner"


@pytest.fixture
async def peer() -> AsyncIterator[FakePeer]:
    async with fake_peer("mallory", "eve", keys={"eve": 1}) as p:
        yield p


def trusting(peer: FakePeer, trust: str) -> Policy:
    return Policy(mode="allowlist", peers=(PeerRule(peer.domain, trust),))


@pytest.fixture
async def node(peer: FakePeer, start_node: StartNode) -> LocalNode:
    return await start_node(policy=trusting(peer, TRUSTED), instance=True, users=("alice", "bob"))


@pytest.fixture
async def mallorys_post(node: LocalNode, peer: FakePeer) -> Post:
    """alice follows mallory (of the peer), and a public post of mallory's has arrived."""
    mallory = await remote.actor_by_uri(node.ctx, peer.actor("mallory"))
    async with node.ctx.db.session() as s:
        alice = await s.scalar(select(Account).where(Account.username == "alice", Account.domain.is_(None)))
        assert alice is not None
        s.add(Follow(follower_id=alice.id, target_id=mallory.id, state="accepted", uri=f"{node.ctx.base_url}/follows/1"))
    note = peer.note("mallory", 1, "<p>buy cheap watches</p>")
    assert (await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory"))[0] == 202
    await node.process()
    stored = await node.post(str(note["id"]))
    assert stored is not None
    return stored


async def local(node: LocalNode, name: str) -> Account:
    async with node.ctx.db.reader() as s:
        found = await s.scalar(select(Account).where(Account.username == name, Account.domain.is_(None)))
    assert found is not None
    return found


async def deliver_all(node: LocalNode) -> int:
    worker = JobWorker(node.ctx.db, {DELIVER: lambda job: handle_delivery(node.ctx, job)})
    total = 0
    while n := await worker.run_once():
        total += n
    return total


def flags(peer: FakePeer) -> list[dict[str, object]]:
    return [a for a in peer.received if a.get("type") == "Flag"]


async def audit(node: LocalNode, obj_prefix: str) -> list[tuple[str, str, str]]:
    async with node.ctx.db.reader() as s:
        rows = (await s.scalars(select(AuditEntry).where(AuditEntry.direction == "out").order_by(AuditEntry.id))).all()
    return [(r.peer, r.decision, r.reason) for r in rows if r.object.startswith(obj_prefix)]


async def test_a_forwarded_report_reaches_the_peer_as_an_anonymous_flag(
    node: LocalNode, peer: FakePeer, mallorys_post: Post
) -> None:
    # Given alice can see mallory's post
    alice = await local(node, "alice")
    # When she reports mallory with that post and asks for it to be forwarded
    report = await reports.file_report(node.ctx, alice, ReportRequest(
        mallorys_post.account_id, [mallorys_post.id], "spam again", category="spam", forward=True))
    assert report.forwarded and report.category == "spam"
    assert await deliver_all(node) == 1
    # Then the peer got one Flag, from this node's instance actor, naming mallory and the post
    [flag] = flags(peer)
    assert flag["actor"] == f"{node.ctx.base_url}/actor"
    assert flag["object"] == [peer.actor("mallory"), mallorys_post.uri]
    assert flag["content"] == "spam again"
    # signed by the instance actor's key, and nothing in it or its headers names alice
    [headers] = [h for (method, path), h in zip(peer.requests, peer.headers, strict=True) if method == "POST"]
    assert f'keyId="{node.ctx.base_url}/actor#main-key"' in headers.get("Signature", "")
    assert "alice" not in json.dumps(flag) and "alice" not in json.dumps(headers)
    # And the report is kept here for this node's moderators too
    async with node.ctx.db.reader() as s:
        kept = (await s.scalars(select(Report))).all()
    assert [(r.reporter_id, json.loads(r.post_ids)) for r in kept] == [(alice.id, [mallorys_post.id])]


async def test_without_forward_nothing_leaves_the_node(node: LocalNode, peer: FakePeer, mallorys_post: Post) -> None:
    alice = await local(node, "alice")
    report = await reports.file_report(node.ctx, alice, ReportRequest(mallorys_post.account_id, [mallorys_post.id], "x"))
    assert not report.forwarded
    assert await deliver_all(node) == 0 and flags(peer) == []


async def test_a_peer_the_policy_blocks_gets_no_flag_and_the_report_stays_here(
    node: LocalNode, peer: FakePeer, mallorys_post: Post
) -> None:
    # Given the node's policy now blocks the peer
    alice = await local(node, "alice")
    node.policy[0] = trusting(peer, "blocked")
    before = len(peer.requests)
    # When alice reports mallory (the account: a blocked peer's posts are no longer hers to see) with forward
    report = await reports.file_report(node.ctx, alice, ReportRequest(mallorys_post.account_id, [], "x", forward=True))
    # Then the report is kept, not forwarded, the refusal is audited, and nothing crossed the wire
    assert not report.forwarded
    assert await deliver_all(node) == 0
    assert peer.requests[before:] == [] and flags(peer) == []
    [(domain, decision, _)] = await audit(node, f"{node.ctx.base_url}/actor#flags/")
    assert (domain, decision) == (peer.domain, "refused")


async def test_a_peer_blocked_after_the_fan_out_is_refused_at_delivery(
    node: LocalNode, peer: FakePeer, mallorys_post: Post
) -> None:
    # Given a forward queued while the peer was trusted
    alice = await local(node, "alice")
    report = await reports.file_report(node.ctx, alice, ReportRequest(mallorys_post.account_id, [mallorys_post.id],
                                                                      "x", forward=True))
    assert report.forwarded
    before = len(peer.requests)
    # When the policy blocks the peer before the delivery runs
    node.policy[0] = trusting(peer, "blocked")
    await deliver_all(node)
    # Then the delivery is refused (audited) and the peer never hears of it
    assert peer.requests[before:] == [] and flags(peer) == []
    refused = await audit(node, f"{node.ctx.base_url}/actor#flags/")
    assert [(d, decision) for d, decision, _ in refused] == [(peer.domain, "refused")]
    assert "at delivery" in refused[0][2]


async def test_hostile_reports_are_refused_and_nothing_is_written(
    node: LocalNode, peer: FakePeer, mallorys_post: Post
) -> None:
    alice, bob = await local(node, "alice"), await local(node, "bob")
    mallory_id = mallorys_post.account_id
    cases: list[tuple[ReportRequest, type[Exception]]] = [
        (ReportRequest(mallory_id, [], "x" * 1001), Invalid),  # a comment over Mastodon's 1000
        (ReportRequest(mallory_id, list(range(1, 10_001))), Invalid),  # 10k status ids
        (ReportRequest(mallory_id, [], category="nonsense"), Invalid),
        (ReportRequest(mallory_id, [], rule_ids=["1"]), Invalid),  # this node has no rules
        (ReportRequest(alice.id, []), Invalid),  # oneself
        (ReportRequest(2**62, []), NotFound),  # an unknown account
        (ReportRequest(bob.id, [mallorys_post.id]), NotFound),  # a post that is not the account's
        (ReportRequest(mallory_id, [2**62]), NotFound),  # a post that does not exist
    ]
    for req, error in cases:
        with pytest.raises(error):
            await reports.file_report(node.ctx, alice, req)
    # bob cannot see mallory's followers-only post of a second kind: a post he may not see is 404
    note = peer.note("mallory", 2, "<p>followers only</p>", to=[f"{peer.actor('mallory')}/followers"], cc=[])
    await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory")
    await node.process()
    hidden = await node.post(str(note["id"]))
    assert hidden is not None
    with pytest.raises(NotFound):
        await reports.file_report(node.ctx, bob, ReportRequest(mallory_id, [hidden.id], forward=True))
    async with node.ctx.db.reader() as s:
        assert (await s.scalars(select(Report))).all() == []
    assert await deliver_all(node) == 0 and flags(peer) == []


async def test_a_flag_naming_nobody_here_is_refused(node: LocalNode, peer: FakePeer) -> None:
    # Given a peer's Flag naming only accounts and posts of other nodes
    flag = {"id": f"{peer.actor('mallory')}/flags/9", "type": "Flag", "actor": peer.actor("mallory"),
            "object": [peer.actor("eve"), "https://elsewhere.example/users/x/statuses/1"], "content": "look"}
    assert (await peer.post(node.inbox, flag, as_actor="mallory"))[0] == 202
    await node.process()
    # Then it is refused (in the inbox log) and no report is made
    assert await node.outcomes() == [("Flag", "refused", "the report names nobody on this node")]
    async with node.ctx.db.reader() as s:
        assert (await s.scalars(select(Report))).all() == []


async def test_reports_are_charged_to_the_posting_allowance(start_node: StartNode) -> None:
    # Given a node that allows one post an hour (and a burst of one) per account
    node = await start_node(limits=Limits(statuses_per_account_per_hour=1, statuses_per_account_burst=1),
                            users=("alice", "bob"))
    alice, bob = await local(node, "alice"), await local(node, "bob")
    # When alice files two reports at once, the second is refused with a wait, and not kept
    await reports.file_report(node.ctx, alice, ReportRequest(bob.id, [], "one"))
    with pytest.raises(RateLimited):
        await reports.file_report(node.ctx, alice, ReportRequest(bob.id, [], "two"))
    async with node.ctx.db.reader() as s:
        assert [r.comment for r in (await s.scalars(select(Report))).all()] == ["one"]
