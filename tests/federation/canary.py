"""What the outbound-gate tests stand on: a canary listener that records every TCP connection
it receives (so "the node made no connection there" is what the socket saw, not what the
code says), and an `admit` for gates built below the node (federation tests), which records
what it was asked and refuses the hosts it is told to.

Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from yarl import URL

from federation.gate import ContactRefused, Purpose


@dataclass
class Canary:
    """A TCP listener that accepts, records and closes every connection. `port` is its own."""

    port: int = 0
    connections: list[tuple[str, int]] = field(default_factory=list)  # the peers' (address, port)
    first_bytes: list[bytes] = field(default_factory=list)  # what each connection said first

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def base(self) -> str:
        return f"http://{self.domain}"

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = writer.get_extra_info("peername")
        self.connections.append((str(address[0]), int(address[1])))
        try:
            self.first_bytes.append(await asyncio.wait_for(reader.read(200), 1.0))
        except (TimeoutError, ConnectionError):
            self.first_bytes.append(b"")
        writer.close()


@asynccontextmanager
async def running_canary() -> AsyncIterator[Canary]:
    canary = Canary()
    server = await asyncio.start_server(canary._accepted, "127.0.0.1", 0)
    canary.port = int(server.sockets[0].getsockname()[1])
    try:
        yield canary
    finally:
        server.close()
        await server.wait_closed()


@dataclass
class RecordingAdmit:
    """An `admit` for an `OutboundGate` built without a node: records every (host, purpose)
    asked about and refuses the hosts in `refuse` (`host[:port]` as in the URL)."""

    refuse: set[str] = field(default_factory=set)
    asked: list[tuple[str, Purpose]] = field(default_factory=list)

    async def __call__(self, url: URL, purpose: Purpose) -> None:
        host = url.host_port_subcomponent or ""
        self.asked.append((host, purpose))
        if host in self.refuse:
            raise ContactRefused(f"{purpose} of {url} refused by the test", rule="test", host=host, purpose=purpose)


async def admit_anyone(url: URL, purpose: Purpose) -> None:
    """The admit of a gate in tests of the fetcher itself, where the trust policy is not the
    subject: every host may be contacted (the address policy still applies)."""
    del url, purpose
