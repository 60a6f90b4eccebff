"""Delivery: what each answer means, retries, Retry-After, order per object, peer health —
against a real HTTP inbox on loopback that answers as told."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from sqlalchemy import select

from federation.delivery import classify, parse_retry_after
from node import contact, peers
from node.context import NodeContext
from node.delivery import handle_delivery
from node.outbox import DELIVER
from node.policy import PeerRule, Policy
from node.workers import JobWorker
from storage import jobs
from storage.db import Database
from storage.models import Account, Job, Peer, utcnow
from tests.factory import LOOPBACK, free_port, node_context

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "status, kind",
    [(200, "delivered"), (202, "delivered"), (204, "delivered"), (400, "final"), (403, "final"), (404, "final"),
     (410, "final"), (401, "retry"), (408, "retry"), (429, "retry"), (500, "retry"), (502, "retry"), (503, "retry")],
)
def test_each_answer_means_what_mastodon_makes_of_it(status: int, kind: str) -> None:
    assert classify(status, None, NOW).kind == kind


def test_retry_after_in_seconds_or_as_a_date_capped_at_a_day() -> None:
    assert parse_retry_after("120", NOW) == NOW + timedelta(seconds=120)
    assert parse_retry_after("Wed, 25 Nov 2026 13:00:00 GMT", NOW) == NOW + timedelta(hours=1)
    assert parse_retry_after("999999999", NOW) == NOW + timedelta(days=1)
    assert parse_retry_after("Mon, 01 Jan 2001 00:00:00 GMT", NOW) == NOW
    assert parse_retry_after("soon", NOW) is None
    assert classify(429, "30", NOW).retry_at == NOW + timedelta(seconds=30)


@dataclass
class Inbox:
    """A peer inbox that answers with the next status from `script` (then 202)."""

    port: int
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    got: list[dict[str, object]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/inbox"

    def app(self) -> web.Application:
        async def inbox(request: web.Request) -> web.Response:
            body = json.loads(await request.read())
            assert "Signature" in request.headers and "Digest" in request.headers
            status, headers = self.script.pop(0) if self.script else (202, {})
            if 200 <= status < 300:
                self.got.append(body)
            return web.Response(status=status, headers=headers)

        app = web.Application()
        app.router.add_post("/inbox", inbox)
        return app


@pytest.fixture
async def inbox() -> AsyncIterator[Inbox]:
    box = Inbox(free_port())
    runner = web.AppRunner(box.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", box.port).start()
    yield box
    await runner.cleanup()


@pytest.fixture
async def sender(db: Database, inbox: Inbox) -> AsyncIterator[tuple[NodeContext, Account]]:
    domain = f"127.0.0.1:{inbox.port}"
    policy = Policy(peers=(PeerRule(domain, "public"),))
    ctx = node_context(db, "eng.acme.test", policy=policy)
    contact.open_gate(ctx, LOOPBACK)
    async with db.session() as s:
        alice = Account(username="alice", domain=None)
        s.add(alice)
    yield ctx, alice
    await contact.close_gate(ctx)


async def queue(ctx: NodeContext, alice: Account, inbox: Inbox, kind: str, obj: str = "https://eng.acme.test/n/1") -> int:
    activity = {"id": f"{obj}#{kind}", "type": kind, "actor": "https://eng.acme.test/users/alice", "object": obj}
    payload = {"inbox": inbox.url, "domain": f"127.0.0.1:{inbox.port}", "signer": alice.id,
               "body": json.dumps(activity), "object": obj}
    return await jobs.enqueue(ctx.db, DELIVER, json.dumps(payload).encode(), ordering_key=f"{obj} {inbox.url}",
                              target=f"127.0.0.1:{inbox.port}")


def worker(ctx: NodeContext) -> JobWorker:
    return JobWorker(ctx.db, {DELIVER: lambda job: handle_delivery(ctx, job)})


async def job(db: Database, job_id: int) -> Job:
    async with db.reader() as s:
        row = await s.scalar(select(Job).where(Job.id == job_id))
    assert row is not None
    return row


async def test_delivered_signed_and_recorded(sender: tuple[NodeContext, Account], inbox: Inbox) -> None:
    ctx, alice = sender
    job_id = await queue(ctx, alice, inbox, "Create")
    await worker(ctx).run_once()
    assert (await job(ctx.db, job_id)).status == "done"
    assert [a["type"] for a in inbox.got] == ["Create"]


async def test_retry_after_is_honoured(sender: tuple[NodeContext, Account], inbox: Inbox) -> None:
    ctx, alice = sender
    inbox.script = [(429, {"Retry-After": "600"})]
    job_id = await queue(ctx, alice, inbox, "Create")
    await worker(ctx).run_once()
    row = await job(ctx.db, job_id)
    assert row.status == "pending"
    assert timedelta(seconds=590) < row.run_at - utcnow() <= timedelta(seconds=600)


async def test_a_gone_inbox_is_final(sender: tuple[NodeContext, Account], inbox: Inbox) -> None:
    ctx, alice = sender
    inbox.script = [(410, {})]
    job_id = await queue(ctx, alice, inbox, "Create")
    await worker(ctx).run_once()
    assert (await job(ctx.db, job_id)).status == "failed"


async def test_server_errors_back_off_and_open_the_breaker(sender: tuple[NodeContext, Account], inbox: Inbox) -> None:
    ctx, alice = sender
    inbox.script = [(500, {})] * 10
    domain = f"127.0.0.1:{inbox.port}"
    for _ in range(peers.BREAKER_AFTER):
        job_id = await queue(ctx, alice, inbox, "Create", obj=f"https://eng.acme.test/n/{_}")
        await worker(ctx).run_once()
        assert (await job(ctx.db, job_id)).status == "pending"
    async with ctx.db.reader() as s:
        peer = await s.get(Peer, domain)
    assert peer is not None and peer.consecutive_failures == peers.BREAKER_AFTER and peer.breaker_until is not None
    # While the breaker is open, nothing is sent to that peer
    sent_before = len(inbox.script)
    await queue(ctx, alice, inbox, "Create", obj="https://eng.acme.test/n/late")
    async with ctx.db.session() as s:  # make everything due now, as if time had passed (but not the breaker)
        for row in (await s.scalars(select(Job))).all():
            row.run_at = utcnow()
    await worker(ctx).run_once()
    assert len(inbox.script) == sent_before
    # When the peer is heard from again, its backlog is due at once
    await peers.heard_from(ctx.db, domain)
    inbox.script = []
    await worker(ctx).run_once()
    assert len(inbox.got) == peers.BREAKER_AFTER + 1


async def test_an_update_never_overtakes_its_create(sender: tuple[NodeContext, Account], inbox: Inbox) -> None:
    ctx, alice = sender
    inbox.script = [(503, {"Retry-After": "1"})]  # the Create fails once
    create_id = await queue(ctx, alice, inbox, "Create")
    update_id = await queue(ctx, alice, inbox, "Update")
    await worker(ctx).run_once()
    # The Create is waiting to be retried; the Update must wait behind it, not go first
    assert (await job(ctx.db, create_id)).status == "pending"
    assert (await job(ctx.db, update_id)).status == "pending"
    assert inbox.got == []
    async with ctx.db.session() as s:
        for row in (await s.scalars(select(Job))).all():
            row.run_at = utcnow()
    for _ in range(3):
        await worker(ctx).run_once()
        async with ctx.db.session() as s:
            for row in (await s.scalars(select(Job).where(Job.status == "pending"))).all():
                row.run_at = utcnow()
    assert [a["type"] for a in inbox.got] == ["Create", "Update"]


async def test_a_healthy_peer_costs_no_health_write_per_delivery(sender: tuple[NodeContext, Account], inbox: Inbox) -> None:
    # Given a peer that took a delivery a moment ago
    ctx, alice = sender
    domain = f"127.0.0.1:{inbox.port}"
    await queue(ctx, alice, inbox, "Create", obj="https://eng.acme.test/n/1")
    await worker(ctx).run_once()
    async with ctx.db.reader() as s:
        first = await s.get(Peer, domain)
    assert first is not None and first.last_success_at is not None
    # When it takes two more
    for n in (2, 3):
        await queue(ctx, alice, inbox, "Create", obj=f"https://eng.acme.test/n/{n}")
    await worker(ctx).run_once()
    # Then all three arrived, and its row was not written again within the minute
    assert len(inbox.got) == 3
    async with ctx.db.reader() as s:
        later = await s.get(Peer, domain)
    assert later is not None and later.last_success_at == first.last_success_at
    # But a peer whose last success is older than that gets it recorded
    async with ctx.db.session() as s:
        row = await s.get(Peer, domain)
        assert row is not None
        row.last_success_at = utcnow() - peers.SUCCESS_GRANULARITY * 2
    ctx.peer_rows.clear()
    await queue(ctx, alice, inbox, "Create", obj="https://eng.acme.test/n/4")
    await worker(ctx).run_once()
    async with ctx.db.reader() as s:
        newest = await s.get(Peer, domain)
    assert newest is not None and newest.last_success_at is not None and newest.last_success_at > first.last_success_at
