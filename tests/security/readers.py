"""Readers of a node under test, each as it really reaches the node: a browser signed in to the
web UI (cookie and form token), and fake peers that live under host names rather than IP
literals (a wildcard rule such as `*.acme.localhost` names hosts, and an IP literal cannot be
wildcarded).

Names: `*.localhost` is loopback by definition (RFC 6761) and never leaves the machine, but
this machine's resolver does not answer for it; the node's session resolves such names with
`LoopbackNames`, which answers 127.0.0.1 for them and refuses every other name, so no test
name ever reaches DNS.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from tests.federation.fake_peer import FakePeer

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class LoopbackNames(AbstractResolver):
    """`localhost` and `*.localhost` → 127.0.0.1; any other name is not found."""

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        name = host.lower().rstrip(".")
        if name != "localhost" and not name.endswith(".localhost"):
            raise OSError(socket.EAI_NONAME, f"{host}: only *.localhost names resolve in this test")
        return [ResolveResult(hostname=host, host="127.0.0.1", port=port, family=socket.AF_INET,
                              proto=0, flags=socket.AI_NUMERICHOST)]

    async def close(self) -> None:
        return None


@dataclass
class NamedPeer(FakePeer):
    """A fake peer served on 127.0.0.1 but known by a `*.localhost` host name."""

    host: str = "peer.localhost"

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def domain(self) -> str:
        return f"{self.host}:{self.port}"


@asynccontextmanager
async def running_named_peer(host: str, port: int) -> AsyncIterator[NamedPeer]:
    peer = NamedPeer(port, host=host)
    runner = web.AppRunner(peer.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield peer
    finally:
        await runner.cleanup()


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no form token on the page"
    return match.group(1)


async def web_sign_in(base_url: str, username: str, password: str) -> tuple[aiohttp.ClientSession, str]:
    """A browser-like client signed in to the web UI as `username` through the sign-in form:
    (the client, holding the session cookie, and the session's form token). The caller closes it.
    Cookies of an IP-literal host need the jar's `unsafe` mode."""
    client = aiohttp.ClientSession(base_url=base_url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        async with client.get("/signin") as r:
            token = csrf_of(await r.text())
        async with client.post("/signin", data={"login": username, "password": password, "csrf": token}) as r:
            assert r.status == 200 and "/signin" not in str(r.url), f"sign-in of {username} failed: {r.status} {r.url}"
        async with client.get("/settings") as r:
            return client, csrf_of(await r.text())
    except BaseException:
        await client.close()
        raise
