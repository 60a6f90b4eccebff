"""A browser for single-sign-on tests over real HTTP: one cookie jar, redirects followed
between the node and the provider as a browser would (or stopped at the callback, to replay it)."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from sqlalchemy import func, select

from node.context import NodeContext
from storage.models import Account, OidcLink


@dataclass
class Landed:
    status: int
    url: str
    text: str


class Browser:
    def __init__(self, http: aiohttp.ClientSession, node_url: str) -> None:
        self.http, self.node_url = http, node_url

    async def get(self, url: str) -> Landed:
        async with self.http.get(url) as r:
            return Landed(r.status, str(r.url), html.unescape(await r.text()))

    async def sso(self, next_path: str = "/") -> Landed:
        """Click "Sign in with …" and follow the provider back."""
        async with self.http.get(f"{self.node_url}/auth/oidc", params={"next": next_path}) as r:
            return Landed(r.status, str(r.url), html.unescape(await r.text()))

    async def callback_url(self, next_path: str = "/") -> str:
        """Start a sign-in and stop where the provider sends the browser back to the node."""
        async with self.http.get(f"{self.node_url}/auth/oidc", params={"next": next_path},
                                 allow_redirects=False) as r:
            to_provider = r.headers["Location"]
        async with self.http.get(to_provider, allow_redirects=False) as r:
            return r.headers["Location"]

    def signed_in(self) -> bool:
        return any(c.key.startswith("atrium_session_") for c in self.http.cookie_jar)


@asynccontextmanager
async def browser(node_url: str) -> AsyncIterator[Browser]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Browser(http, node_url)


async def local_accounts(ctx: NodeContext) -> list[Account]:
    async with ctx.db.reader() as s:
        return list(await s.scalars(select(Account).where(Account.domain.is_(None)).order_by(Account.id)))


async def links(ctx: NodeContext) -> int:
    async with ctx.db.reader() as s:
        return int(await s.scalar(select(func.count()).select_from(OidcLink)) or 0)
