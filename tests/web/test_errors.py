"""The error middleware: what a handler's failure becomes on the wire (status, one-line JSON
reason, no traceback), for failures raised by real components."""

from __future__ import annotations

import sqlite3
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError

from web.errors import error_middleware


def _unique_violation() -> IntegrityError:
    """A real unique-key violation from SQLite, as two racing inserts meet it."""
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
    except IntegrityError as exc:
        return exc
    raise AssertionError("the duplicate insert was accepted")


async def _get(exc: Exception) -> tuple[int, dict[str, Any], str]:
    async def handler(_request: web.Request) -> web.Response:
        raise exc

    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/", handler)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/")
        body = await resp.json()
        return resp.status, body, resp.headers.get("Retry-After", "")


async def test_a_lost_write_race_is_a_409_not_a_503() -> None:
    status, body, _ = await _get(_unique_violation())
    assert status == 409 and "concurrent change" in body["error"]
    assert "Traceback" not in body["error"] and "UNIQUE" not in body["error"]


async def test_a_database_that_is_away_is_a_503_with_retry_after() -> None:
    away = OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))
    status, body, retry = await _get(away)
    assert status == 503 and "unavailable" in body["error"] and retry == "5"
