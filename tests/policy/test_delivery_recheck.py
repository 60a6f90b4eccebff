"""A delivery is judged again when it is sent, on the post as it is then, under the policy in
force then (node.delivery_check) — over real HTTP to fake peers, on every engine.

Each scenario queues deliveries under one policy (the fan-out worker runs), changes the policy
or the post, then runs the delivery worker once (`run_once`), and reads what the fake peers
received and what the audit trail recorded: one entry per refused delivery, naming its rule.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import pytest
from sqlalchemy import select, update

from node import posts
from node.delivery import handle_delivery
from node.federate import FANOUT
from node.outbox import DELIVER, handle_fanout
from node.policy import ContentRule, Policy
from node.posts import NewPost
from node.workers import JobWorker
from storage.models import Account, AuditEntry, Follow, Job, Post, utcnow
from tests.federation.fake_peer import FakePeer
from tests.policy.harness import Net, network

CONFIDENTIAL = ContentRule("confidential", "(?i)confidential", "organization")


@asynccontextmanager
async def net_of(database_url: str) -> AsyncIterator[Net]:
    async with network(database_url) as net:
        yield net


async def follow(net: Net, follower: Account, target: Account) -> None:
    async with net.ctx.db.session() as s:
        s.add(Follow(follower_id=follower.id, target_id=target.id, state="accepted", uri=f"{follower.actor_uri}/follows/1"))


async def fan_out(net: Net) -> None:
    """Run the fan-out worker until it has queued every delivery (no delivery runs)."""
    worker = JobWorker(net.ctx.db, {FANOUT: lambda job: handle_fanout(net.ctx, job)})
    while await worker.run_once():
        pass


async def deliver(net: Net) -> int:
    """The delivery worker, once, in order (an Update waits for its Create)."""
    return await JobWorker(net.ctx.db, {DELIVER: lambda job: handle_delivery(net.ctx, job)}).run_once()


async def deliver_waiting(net: Net) -> None:
    """Deliveries that waited for an earlier one to the same inbox, now rather than in 2 s."""
    async with net.ctx.db.session() as s:
        await s.execute(update(Job).where(Job.queue == DELIVER, Job.status == "pending").values(run_at=utcnow()))
    await deliver(net)


def set_policy(net: Net, policy: Policy) -> None:
    net.ctx.policy = lambda: policy


def with_trust(policy: Policy, peer: FakePeer, trust: str) -> Policy:
    return replace(policy, peers=tuple(replace(r, trust=trust) if r.pattern == peer.domain else r for r in policy.peers))


async def audit_out(net: Net, decision: str = "refused") -> list[AuditEntry]:
    async with net.ctx.db.reader() as s:
        return list(await s.scalars(select(AuditEntry).where(AuditEntry.direction == "out", AuditEntry.decision == decision)
                                    .order_by(AuditEntry.id)))


async def deliver_jobs(net: Net) -> list[Job]:
    async with net.ctx.db.reader() as s:
        return list(await s.scalars(select(Job).where(Job.queue == DELIVER).order_by(Job.id)))


def posted(peer: FakePeer, post: Post) -> list[str]:
    """The types of the activities `peer` received that carry or name `post`."""
    return [str(a["type"]) for a in peer.received if (post.uri or "?") in json.dumps(a)]


def inbox_posts(peer: FakePeer) -> list[tuple[str, str]]:
    return [(method, path) for method, path in peer.requests if method == "POST"]


@pytest.mark.parametrize("now", ["partner", "blocked"])
async def test_a_peer_downgraded_after_queueing_gets_nothing_its_new_trust_refuses(database_url: str, now: str) -> None:
    async with net_of(database_url) as net:
        # Given ada's organization post and her public post queued for her follower on the
        # organization peer
        peer = net.peers["organization"]
        ada = await net.local("ada")
        await follow(net, await net.remote("organization", "fol"), ada)
        org_post = await posts.create_post(net.ctx, ada, NewPost("the org-only roadmap", visibility="organization"))
        public_post = await posts.create_post(net.ctx, ada, NewPost("hello, world", visibility="public"))
        await fan_out(net)
        assert len(await deliver_jobs(net)) == 2 and await audit_out(net) == []
        # When the peer is downgraded before the delivery worker runs, and then it runs
        set_policy(net, with_trust(net.policy, peer, now))
        assert await deliver(net) == 2
        # Then the organization post did not reach the peer (nor anything, once blocked: no
        # connection at all); the public post did reach a partner
        assert posted(peer, org_post) == []
        if now == "partner":
            assert posted(peer, public_post) == ["Create"] and len(inbox_posts(peer)) == 1
        else:
            assert peer.requests == []
        # And each refused delivery is in the audit trail once, with the rule that refused it
        refused = [org_post.uri] + ([public_post.uri] if now == "blocked" else [])
        entries = await audit_out(net)
        assert [e.object for e in entries] == refused
        assert {(e.peer, e.rule) for e in entries} == {(peer.domain, f'peers."{peer.domain}"')}
        why = "is not trusted as organization" if now == "partner" else "is blocked"
        assert why in entries[0].reason
        # And a refusal is final: failed after one attempt, never retried
        jobs = {json.loads(j.payload)["object"]: (j.status, j.attempts) for j in await deliver_jobs(net)}
        assert {obj: jobs[obj] for obj in refused} == dict.fromkeys(refused, ("failed", 1))


async def test_a_content_rule_added_after_queueing_stops_what_it_matches(database_url: str) -> None:
    async with net_of(database_url) as net:
        # Given two public posts of ada's, one that says CONFIDENTIAL, queued for her followers
        # on the partner and the organization peers under a policy without content rules
        partner, org = net.peers["partner"], net.peers["organization"]
        ada = await net.local("ada")
        for trust in ("partner", "organization"):
            await follow(net, await net.remote(trust, "fol"), ada)
        secret = await posts.create_post(net.ctx, ada, NewPost("Attached: the CONFIDENTIAL plan", visibility="public"))
        plain = await posts.create_post(net.ctx, ada, NewPost("lunch at noon", visibility="public"))
        await fan_out(net)
        assert len(await deliver_jobs(net)) == 4
        # When a content rule (kept from peers below organization) is added, and the worker runs
        set_policy(net, replace(net.policy, rules=(CONFIDENTIAL,)))
        await deliver(net)
        # Then the partner got the plain post only; the organization peer, whom the rule does
        # not concern, got both
        assert (posted(partner, secret), posted(partner, plain)) == ([], ["Create"])
        assert (posted(org, secret), posted(org, plain)) == (["Create"], ["Create"])
        # And the one refused delivery is audited once, with the rule
        entries = await audit_out(net)
        assert [(e.peer, e.object, e.rule) for e in entries] == [(partner.domain, secret.uri, 'rules."confidential"')]


async def test_a_rule_added_after_queueing_also_judges_the_older_text_an_activity_carries(database_url: str) -> None:
    async with net_of(database_url) as net:
        # Given a public post that says CONFIDENTIAL, queued for ada's follower on the partner
        # peer, then edited not to (its Update queued behind its Create)
        partner = net.peers["partner"]
        ada = await net.local("ada")
        await follow(net, await net.remote("partner", "fol"), ada)
        post = await posts.create_post(net.ctx, ada, NewPost("Attached: the CONFIDENTIAL plan", visibility="public"))
        await fan_out(net)
        await posts.edit_post(net.ctx, ada, post.id, "Attached: the plan")
        await fan_out(net)
        # When the rule is added and the delivery worker runs
        set_policy(net, replace(net.policy, rules=(CONFIDENTIAL,)))
        await deliver(net)
        # Then the Create, which carries the text as it was, is refused (the post now reads
        # fine); the Update, with today's text, goes
        assert posted(partner, post) == ["Update"]
        assert not any("CONFIDENTIAL" in json.dumps(a) for a in partner.received)
        entries = await audit_out(net)
        assert [(e.object, e.rule) for e in entries] == [(post.uri, 'rules."confidential"')]


async def test_a_rule_added_after_queueing_judges_a_deleted_post_on_the_text_its_create_carries(
    database_url: str,
) -> None:
    async with net_of(database_url) as net:
        # Given a public post that says CONFIDENTIAL, queued for ada's follower on the partner
        # peer, then deleted (its Delete queued behind its Create)
        partner = net.peers["partner"]
        ada = await net.local("ada")
        await follow(net, await net.remote("partner", "fol"), ada)
        post = await posts.create_post(net.ctx, ada, NewPost("Attached: the CONFIDENTIAL plan", visibility="public"))
        await fan_out(net)
        await posts.delete_post(net.ctx, ada, post.id)
        await fan_out(net)
        # When the rule is added and the delivery worker runs
        set_policy(net, replace(net.policy, rules=(CONFIDENTIAL,)))
        await deliver(net)
        # Then the Create, judged on the text it carries, is refused and audited once; the
        # Delete, which carries none, goes
        assert posted(partner, post) == ["Delete"]
        assert not any("CONFIDENTIAL" in json.dumps(a) for a in partner.received)
        assert [(e.object, e.rule) for e in await audit_out(net)] == [(post.uri, 'rules."confidential"')]


async def test_a_post_deleted_after_queueing_still_goes_out_before_its_delete(database_url: str) -> None:
    async with net_of(database_url) as net:
        # Given a post queued for ada's follower on the partner peer, then deleted
        partner = net.peers["partner"]
        ada = await net.local("ada")
        await follow(net, await net.remote("partner", "fol"), ada)
        post = await posts.create_post(net.ctx, ada, NewPost("a slip of the keyboard", visibility="public"))
        await fan_out(net)
        await posts.delete_post(net.ctx, ada, post.id)
        await fan_out(net)
        # When the delivery worker runs (the Delete waits for the Create to finish)
        await deliver(net)
        await deliver_waiting(net)
        # Then the peer gets both, in order, as before deliveries were judged again: the policy
        # (no rule here) admits the Create on the audience the post had
        assert posted(partner, post) == ["Create", "Delete"]
        assert await audit_out(net) == []


async def test_a_peer_upgraded_after_queueing_gets_no_more_than_each_post_audience_allows(database_url: str) -> None:
    async with net_of(database_url) as net:
        # Given, under the policy where the partner peer is a partner: ada (followed on the
        # partner and organization peers) posts for the organization — queued for the
        # organization peer only, the partner refused at fan-out — and writes directly to
        # men@ on the organization peer; mei (followed on the organization peer only) posts for
        # her followers
        partner, org = net.peers["partner"], net.peers["organization"]
        ada, mei = await net.local("ada"), await net.local("mei")
        for trust in ("partner", "organization"):
            await follow(net, await net.remote(trust, "fol"), ada)
        await follow(net, await net.remote("organization", "fan"), mei)
        await net.remote("organization", "men")
        org_post = await posts.create_post(net.ctx, ada, NewPost("org news", visibility="organization"))
        direct = await posts.create_post(net.ctx, ada, NewPost(f"@men@{org.domain} just you", visibility="direct"))
        followers_only = await posts.create_post(net.ctx, mei, NewPost("friends only", visibility="followers"))
        await fan_out(net)
        queued = [(j.id, j.target) for j in await deliver_jobs(net)]
        assert sorted(t or "" for _, t in queued) == [org.domain] * 3
        at_fan_out = [(e.peer, e.object) for e in await audit_out(net)]
        assert at_fan_out == [(partner.domain, org_post.uri)]
        # When the partner peer is upgraded to organization before the delivery worker runs
        set_policy(net, with_trust(net.policy, partner, "organization"))
        await deliver(net)
        # Then the partner peer got nothing — neither the organization post refused it at
        # fan-out, nor the direct or followers-only posts it is no audience of — and the
        # organization peer got each once
        assert partner.requests == []
        assert [posted(org, p) for p in (org_post, direct, followers_only)] == [["Create"]] * 3
        # And nothing was queued beyond what the fan-out queued; no refusal was added
        assert [((j.id, j.target), j.status) for j in await deliver_jobs(net)] == [(q, "done") for q in queued]
        assert [(e.peer, e.object) for e in await audit_out(net)] == at_fan_out


async def test_an_inbox_on_a_host_the_gate_refuses_is_audited_once(database_url: str) -> None:
    async with net_of(database_url) as net:
        # Given a follower on the organization peer whose inbox is on the blocked peer's host
        blocked = net.peers["blocked"]
        ada = await net.local("ada")
        fol = await net.remote("organization", "fol")
        async with net.ctx.db.session() as s:
            row = await s.get(Account, fol.id)
            assert row is not None
            row.inbox_uri, row.shared_inbox_uri = f"{blocked.base}/users/fol/inbox", f"{blocked.base}/inbox"
        await follow(net, fol, ada)
        post = await posts.create_post(net.ctx, ada, NewPost("for the organization", visibility="organization"))
        await fan_out(net)
        # When the delivery worker runs (the delivery's own check admits the organization peer)
        await deliver(net)
        # Then no connection reached the blocked host, and the gate's refusal is the one entry
        assert blocked.requests == []
        entries = await audit_out(net)
        assert [(e.peer, e.object, e.rule) for e in entries] == [
            (blocked.domain, f"{blocked.base}/inbox", f'peers."{blocked.domain}"')]
        assert entries[0].reason.startswith("delivery:")
        assert [(j.status, j.attempts) for j in await deliver_jobs(net)] == [("failed", 1)]
        del post
