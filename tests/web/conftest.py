"""A node's web application on loopback, served in-process, with a real HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from node.context import NodeContext
from storage.db import Database
from tests.factory import free_port, loopback_context
from web.app import create_app

Serve = Callable[..., AbstractAsyncContextManager[TestClient[Any, Any]]]


@pytest.fixture
def serve() -> Serve:
    """`async with serve(db, configure=...) as client`: the node app (optionally changed by
    `configure` before it starts) on a loopback port."""

    @asynccontextmanager
    async def run(db: Database, configure: Callable[[web.Application], None] | None = None,
                  app_for: Callable[[NodeContext], web.Application] = create_app) -> AsyncIterator[TestClient[Any, Any]]:
        port = free_port()
        ctx = loopback_context(db, port)
        app = app_for(ctx)
        if configure is not None:
            configure(app)
        client = TestClient(TestServer(app, host="127.0.0.1", port=port))
        await client.start_server()
        try:
            yield client
        finally:
            await client.close()

    return run
