"""Small steps the account, relationship and bookmark tests share: more users, posts, ids."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from aiohttp.test_utils import TestClient

from node import accounts, contact
from node.context import NodeContext
from node.policy import PeerRule
from tests.api.conftest import PASSWORD, auth
from tests.factory import LOOPBACK
from tests.federation.fake_peer import FakePeer
from web.keys import CTX

Client = TestClient[Any, Any]
JSON = dict[str, Any]


def node_of(api: Client) -> NodeContext:
    return api.server.app[CTX]


@asynccontextmanager
async def admitting(api: Client, peer: FakePeer) -> AsyncIterator[FakePeer]:
    """The API's node able to fetch from a fake peer: its policy names the peer (trusted
    `public`) and its gate is open to loopback, as long as the block lasts."""
    ctx, before = node_of(api), node_of(api).policy
    admitted = replace(before(), peers=(*before().peers, PeerRule(peer.domain, "public")))
    ctx.policy = lambda: admitted
    contact.open_gate(ctx, LOOPBACK)
    try:
        yield peer
    finally:
        await contact.close_gate(ctx)
        ctx.policy = before


async def add_user(api: Client, username: str, *, locked: bool = False) -> None:
    await accounts.create_user(node_of(api), username, PASSWORD, locked=locked)


async def account_id(api: Client, username: str) -> str:
    return str((await accounts.get_local(node_of(api), username)).id)


async def post(api: Client, token: str, text: str, **extra: str) -> JSON:
    resp = await api.post("/api/v1/statuses", data={"status": text, **extra}, headers=auth(token))
    body: JSON = await resp.json()
    assert resp.status == 200, body
    return body


async def call(api: Client, method: str, path: str, token: str | None = None, expect: int = 200, **kw: Any) -> Any:
    """One API call; asserts the status and, for an error, Mastodon's {"error": ...} body."""
    resp = await api.request(method, path, headers=auth(token) if token else {}, **kw)
    body = await resp.json()
    assert resp.status == expect, (resp.status, body)
    if expect >= 400:
        assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
    return body
