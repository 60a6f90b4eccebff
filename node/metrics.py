"""Prometheus metrics of one node process, served at `/metrics` (web/metrics.py).

Each `NodeContext` gets its own `CollectorRegistry` (not prometheus-client's global one), so
several nodes or test apps in one process never share or collide on a collector. Node code
counts with one-line calls (`metrics.of(ctx).deliveries.labels(outcome="delivered").inc()`);
queue depth and age are read from the database when scraped (`refresh`).
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import func, select

from node.context import NodeContext
from storage import jobs
from storage.models import Job, utcnow

T = TypeVar("T")
QUEUE_STATUSES = ("pending", "running", "failed")
# Request latency buckets (seconds): a federation server answers in milliseconds to seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.deliveries = Counter(
            "atrium_deliveries", "Outbound deliveries by outcome (delivered, retry, dropped, refused).",
            ["outcome"], registry=r,
        )
        self.deliveries_in_flight = Gauge(
            "atrium_deliveries_in_flight", "Deliveries this process is sending right now.", registry=r,
        )
        self.inbox = Counter(
            "atrium_inbox_activities", "Activities POSTed to the inboxes by result (queued, duplicate, refused).",
            ["result"], registry=r,
        )
        self.policy_decisions = Counter(
            "atrium_policy_decisions", "Trust-policy decisions at the boundary by direction and decision.",
            ["direction", "decision"], registry=r,
        )
        self.policy_version = Gauge(
            "atrium_policy_version", "Version of the shared trust policy in force in this process.", registry=r,
        )
        self.queue_depth = Gauge(
            "atrium_queue_jobs", "Jobs in the durable queue by queue and status (read at scrape).",
            ["queue", "status"], registry=r,
        )
        self.queue_age = Gauge(
            "atrium_queue_oldest_due_seconds", "Age of the oldest due, unclaimed job by queue (0 when none).",
            ["queue"], registry=r,
        )
        self.request_latency = Histogram(
            "atrium_http_request_duration_seconds", "HTTP request latency by method, route template and status.",
            ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=r,
        )

    async def refresh(self, ctx: NodeContext, queues: tuple[str, ...]) -> None:
        """Read queue depth and age from the database (they are shared by every process)."""
        now = utcnow()
        async with ctx.db.reader() as s:
            oldest = dict(
                (await s.execute(
                    select(Job.queue, func.min(Job.run_at))
                    .where(Job.status == "pending", Job.run_at <= now)
                    .group_by(Job.queue)
                )).all()
            )
        for queue in queues:
            counted = await jobs.counts(ctx.db, queue)
            for status in QUEUE_STATUSES:
                self.queue_depth.labels(queue=queue, status=status).set(counted.get(status, 0))
            since = oldest.get(queue)
            self.queue_age.labels(queue=queue).set(max(timedelta(0), now - since).total_seconds() if since else 0)


# NodeContext has no field for metrics (node/context.py belongs to the core): each context's
# Metrics is kept as an attribute set here, made on first use.
_ATTR = "_atrium_metrics"


def of(ctx: NodeContext) -> Metrics:
    found = getattr(ctx, _ATTR, None)
    if found is None:
        found = Metrics()
        setattr(ctx, _ATTR, found)
    return found


# One-line hooks for node code.


def delivery(ctx: NodeContext, outcome: str) -> None:
    of(ctx).deliveries.labels(outcome=outcome).inc()


def inbox(ctx: NodeContext, result: str) -> None:
    of(ctx).inbox.labels(result=result).inc()


def decision(ctx: NodeContext, direction: str, allowed: bool) -> None:
    of(ctx).policy_decisions.labels(direction=direction, decision="allowed" if allowed else "refused").inc()


async def in_flight(ctx: NodeContext, call: Awaitable[T]) -> T:
    """Await a delivery, counted in `atrium_deliveries_in_flight` while it is on the wire."""
    gauge = of(ctx).deliveries_in_flight
    gauge.inc()
    try:
        return await call
    finally:
        gauge.dec()
