"""What the fault tests share: a real `atrium serve` process with fake peers that follow its
user, peers that can go down, come back or hang, and time that passes by moving the queue's
timestamps (a peer down for hours is simulated, never waited for)."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

from federation.signatures import sign_request
from federation.vocab import AP_CONTENT_TYPE, PUBLIC
from node.outbox import DELIVER
from storage.models import Job, Peer, Post
from tests.factory import free_port
from tests.federation.fake_peer import FakePeer
from tests.federation.nodes import NodeProcess, eventually


@dataclass
class FaultPeer(FakePeer):
    """A fake remote server that can be stopped and started again on its port, and whose
    inbox can be made to hang (accept the connection, never answer) until released."""

    hanging: bool = False
    held: int = 0
    aborted: int = 0
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        @web.middleware
        async def hang(request: web.Request, handler):  # type: ignore[no-untyped-def]
            if self.hanging and request.method == "POST":
                self.held += 1
                try:
                    await self._release.wait()
                except asyncio.CancelledError:
                    self.aborted += 1  # the sender gave up (its timeout) and closed the connection
                    raise
            return await handler(request)

        app = super().app()
        app.middlewares.append(hang)
        return app

    def release(self) -> None:
        self.hanging = False
        self._release.set()

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), handler_cancellation=True)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def received_of(self, kind: str) -> list[dict[str, object]]:
        return [a for a in self.received if a.get("type") == kind]


@asynccontextmanager
async def fault_peers(count: int) -> AsyncIterator[list[FaultPeer]]:
    peers = [FaultPeer(free_port()) for _ in range(count)]
    for p in peers:
        await p.start()
    try:
        yield peers
    finally:
        for p in peers:
            p.release()
            await p.stop()


def start_node(root: Path, peers: list[FaultPeer], database_url: str | None = None, name: str = "node") -> NodeProcess:
    """A real node trusting `peers` as public, with a local user alice."""
    node = NodeProcess(name, root, database_url)
    node.init()
    node.write_policy('mode = "allowlist"\n' + "".join(f'[peers."{p.domain}"]\ntrust = "public"\n' for p in peers))
    node.create_user("alice")
    node.start()
    return node


def alice(node: NodeProcess) -> str:
    return f"{node.base_url}/users/alice"


async def follow_alice(node: NodeProcess, peer: FaultPeer, name: str = "fan") -> None:
    """`name` on `peer` follows alice with a signed Follow; returns once the Accept arrived."""
    peer.add_actor(name)
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer.actor(name)}/follows/1",
              "type": "Follow", "actor": peer.actor(name), "object": alice(node)}
    status, text = await peer.post(f"{node.base_url}/inbox", follow, as_actor=name)
    assert status == 202, text

    async def accepted() -> bool:
        return bool(peer.received_of("Accept"))

    await eventually(accepted, timeout=60, what=f"the Accept at {peer.domain}")


def create_note(peer: FakePeer, name: str, n: int, mention: str) -> dict[str, object]:
    """A public Create(Note) that mentions `mention` (a local actor), so the node keeps it."""
    tag = [{"type": "Mention", "href": mention, "name": "@alice"}]
    return peer.create(name, peer.note(name, n, f"note {n} from {name}@{peer.domain}", to=[PUBLIC], tag=tag))


def kill(node: NodeProcess) -> None:
    """SIGKILL: no shutdown code runs, exactly like a power cut or the OOM killer."""
    assert node.proc is not None
    node.proc.send_signal(signal.SIGKILL)
    node.proc.wait()
    node.proc = None


async def time_passes(node: NodeProcess, delta: timedelta) -> None:
    """Simulate `delta` passing for the node's queue and peer health: every stored instant the
    workers compare with the clock moves `delta` into the past (leases, retries, breakers)."""
    async with node.act() as ctx, ctx.db.session() as s:
        # Row by row in Python: date arithmetic in SQL differs between SQLite and PostgreSQL.
        for job in await s.scalars(select(Job).where(Job.status.in_(("pending", "running")))):
            job.run_at = job.run_at - delta
            if job.lease_until is not None:
                job.lease_until = job.lease_until - delta
        for peer in await s.scalars(select(Peer)):
            if peer.breaker_until is not None:
                peer.breaker_until = peer.breaker_until - delta
            if peer.first_failure_at is not None:
                peer.first_failure_at = peer.first_failure_at - delta


async def deliveries(node: NodeProcess, target: str) -> dict[str, int]:
    """The node's delivery jobs to `target` by status."""
    async with node.act() as ctx, ctx.db.reader() as s:
        rows = (await s.execute(select(Job.status, func.count()).where(Job.queue == DELIVER, Job.target == target)
                                .group_by(Job.status))).all()
    return {status: n for status, n in rows}


async def queue_counts(node: NodeProcess) -> dict[str, dict[str, int]]:
    async with node.act() as ctx, ctx.db.reader() as s:
        rows = (await s.execute(select(Job.queue, Job.status, func.count()).group_by(Job.queue, Job.status))).all()
    out: dict[str, dict[str, int]] = {}
    for queue, status, n in rows:
        out.setdefault(queue, {})[status] = n
    return out


NOTES = "http://127.0.0.1"  # what the fake peers' notes' URIs start with


async def stored_uris(node: NodeProcess, prefix: str = NOTES) -> list[str]:
    """Every stored post whose URI starts with `prefix`, duplicates included."""
    async with node.act() as ctx, ctx.db.reader() as s:
        return list(await s.scalars(select(Post.uri).where(Post.uri.startswith(prefix))))


@dataclass
class Traffic:
    """Peers posting signed Create(Note)s for alice into the node's shared inbox until stopped;
    remembers what each request was answered (0: no answer, the node was down)."""

    node: NodeProcess
    peers: list[FaultPeer]
    pause: float = 0.0
    limit: int | None = None  # requests per stream
    streams: int = 1  # concurrent senders per peer, each as an actor of its own
    answers: dict[str, int] = field(default_factory=dict)
    refusals: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._send(p, f"writer{k}")) for p in self.peers for k in range(self.streams)]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    @property
    def accepted(self) -> set[str]:
        return {uri for uri, status in self.answers.items() if status == 202}

    def count(self, status: int) -> int:
        return sum(1 for s in self.answers.values() if s == status)

    async def _send(self, peer: FaultPeer, name: str) -> None:
        peer.add_actor(name)
        inbox = f"{self.node.base_url}/inbox"
        async with aiohttp.ClientSession() as session:
            n = 0
            while not self._stop.is_set() and (self.limit is None or n < self.limit):
                activity = create_note(peer, name, n, alice(self.node))
                n += 1
                body = json.dumps(activity).encode()
                headers = sign_request("POST", inbox, {"Content-Type": AP_CONTENT_TYPE}, body,
                                       peer.key_id(name), peer.keys[name])
                uri = str(activity["object"]["id"])  # type: ignore[index]
                try:
                    async with session.post(inbox, data=body, headers=headers) as r:
                        self.answers[uri] = r.status
                        if r.status != 202:
                            self.refusals.append((r.status, await r.text(), dict(r.headers)))
                except aiohttp.ClientError:
                    self.answers[uri] = 0
                    await asyncio.sleep(0.2)
                if self.pause:
                    await asyncio.sleep(self.pause)
