"""One way for a test to build a node, its context and the fake peers it talks to.

- `node_context(db, ...)`: a `NodeContext` for a test that calls node code directly (no HTTP),
  with a media store (`LocalStore`) in a temporary folder of its own;
  `loopback_context(db, port, ...)` the same for a node served on `127.0.0.1:port` over http.
- `running_node(db, ...)`: the node in-process — its own app (`web.app.create_app`) on a free
  loopback port, its gate open to loopback peers over http (`node.contact.open_gate`), the
  policy in a box a test may swap (`node.policy[0] = ...`), closed again on the way out;
  `serve_gate=True` opens the gate `atrium serve` opens instead (`atrium.assembly.federating`).
- `fake_peer(...)`: a fake remote server over real HTTP (`tests/federation/fake_peer.py`) on a
  free loopback port, serving the actors named.
- `free_port()`: a loopback port nobody listens on.

`tests/conftest.py` offers `start_node` (a node torn down with the test) on top of these.
Real `atrium serve` processes are `tests/federation/nodes.py`'s `NodeProcess`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractResolver
from sqlalchemy import select

from atrium.assembly import federating
from federation.addresses import AddressPolicy
from node import accounts, contact
from node.context import NodeContext
from node.inbox import handle_inbox
from node.instance import create_instance
from node.policy import Policy
from node.settings import Settings
from node.workers import JobWorker
from storage.db import Database
from storage.ids import new_id
from storage.media_store import LocalStore
from storage.models import InboxEntry, Post
from tests.federation.fake_peer import FakePeer, rsa_key, running_peer
from web.app import create_app

PASSWORD = "correct horse battery"
#: How a test node reaches its fake peers: loopback addresses, plain http.
LOOPBACK = AddressPolicy(allow_loopback=True, allow_http=True)
#: A policy that admits no one: what `NodeContext` assumes when it is given none.
CLOSED = Policy(mode="allowlist")


def public_post_row(author_id: int, body: str, post_id: int | None = None) -> dict[str, Any]:
    """A local public post as a row for a bulk `insert(Post)`: for the tests that need
    thousands of posts, which the node's own path would take minutes to write."""
    return {"id": new_id() if post_id is None else post_id, "account_id": author_id, "local": True, "source": body,
            "content_html": f"<p>{body}</p>", "summary": "", "sensitive": False, "visibility": "public",
            "replies_count": 0, "likes_count": 0, "boosts_count": 0}


def free_port() -> int:
    """A loopback port free now (the kernel's pick), for a server the test is about to start."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(proc: subprocess.Popen[str], port: int, what: str, tail: Callable[[], str],
                   timeout: float = 30.0) -> None:
    """Wait until the server process `proc` listens on loopback `port`; RuntimeError naming
    `what` with its log's `tail()` when it exits or does not listen in time."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited: {tail()}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start: {tail()}") from None
            time.sleep(0.1)


def stop_process(proc: subprocess.Popen[str] | None) -> None:
    """Terminate a server process the test started, killing it after 10 s."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def node_context(
    db: Database,
    domain: str = "eng.acme.test",
    *,
    scheme: str = "https",
    policy: Policy | Callable[[], Policy] | None = None,
    **extra: Any,
) -> NodeContext:
    """A node's context as `atrium serve` builds one, minus the gate: `policy` is the policy in
    force (a callable if the test changes it later), none the closed default; `extra` sets
    any other field of `NodeContext` (limits, ...)."""
    if policy is not None:
        extra["policy"] = policy if callable(policy) else (lambda: policy)
    folder = None
    if "media" not in extra:  # a media store of its own, in a temporary folder
        folder = tempfile.mkdtemp(prefix="atrium-media-")
        extra["media"] = LocalStore(Path(folder))
    ctx = NodeContext(db=db, domain=domain, scheme=scheme, **extra)
    if folder is not None:
        weakref.finalize(ctx, shutil.rmtree, folder, True)  # removed with the context
    return ctx


def loopback_context(
    db: Database, port: int, *, policy: Policy | Callable[[], Policy] | None = None, **extra: Any
) -> NodeContext:
    """The context of a node served on `http://127.0.0.1:port`."""
    return node_context(db, f"127.0.0.1:{port}", scheme="http", policy=policy, **extra)


@dataclass
class LocalNode:
    """A node running in-process on loopback, as `running_node` starts it."""

    ctx: NodeContext
    app: web.Application
    #: The policy in force is `policy[0]`: a test swaps it to change the node's mind.
    policy: list[Policy]
    port: int

    @property
    def url(self) -> str:
        """Where it listens (its `ctx.base_url` too, unless it was given a domain of its own)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def inbox(self) -> str:
        return f"{self.url}/inbox"

    async def process(self) -> int:
        """Step the inbox worker until the queue is empty; how many jobs it ran."""
        worker = JobWorker(self.ctx.db, {"inbox": lambda job: handle_inbox(self.ctx, job)})
        total = 0
        while n := await worker.run_once():
            total += n
        return total

    async def outcomes(self) -> list[tuple[str, str, str | None]]:
        """The inbox log: (type, outcome, reason) of every activity taken, oldest first."""
        async with self.ctx.db.reader() as s:
            rows = (await s.scalars(select(InboxEntry).order_by(InboxEntry.id))).all()
        return [(r.type, r.outcome, r.reason) for r in rows]

    async def post(self, uri: str) -> Post | None:
        async with self.ctx.db.reader() as s:
            return await s.scalar(select(Post).where(Post.uri == uri))


@asynccontextmanager
async def running_node(
    db: Database,
    *,
    policy: Policy = CLOSED,
    domain: str | None = None,
    scheme: str = "http",
    address_policy: AddressPolicy | None = LOOPBACK,
    resolver: AbstractResolver | None = None,
    serve_gate: bool = False,
    instance: bool = False,
    users: tuple[str, ...] = (),
    admins: tuple[str, ...] = (),
    app_for: Callable[[NodeContext], web.Application] = create_app,
    **extra: Any,
) -> AsyncIterator[LocalNode]:
    """The node in-process, serving its app on a free loopback port until the block ends.

    `domain` defaults to that port's `127.0.0.1:port` (a production-like node passes its own
    name and `scheme="https"`); `address_policy` opens its gate (None: no gate, the node
    fetches nothing), through `resolver` if given; `serve_gate` opens the gate `atrium serve`
    opens in its place (its address policy from the node's domain and scheme, signing as the
    instance actor; implies `instance`); `instance` writes the node's own row (the web UI's
    sign-in reads it); `users` are local accounts made with `PASSWORD`, `admins` admins."""
    box = [policy]
    port = free_port()
    ctx = node_context(db, domain or f"127.0.0.1:{port}", scheme=scheme, policy=lambda: box[0], **extra)
    async with AsyncExitStack() as stack:
        if instance or serve_gate:
            await create_instance(db, ctx.domain)
        if serve_gate:
            # No CA file is named, so the data directory is never read.
            settings = Settings(data_dir=Path(), domain=ctx.domain, scheme=scheme)
            await stack.enter_async_context(federating(ctx, settings))
        elif address_policy is not None:
            contact.open_gate(ctx, address_policy, resolver=resolver)
            stack.push_async_callback(contact.close_gate, ctx)
        for name in users:
            await accounts.create_user(ctx, name, PASSWORD)
        for name in admins:
            await accounts.create_user(ctx, name, PASSWORD, role="admin")
        app = app_for(ctx)
        runner = web.AppRunner(app)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield LocalNode(ctx, app, box, port)


@asynccontextmanager
async def fake_peer(*actors: str, keys: Mapping[str, int] | None = None) -> AsyncIterator[FakePeer]:
    """A fake peer over real HTTP on a free loopback port, serving `actors`; an actor named in
    `keys` signs with `rsa_key(keys[name])` (a key of its own), the others with the peer's."""
    async with running_peer(free_port()) as peer:
        for name in actors:
            key = (keys or {}).get(name)
            peer.add_actor(name, None if key is None else rsa_key(key))
        yield peer
