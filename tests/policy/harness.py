"""One node in-process on loopback with real HTTP, and one fake peer server per trust level.

Shared by the outbound and inbound matrices. Each matrix runs its whole scenario once per
database engine (a module-scoped fixture) and records what crossed the wire; the tests then
compare that record with tables written out by hand.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select

from federation.signatures import sign_request
from federation.vocab import AP_CONTENT_TYPE
from node.audit import GENESIS
from node.context import NodeContext
from node.delivery import handle_delivery
from node.federate import FANOUT
from node.inbox import handle_inbox
from node.outbox import DELIVER, handle_fanout
from node.policy import ContentRule, PeerRule, Policy
from node.workers import JobWorker
from storage.db import Database
from storage.media_store import LocalStore
from storage.models import Account, Base, Job, Peer, utcnow
from tests.conftest import _pg_dsn
from tests.factory import fake_peer, running_node
from tests.federation.fake_peer import FakePeer, public_pem, rsa_key

# The columns of every table: one fake peer per trust level, and one the policy does not name
# (the node runs in allowlist mode, so that one counts as blocked).
TRUSTS = ("organization", "partner", "public", "limited", "blocked", "unknown")


def database_url(engine: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, empty database of `engine`, for a module-scoped fixture (the `db` fixture
    of tests/conftest.py is per test; this is the same recipe once per module)."""
    if engine == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path_factory.mktemp("policy") / "atrium.db"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")

    async def clean() -> None:
        conn = await asyncpg.connect(_pg_dsn(url.rsplit("/", 1)[1]))
        try:
            await conn.execute(f"TRUNCATE {', '.join(t.name for t in Base.metadata.sorted_tables)} RESTART IDENTITY CASCADE")
            # as migrated: the audit chain's head row (appends lock it; without it they race)
            await conn.execute("INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, 0, $1)", GENESIS)
        finally:
            await conn.close()

    asyncio.run(clean())
    return url


# The order of the peer rules in the matrices' policy: `blocked` neither first nor last, so that
# a policy that let an unnamed domain fall to the first or the last rule (rather than to the
# allowlist) would admit it.
RULE_ORDER = ("organization", "partner", "blocked", "limited", "public")


def matrix_policy(peers: dict[str, str], rules: tuple[ContentRule, ...] = ()) -> Policy:
    """The policy of the matrices (trust -> peer domain): allowlist mode, every peer but
    `unknown` named with its trust. Built directly rather than parsed, so that mutating the
    parser does not rerun the matrices; test_policy_decisions.py checks that the policy.toml an
    operator would write parses to exactly this."""
    return Policy(
        mode="allowlist",
        default_trust="partner",  # not used in allowlist mode: `unknown` stays blocked
        peers=tuple(PeerRule(peers[trust], trust) for trust in RULE_ORDER),
        rules=rules,
    )


@dataclass
class Net:
    ctx: NodeContext
    peers: dict[str, FakePeer]  # trust -> peer
    policy: Policy
    client: aiohttp.ClientSession  # the peers' side: their fetches from the node

    @property
    def inbox(self) -> str:
        return f"{self.ctx.base_url}/inbox"

    async def drain(self, *, wait_s: float = 0.0) -> None:
        """Step the fan-out, delivery and inbox workers until nothing is left to do; every job
        must have finished (a job left pending or failed would hide what crossed). `wait_s`:
        jobs queued for later, due within that many seconds, are waited for and run too (a
        poll's spaced-out Update(Question)s, node/poll_wire.py)."""
        # Jobs of one batch run side by side (as the serving process runs deliveries): the
        # scenarios never queue two jobs that must keep an order in the same drain.
        worker = JobWorker(self.ctx.db, {
            FANOUT: lambda job: handle_fanout(self.ctx, job),
            DELIVER: lambda job: handle_delivery(self.ctx, job),
            "inbox": lambda job: handle_inbox(self.ctx, job),
        }, batch=100, concurrent=frozenset({FANOUT, DELIVER}))
        while await worker.run_once():
            pass
        until = utcnow() + timedelta(seconds=wait_s)
        while wait_s > 0 and utcnow() <= until:  # bounded: a job that never runs is reported below
            async with self.ctx.db.reader() as s:
                later = await s.scalar(select(func.min(Job.run_at)).where(Job.status == "pending"))
            if later is None or later > until:
                break
            await asyncio.sleep(max(0.0, (later - utcnow()).total_seconds()) + 0.05)
            while await worker.run_once():
                pass
        async with self.ctx.db.reader() as s:
            unfinished = (await s.execute(
                select(Job.queue, Job.status, Job.last_error).where(Job.status != "done")
            )).all()
        assert unfinished == [], f"jobs did not finish: {unfinished}"

    async def local(self, username: str) -> Account:
        # Keys made in advance (and reused): a node makes them at the first delivery, ~50 ms each.
        key = rsa_key(len(username))
        private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
        async with self.ctx.db.session() as s:
            account = Account(username=username, domain=None, display_name=username.title(),
                              private_key_pem=private_pem, public_key_pem=public_pem(key))
            s.add(account)
        return account

    async def remote(self, trust: str, name: str, *, with_key: bool = True) -> Account:
        """The node's record of `name` on the peer of `trust`, as if fetched already (so the node
        never needs to ask the peer for it); without its key, the node must fetch it."""
        peer = self.peers[trust]
        if name not in peer.keys:
            peer.add_actor(name)
        uri = peer.actor(name)
        async with self.ctx.db.session() as s:
            account = Account(
                username=name, domain=peer.domain, display_name=name.title(), actor_uri=uri, url=uri,
                inbox_uri=f"{uri}/inbox", shared_inbox_uri=f"{peer.base}/inbox", followers_uri=f"{uri}/followers",
                key_id=peer.key_id(name) if with_key else None,
                public_key_pem=public_pem(peer.keys[name]) if with_key else None,
                fetched_at=utcnow() if with_key else None,
            )
            s.add(account)
        return account

    async def get(self, url: str, *, as_peer: str | None = None, as_actor: str = "", accept: str = AP_CONTENT_TYPE) -> tuple[int, dict[str, object] | None]:
        """GET `url` from the node, signed by `as_actor` on the peer of trust `as_peer` (or
        unsigned); (status, JSON body or None)."""
        status, body = await self.get_bytes(url, as_peer=as_peer, as_actor=as_actor, accept=accept)
        return status, json.loads(body) if status == 200 else None

    async def get_bytes(self, url: str, *, as_peer: str | None = None, as_actor: str = "", accept: str = "*/*") -> tuple[int, bytes]:
        """The same GET, for any kind of body (a picture): (status, body)."""
        headers = {"Accept": accept}
        if as_peer is not None:
            peer = self.peers[as_peer]
            headers = sign_request("GET", url, headers, None, peer.key_id(as_actor), peer.keys[as_actor])
        async with self.client.get(url, headers=headers) as r:
            return r.status, await r.read()


async def count(ctx: NodeContext, model: type, *where: object) -> int:
    async with ctx.db.reader() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


@asynccontextmanager
async def network(database: str, rules: tuple[ContentRule, ...] = ()) -> AsyncIterator[Net]:
    """The node (its app on a free loopback port, its own database, its media in a folder of
    its own) and the six peers."""
    async with AsyncExitStack() as stack:
        peers = {trust: await stack.enter_async_context(fake_peer()) for trust in TRUSTS}
        policy = matrix_policy({trust: peer.domain for trust, peer in peers.items()}, rules)
        db = Database(database)
        stack.push_async_callback(db.dispose)
        media = LocalStore(Path(stack.enter_context(tempfile.TemporaryDirectory())))
        ctx = (await stack.enter_async_context(running_node(db, policy=policy, media=media))).ctx
        async with db.session() as s:
            # Peers the node has talked to before. (On PostgreSQL, concurrent first deliveries to a
            # peer never seen race to create its row in node/peers.py `_get`; not what this tests.)
            s.add_all(Peer(domain=peer.domain, consecutive_failures=0, dead=False) for peer in peers.values())
        client = aiohttp.ClientSession()
        stack.push_async_callback(client.close)
        yield Net(ctx, peers, policy, client)


def strings(doc: object) -> Iterator[str]:
    """Every string anywhere in a JSON document."""
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, dict):
        for value in doc.values():
            yield from strings(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from strings(value)
