"""Liveness and readiness as a supervisor or a load balancer sees them."""

from __future__ import annotations

from pathlib import Path

from storage import migrate
from storage.db import Database
from tests.factory import free_port
from tests.web.conftest import Serve
from web import health
from web.keys import CTX


async def test_a_node_at_the_schema_head_is_live_and_ready(db: Database, serve: Serve) -> None:
    async with serve(db, configure=lambda app: app.__setitem__(health.POLICY_VERSION, lambda: 7)) as client:
        live = await client.get("/health/live")
        assert (live.status, await live.json()) == (200, {"status": "alive"})
        ready = await client.get("/health/ready")
        assert ready.status == 200
        assert await ready.json() == {"status": "ready", "database": "ok", "schema": migrate.head_revision(),
                                      "role": "all", "serving_processes": 1, "policy_version": 7}
        # The older health route still answers as before
        old = await client.get("/health")
        assert (old.status, (await old.json())["status"]) == (200, "ok")


async def test_a_database_behind_the_code_is_live_but_not_ready(tmp_path: Path, serve: Serve) -> None:
    # Given a database nobody migrated
    empty = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        async with serve(empty) as client:
            assert (await client.get("/health/live")).status == 200
            ready = await client.get("/health/ready")
            body = await ready.json()
            assert ready.status == 503
            assert (body["status"], body["database"]) == ("unavailable", "ok")
            assert "run `atrium migrate`" in body["reason"]
    finally:
        await empty.dispose()


async def test_an_unreachable_database_is_not_ready(db: Database, serve: Serve) -> None:
    # Given a node whose PostgreSQL is not there (nothing listens on the port)
    away = Database(f"postgresql+asyncpg://atrium@127.0.0.1:{free_port()}/atrium")
    try:
        async with serve(db) as client:
            client.server.app[CTX].db = away
            ready = await client.get("/health/ready")
            body = await ready.json()
            assert (ready.status, body["status"], body["database"]) == (503, "unavailable", "unreachable")
            assert body["reason"]
            assert (await client.get("/health/live")).status == 200
    finally:
        await away.dispose()


async def test_a_worker_serves_its_health_and_metrics_and_nothing_of_the_node(db: Database, serve: Serve) -> None:
    async with serve(db, app_for=health.ops_app) as client:
        assert (await client.get("/health/live")).status == 200
        assert (await client.get("/health/ready")).status == 200
        assert (await client.get("/metrics")).status == 200
        for path in ("/.well-known/webfinger?resource=acct:a@b", "/.well-known/nodeinfo", "/users/alice", "/api/v1/instance", "/"):
            assert (await client.get(path)).status == 404, path
        assert (await client.post("/inbox", data=b"{}")).status in (404, 405)
