"""Peer health: a breaker opens after repeated delivery failures, and a peer that has failed
for days is marked dead and skipped until it answers (or sends us a valid signed request)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import jobs
from storage.db import Database, insert_ignoring_conflicts
from storage.models import Job, Peer, utcnow

BREAKER_AFTER = 5  # consecutive failures
BREAKER_MAX = timedelta(hours=1)
DEAD_AFTER = timedelta(days=2)
DEAD_RETRY = timedelta(hours=6)  # a dead peer is still tried now and then
SUCCESS_GRANULARITY = timedelta(minutes=1)  # last_success_at is kept to about this


async def _get(s: AsyncSession, domain: str) -> Peer:
    """The peer's row, locked; created first if needed without racing a concurrent delivery
    to the same new domain (which would fail one of them on the primary key)."""
    await s.execute(
        insert_ignoring_conflicts(s, Peer).values(domain=domain, consecutive_failures=0, dead=False)
    )
    peer = await s.get(Peer, domain, with_for_update=True, populate_existing=True)
    assert peer is not None
    return peer


async def get(db: Database, domain: str) -> Peer | None:
    async with db.reader() as s:
        return await s.get(Peer, domain)


async def get_many(db: Database, domains: list[str]) -> list[Peer | None]:
    """`get` for several domains in one query (a GroupCommit's batch reader)."""
    async with db.reader() as s:
        found = {p.domain: p for p in await s.scalars(select(Peer).where(Peer.domain.in_(set(domains))))}
    return [found.get(d) for d in domains]


def breaker_until(peer: Peer | None) -> datetime | None:
    """When deliveries to the peer may be tried again, or None if they may go now."""
    if peer is None or peer.breaker_until is None:
        return None
    return peer.breaker_until if peer.breaker_until > utcnow() else None


async def blocked_until(db: Database, domain: str) -> datetime | None:
    return breaker_until(await get(db, domain))


def success_is_news(peer: Peer | None) -> bool:
    """Would `record_success` change anything worth a write? Not for a healthy peer that
    answered within the last minute: a busy peer's deliveries skip a write each."""
    return (peer is None or bool(peer.consecutive_failures) or peer.dead or peer.breaker_until is not None
            or peer.last_success_at is None or utcnow() - peer.last_success_at > SUCCESS_GRANULARITY)


async def record_success(db: Database, domain: str) -> None:
    async with db.session() as s:
        peer = await _get(s, domain)
        peer.consecutive_failures = 0
        peer.first_failure_at = None
        peer.breaker_until = None
        peer.dead = False
        peer.last_success_at = utcnow()


async def record_failure(db: Database, domain: str, error: str) -> None:
    now = utcnow()
    async with db.session() as s:
        peer = await _get(s, domain)
        peer.consecutive_failures = (peer.consecutive_failures or 0) + 1
        peer.first_failure_at = peer.first_failure_at or now
        peer.last_failure_at = now
        peer.last_error = error[:1000]
        if now - peer.first_failure_at >= DEAD_AFTER:
            peer.dead = True
            peer.breaker_until = now + DEAD_RETRY
        elif peer.consecutive_failures >= BREAKER_AFTER:
            exponent = peer.consecutive_failures - BREAKER_AFTER
            peer.breaker_until = now + min(BREAKER_MAX, timedelta(seconds=30 * 2**exponent))


async def heard_from(db: Database, domain: str) -> None:
    """A valid signed request from the peer: it is alive, so close its breaker and send its
    backlog now rather than at the next backoff step."""
    async with db.reader() as s:
        peer = await s.get(Peer, domain)
    if peer is not None and peer.consecutive_failures:
        await record_success(db, domain)
        await jobs.bring_forward(db, "deliver", domain)


async def all_peers(db: Database) -> list[Peer]:
    async with db.reader() as s:
        return list(await s.scalars(select(Peer).order_by(Peer.domain)))


async def queue_counts(db: Database, queue: str) -> dict[str, int]:
    """The jobs of `queue` by status (the federation health page)."""
    return await jobs.counts(db, queue)


async def backlog(db: Database, queue: str = "deliver") -> dict[str, int]:
    """Deliveries waiting (pending or running) for each peer domain: its queue depth."""
    stmt = (
        select(Job.target, func.count())
        .where(Job.queue == queue, Job.status.in_(("pending", "running")), Job.target.is_not(None))
        .group_by(Job.target)
    )
    async with db.reader() as s:
        return {str(target): int(n) for target, n in (await s.execute(stmt)).all()}
