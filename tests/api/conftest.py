"""An in-process node on loopback, a client for it, and helpers to sign in as someone."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from node import accounts
from node.policy import ContentRule, Policy
from storage.db import Database
from tests.factory import free_port, loopback_context
from web.app import create_app

PASSWORD = "correct horse battery"
ALL_SCOPES = "read write follow push"

SignIn = Callable[..., Awaitable[str]]


@pytest.fixture
async def api(db: Database) -> AsyncIterator[TestClient[Any, Any]]:
    port = free_port()
    # A content rule, as an operator would write one: matching posts stay off the open web.
    policy = Policy(rules=(ContentRule("confidential", "(?i)confidential", "organization"),))
    ctx = loopback_context(db, port, policy=policy)
    await accounts.create_user(ctx, "alice", PASSWORD, email="alice@eng.acme.test")
    await accounts.create_user(ctx, "bob", PASSWORD)
    client = TestClient(TestServer(create_app(ctx), host="127.0.0.1", port=port))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def register_app(api: TestClient[Any, Any], scopes: str = ALL_SCOPES, **extra: Any) -> dict[str, Any]:
    body = {"client_name": "test client", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": scopes, **extra}
    resp = await api.post("/api/v1/apps", data=body)
    assert resp.status == 200, await resp.text()
    app: dict[str, Any] = await resp.json()
    return app


@pytest.fixture
def sign_in(api: TestClient[Any, Any]) -> SignIn:
    """A bearer token for `username` by the password grant, with `scope`."""

    async def _sign_in(username: str = "alice", scope: str = ALL_SCOPES) -> str:
        app = await register_app(api)
        resp = await api.post(
            "/oauth/token",
            data={
                "grant_type": "password",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "username": username,
                "password": PASSWORD,
                "scope": scope,
            },
        )
        assert resp.status == 200, await resp.text()
        token: str = (await resp.json())["access_token"]
        return token

    return _sign_in


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
