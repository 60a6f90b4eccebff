"""The error middleware: what a handler's failure becomes on the wire (status, one-line JSON
reason, no traceback), for failures raised by real components."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError

from storage.errors import AtriumError
from tests.federation.test_error_family import CASES, caught
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


@pytest.mark.parametrize("case", CASES)
async def test_each_error_of_the_family_is_its_status_and_reason(case: str, caplog: pytest.LogCaptureFixture) -> None:
    # Given a handler failing with an error of the family (an invalid activity, a signature,
    # a fetch or a contact refused), raised by the component that raises it
    exc = caught(CASES[case][0])
    assert isinstance(exc, AtriumError)
    # When a client's request meets it
    with caplog.at_level(logging.INFO, logger="web.errors"):
        status, body, _ = await _get(exc)
    # Then the answer is the error's own 4xx with its reason, and no traceback anywhere
    assert 400 <= status < 500 and status == exc.status
    assert body == {"error": exc.reason}
    assert not [r for r in caplog.records if r.exc_info is not None or r.levelno >= logging.ERROR]
