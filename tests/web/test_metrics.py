"""/metrics as a Prometheus scraper reads it, who may read it, and request ids on every answer."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from node import metrics
from storage import jobs
from storage.db import Database
from storage.models import utcnow
from tests.web.conftest import Serve
from web.keys import CTX
from web.logging_mw import JsonFormatter, RequestIdFilter
from web.metrics import METRICS_TOKEN


def sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


async def test_queue_depth_and_age_come_from_the_database_at_scrape(db: Database, serve: Serve) -> None:
    # Given two deliveries due for five minutes and one due in an hour
    for _ in range(2):
        await jobs.enqueue(db, "deliver", b"{}", run_at=utcnow() - timedelta(minutes=5))
    await jobs.enqueue(db, "deliver", b"{}", run_at=utcnow() + timedelta(hours=1))
    async with serve(db) as client:
        r = await client.get("/metrics")
        text = await r.text()
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
    assert sample(text, "atrium_queue_jobs", queue="deliver", status="pending") == 3
    assert sample(text, "atrium_queue_jobs", queue="inbox", status="pending") == 0
    assert (sample(text, "atrium_queue_oldest_due_seconds", queue="deliver") or 0) >= 300
    assert sample(text, "atrium_queue_oldest_due_seconds", queue="inbox") == 0


async def test_latency_is_labelled_by_route_template_not_by_path(db: Database, serve: Serve) -> None:
    async with serve(db) as client:
        for name in ("nobody1", "nobody2", "nobody3"):
            await client.get(f"/users/{name}")
        await client.get("/no/such/page")
        text = await (await client.get("/metrics")).text()
    count = sample(text, "atrium_http_request_duration_seconds_count", method="GET", route="/users/{username}", status="404")
    assert count == 3
    assert "nobody1" not in text
    assert sample(text, "atrium_http_request_duration_seconds_count", route="unmatched", status="404") == 1


async def test_counters_of_one_app_are_its_own(db: Database, serve: Serve) -> None:
    # Given two nodes in one process, one of which counted a delivery
    async with serve(db) as first, serve(db) as second:
        metrics.delivery(first.server.app[CTX], "delivered")
        one = await (await first.get("/metrics")).text()
        other = await (await second.get("/metrics")).text()
    assert sample(one, "atrium_deliveries_total", outcome="delivered") == 1
    assert sample(other, "atrium_deliveries_total", outcome="delivered") is None


async def test_without_a_token_only_direct_loopback_may_scrape(db: Database, serve: Serve) -> None:
    async with serve(db) as client:
        assert (await client.get("/metrics")).status == 200
        # A request that came through a (local) reverse proxy is not loopback
        proxied = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert proxied.status == 403
        assert "loopback" in (await proxied.json())["error"]


async def test_with_a_token_every_scrape_needs_it(db: Database, serve: Serve) -> None:
    async with serve(db, configure=lambda app: app.__setitem__(METRICS_TOKEN, "s3cret-token")) as client:
        assert (await client.get("/metrics")).status == 403
        assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status == 403
        ok = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-token", "X-Forwarded-For": "203.0.113.9"})
        assert ok.status == 200
        assert "atrium_queue_jobs" in await ok.text()


@pytest.fixture
def access_log() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("atrium.access")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def test_every_answer_carries_a_request_id_and_the_log_line_has_it(db: Database, serve: Serve, access_log: io.StringIO) -> None:
    async with serve(db) as client:
        given = await client.get("/health/live", headers={"X-Request-Id": "abc-123"})
        fresh = await client.get("/users/nobody")
        odd = await client.get("/health/live", headers={"X-Request-Id": "two words\tand a tab"})
    # The client's id is echoed; an error answer gets one too; an unusable one is replaced
    assert given.headers["X-Request-Id"] == "abc-123"
    assert fresh.status == 404 and len(fresh.headers["X-Request-Id"]) == 32
    assert odd.headers["X-Request-Id"] != "two words\tand a tab" and len(odd.headers["X-Request-Id"]) == 32
    lines = [json.loads(line) for line in access_log.getvalue().splitlines()]
    by_id = {line["request_id"]: line for line in lines}
    assert by_id["abc-123"]["path"] == "/health/live" and by_id["abc-123"]["status"] == 200
    assert by_id[fresh.headers["X-Request-Id"]]["status"] == 404
    assert {"time", "level", "logger", "message", "duration_ms"} <= set(by_id["abc-123"])
