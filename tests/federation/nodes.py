"""Real `atrium serve` processes on loopback, and a way for tests to act on each node.

Acting on a node opens its own database and federation context in the test process — the
same node code the web UI and client API call — while the node's own process serves HTTP and
runs the delivery and inbox workers. Everything between nodes crosses real HTTP.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TypeVar

from atrium.assembly import context_for, federating
from node import accounts
from node.context import NodeContext
from node.settings import load
from storage.db import Database
from storage.models import Account
from tests.conftest import drop_pg_database
from tests.factory import free_port

T = TypeVar("T")
ATRIUM = [sys.executable, "-m", "atrium"]


class NodeProcess:
    def __init__(self, name: str, root: Path, database_url: str | None = None) -> None:
        self.name = name
        self.port = free_port()
        self.domain = f"127.0.0.1:{self.port}"
        self.base_url = f"http://{self.domain}"
        self.data_dir = root / name
        self.database_url = database_url
        self.proc: subprocess.Popen[str] | None = None
        self.log = root / f"{name}.log"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "ATRIUM_DATA_DIR": str(self.data_dir)}

    def init(self) -> None:
        args = [*ATRIUM, "init", "--domain", self.domain, "--scheme", "http"]
        if self.database_url:
            args += ["--database-url", self.database_url]
        subprocess.run(args, check=True, env=self.env, capture_output=True)

    def write_policy(self, text: str) -> None:
        (self.data_dir / "policy.toml").write_text(text)

    def create_user(self, username: str, *extra: str) -> None:
        subprocess.run(
            [*ATRIUM, "user", "create", username, "--password-stdin", *extra],
            input=f"{username}-password\n", text=True, check=True, env=self.env, capture_output=True,
        )

    def start(self) -> None:
        out = self.log.open("a")
        self.proc = subprocess.Popen([*ATRIUM, "serve"], env=self.env, stdout=out, stderr=subprocess.STDOUT, text=True)
        # Generous: start-up imports a lot, and a CI machine running the suite on every core can
        # take tens of seconds before the port opens. Not a performance check.
        deadline = time.monotonic() + 90
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not start within 90 s: {self.log.read_text()[-2000:]}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    @asynccontextmanager
    async def act(self) -> AsyncIterator[NodeContext]:
        """A context on this node's database, able to fetch from peers as the node does."""
        settings = load(self.data_dir)
        db = Database(settings.resolved_database_url)
        try:
            ctx = context_for(settings, db)
            async with federating(ctx, settings):
                yield ctx
        finally:
            await db.dispose()

    async def user(self, ctx: NodeContext, username: str) -> Account:
        return await accounts.get_local(ctx, username)


@contextmanager
def serving(nodes: Sequence[NodeProcess], pg_name: str | None = None) -> Iterator[None]:
    """The nodes served side by side for the block; stopped after it, and the PostgreSQL
    database `pg_name` dropped (unless ATRIUM_KEEP_TEST_DATABASES is set)."""
    try:
        with ThreadPoolExecutor() as pool:
            list(pool.map(NodeProcess.start, nodes))
        yield
    finally:
        for n in nodes:
            n.stop()
        if pg_name and not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            drop_pg_database(pg_name)


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 20.0, what: str = "condition") -> T:
    """Poll `check` until it returns something truthy (deliveries are asynchronous)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last saw {last!r}")
