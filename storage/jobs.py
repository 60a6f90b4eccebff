"""The durable job queue: enqueue, claim with a lease, complete, retry at a time, fail.

Claims are exclusive while a lease lasts: PostgreSQL claims with `FOR UPDATE SKIP LOCKED`,
SQLite with one atomic `UPDATE … RETURNING` (a single writer holds the file lock for the
whole statement). A job whose lease expired — its worker died — is claimable again, so
processing is at least once. Every claim gets a fresh token; only the holder of the current
token may complete, retry or fail the job, so a worker that lost its lease cannot clobber
the next holder's work.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple, TypedDict, Unpack

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Update,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.dml import ReturningUpdate
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import CTE, Subquery

from storage import job_signals
from storage.db import Database
from storage.ids import new_id
from storage.models import Job, table_of, utcnow

DEFAULT_LEASE = timedelta(seconds=60)
CAPPED_LOOKAHEAD = 8  # a capped claim looks at this many times `limit` of the oldest due jobs
# A claim's UPDATE … RETURNING: id, queue, payload, attempts, run_at, target, ordering_key.
ClaimStatement = ReturningUpdate[int, str, bytes, int, datetime, str | None, str | None]


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    queue: str
    payload: bytes
    attempts: int
    lease_token: str
    lease_until: datetime
    target: str | None = None
    ordering_key: str | None = None


class Placement(TypedDict, total=False):
    """Where a job stands in its queue: when it may run (default now), the key that keeps
    jobs in order (one at a time per key), and the host it is for."""

    run_at: datetime | None
    ordering_key: str | None
    target: str | None


async def enqueue(db: Database, queue: str, payload: bytes, **placement: Unpack[Placement]) -> int:
    async with db.session() as s:
        return await enqueue_in(s, queue, payload, **placement)


async def enqueue_in(s: AsyncSession, queue: str, payload: bytes, **placement: Unpack[Placement]) -> int:
    """Enqueue inside the caller's transaction, so the job exists iff the caller's write does."""
    now = utcnow()
    job = Job(
        id=new_id(),
        queue=queue,
        payload=payload,
        status="pending",
        attempts=0,
        run_at=placement.get("run_at") or now,
        ordering_key=placement.get("ordering_key"),
        target=placement.get("target"),
        created_at=now,
        updated_at=now,
    )
    s.add(job)
    await s.flush()
    if job.run_at <= now:
        await job_signals.due(s, queue)
    return job.id


async def enqueue_many_in(
    s: AsyncSession, queue: str, payloads: list[bytes], placements: Sequence[Placement] | None = None
) -> list[int]:
    """Several jobs of one queue in the caller's transaction, with one multi-row insert; each
    placed by its `placements` entry (same order), or due now. A fan-out's 10,000 deliveries
    cost one statement, not 10,000 ORM flushes."""
    now = utcnow()
    ids = [new_id() for _ in payloads]
    places: Sequence[Placement] = placements if placements is not None else [{}] * len(payloads)
    if len(places) != len(payloads):
        raise ValueError("one placement per payload")
    run_at = [place.get("run_at") or now for place in places]
    rows = [{"id": i, "queue": queue, "payload": p, "status": "pending", "attempts": 0,
             "run_at": at, "ordering_key": place.get("ordering_key"),
             "target": place.get("target"), "created_at": now, "updated_at": now}
            for i, p, place, at in zip(ids, payloads, places, run_at, strict=True)]
    if rows:
        await (await s.connection()).execute(insert(table_of(Job)), rows)
        if min(run_at) <= now:
            await job_signals.due(s, queue)
    return ids


async def bring_forward(db: Database, queue: str, target: str) -> int:
    """Make every pending job of `queue` for `target` due now (a peer that was away is back)."""
    now = utcnow()
    stmt = (
        update(Job)
        .where(Job.queue == queue, Job.target == target, Job.status == "pending", Job.run_at > now)
        .values(run_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    async with db.session() as s:
        result = await s.execute(stmt)
        if result.rowcount:  # type: ignore[attr-defined]
            await job_signals.due(s, queue)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def earlier_unfinished(db: Database, job_id: int, ordering_key: str) -> bool:
    """Is a job with the same ordering key, enqueued before `job_id`, still to be done?"""
    async with db.reader() as s:
        found = await s.scalar(
            select(Job.id)
            .where(
                Job.ordering_key == ordering_key,
                Job.id < job_id,
                Job.status.in_(("pending", "running")),
            )
            .limit(1)
        )
    return found is not None


async def earlier_unfinished_many(db: Database, asked: list[tuple[int, str]]) -> list[bool]:
    """`earlier_unfinished` for several (job id, ordering key) pairs in one query."""
    async with db.reader() as s:
        first = {key: job_id for job_id, key in (await s.execute(first_unfinished({key for _, key in asked}))).all()}
    return [key in first and first[key] < job_id for job_id, key in asked]


def first_unfinished(keys: Collection[str] | BindParameter[Any]) -> Select[int, str | None]:
    """The oldest job still to be done of each of `keys` that has one, (job id, ordering key)
    a row: a job waits while an older one of its key is listed. (A query, for callers that
    read more in the same statement; `keys` may be an expanding bind parameter.)"""
    return (
        select(func.min(Job.id).label("first_id"), Job.ordering_key)
        .where(Job.ordering_key.in_(keys), Job.status.in_(("pending", "running")))
        .group_by(Job.ordering_key)
    )


async def due_queues(db: Database, queues: Sequence[str]) -> set[str]:
    """Which of `queues` hold a job that a claim would take now: one read (an EXISTS per queue,
    on the claim index), for a worker looking after an idle pause instead of a write
    transaction per queue."""
    if not queues:
        return set()
    async with db.reader() as s:
        row = (await (await s.connection()).execute(_due_check(tuple(queues)), {"now": utcnow()})).one()
    return {q for q, found in zip(queues, row, strict=True) if found}


@lru_cache(maxsize=16)
def _due_check(queues: tuple[str, ...]) -> Select[Any]:
    """Built once per set of queues: an idle node asks this every few seconds, and building
    the statement each time cost twice what running it did (benchmarks/idle.py)."""
    now = bindparam("now", type_=Job.run_at.type)
    return select(*[  # type: ignore[return-value]
        or_(*(exists().where(Job.queue == q, way) for way in _claimable_ways(now))) for q in queues
    ])


def _claimable_ways(now: datetime | BindParameter[datetime]) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The two ways a job is claimable: due and pending, or running with its lease over.
    Asked apart, each is a range of the claim index (queue, status, run_at); asked as one
    OR, both engines' planners walked every job the queue ever had, finished ones included,
    so a claim cost grew with the queue's history (6.7 ms at 50,000 jobs, against 0.03)."""
    return (
        and_(Job.status == "pending", Job.run_at <= now),
        and_(Job.status == "running", Job.lease_until < now),
    )


def _claimable(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    return or_(*_claimable_ways(now))


def _oldest_due(b: _Binds, *, excluding: bool, lock: bool) -> Select[Any]:
    """The `look` oldest claimable jobs of the queue (id, target, run_at), each way of being
    claimable read apart along the claim index and the two merged (see `_claimable_ways`).
    `excluding`: jobs for the targets in `excluded` are left out. `lock` (PostgreSQL): each
    way's rows locked as read, skipping those another worker holds. Either way may lock up to
    `look` rows that the merge then leaves untaken; they stay locked only until the claim
    commits, and another worker skips them meanwhile."""
    ways = []
    for way in _claimable_ways(b.now):
        one = select(Job.id, Job.target, Job.run_at).where(Job.queue == b.queue, way)
        if excluding:
            one = one.where(or_(Job.target.is_(None), Job.target.not_in(b.excluded)))
        one = one.order_by(Job.run_at, Job.id).limit(b.look)
        oldest = (one.with_for_update(skip_locked=True) if lock else one).subquery()
        ways.append(select(oldest.c.id, oldest.c.target, oldest.c.run_at))
    merged = union_all(*ways).subquery("merged")
    return select(merged.c.id, merged.c.target, merged.c.run_at).order_by(merged.c.run_at, merged.c.id).limit(b.look)


async def claim(
    db: Database,
    queue: str,
    *,
    limit: int = 1,
    lease: timedelta = DEFAULT_LEASE,
    exclude_targets: Collection[str] = (),
    per_target: int | None = None,
    in_flight: Mapping[str, int] | None = None,
) -> list[ClaimedJob]:
    """Claim up to `limit` due jobs of `queue`, oldest `run_at` first, each leased for `lease`,
    skipping jobs for `exclude_targets` (peers that already have enough in flight). With
    `per_target`, no target gets more than `per_target` minus its `in_flight` count from this
    claim (jobs without a target are not capped): one claim can fill a whole pool of slots
    without letting one peer take them all."""
    if lease <= timedelta(0):
        raise ValueError("lease must be positive")
    if limit < 1:
        return []
    token = secrets.token_hex(16)
    async with db.session() as s:
        # Open the transaction before reading the clock: on SQLite BEGIN IMMEDIATE may wait
        # for the write lock, and a lease timed from before the wait could already be over.
        await s.connection()
        now = utcnow()
        until = now + lease
        shape, values = _claim_statement(db, queue, limit, now, until, token, exclude_targets, per_target, in_flight)
        rows = (await s.execute(_claim_template(*shape), values)).all()
    ordered = sorted(rows, key=lambda r: (r.run_at, r.id))
    return [ClaimedJob(r.id, r.queue, r.payload, r.attempts, token, until, r.target, r.ordering_key) for r in ordered]


class _Binds(NamedTuple):
    """The claim's values as bound parameters: its statement is built once per shape
    (`_claim_template`) — built afresh, it cost more Python than the claim's work (about 1.7 ms
    a claim on the benchmark). Given values, they render as literals (the cost tests)."""

    queue: BindParameter[str]
    now: BindParameter[datetime]
    until: BindParameter[datetime]
    token: BindParameter[str]
    take: BindParameter[int]
    look: BindParameter[int]
    excluded: BindParameter[Any]
    per_target: BindParameter[int]
    # flying[k - 1]: the targets with k jobs in flight already (a list each), k = 1..levels.
    flying: tuple[BindParameter[Any], ...]


def _binds(values: Mapping[str, Any] | None = None, levels: int = 0) -> _Binds:
    def one(name: str, type_: Any, **kw: Any) -> BindParameter[Any]:
        key = f"claim_{name}"  # not a column's name: an UPDATE reserves those for its SET
        return bindparam(key, values[key], type_=type_, **kw) if values and key in values else bindparam(key, type_=type_, **kw)

    return _Binds(one("queue", Job.queue.type), one("now", Job.run_at.type), one("until", Job.lease_until.type),
                  one("token", Job.lease_token.type), one("take", Integer()), one("look", Integer()),
                  one("excluded", Job.target.type, expanding=True), one("per_target", Integer()),
                  tuple(one(f"flying_{k}", Job.target.type, expanding=True) for k in range(1, levels + 1)))


def _capped(b: _Binds, candidates: Subquery | CTE) -> Select[Any]:
    """The ids among `candidates` (id, target, run_at; already the oldest few) within each
    target's cap (`per_target` less what it has in flight), oldest first, at most `take`."""
    ranked = select(
        candidates.c.id, candidates.c.target, candidates.c.run_at,
        func.row_number().over(partition_by=candidates.c.target, order_by=(candidates.c.run_at, candidates.c.id)).label("rn"),
    ).subquery("ranked")
    levels = [(ranked.c.target.in_(targets), b.per_target - k) for k, targets in enumerate(b.flying, start=1)]
    cap = case(*levels, else_=b.per_target) if levels else b.per_target
    return (select(ranked.c.id).where(or_(ranked.c.target.is_(None), ranked.c.rn <= cap))
            .order_by(ranked.c.run_at, ranked.c.id).limit(b.take))


_Shape = tuple[bool, bool, bool, int]  # lock, excluding, capped, levels of in-flight counts


def _claim_statement(
    db: Database, queue: str, limit: int, now: datetime, until: datetime, token: str,
    exclude_targets: Collection[str] = (), per_target: int | None = None, in_flight: Mapping[str, int] | None = None,
) -> tuple[_Shape, dict[str, Any]]:
    """The claim's shape (what its statement is built from) and the values it binds. The
    targets in flight are bound as lists by how many they have (one to `per_target`, more
    counting as `per_target`), not as a literal per target: a shape per set of counts was a
    statement built for nearly every claim of a fan-out."""
    capped = per_target is not None
    values: dict[str, Any] = {"claim_queue": queue, "claim_now": now, "claim_until": until, "claim_token": token,
                              "claim_take": limit, "claim_look": limit * CAPPED_LOOKAHEAD if capped else limit}
    if exclude_targets:
        values["claim_excluded"] = list(exclude_targets)
    levels = 0
    if per_target is not None:
        values["claim_per_target"] = per_target
        levels = max(per_target, 0) if in_flight else 0
        for k in range(1, levels + 1):
            values[f"claim_flying_{k}"] = []
        for target, n in (in_flight or {}).items():
            if n > 0 and levels:
                values[f"claim_flying_{min(n, levels)}"].append(target)
    return (not db.is_sqlite, bool(exclude_targets), capped, levels), values


@lru_cache(maxsize=64)
def _claim_template(lock: bool, excluding: bool, capped: bool, levels: int) -> ClaimStatement:
    return _claim_shape(_binds(None, levels), lock=lock, excluding=excluding, capped=capped)


def _claim_shape(b: _Binds, *, lock: bool, excluding: bool, capped: bool) -> ClaimStatement:
    """`lock`: PostgreSQL (SQLite's write lock is held for the whole transaction). With
    `capped`, the oldest few due jobs, then each target's cap applied to them with a window
    function (not allowed beside FOR UPDATE, hence two steps)."""
    due = _oldest_due(b, excluding=excluding, lock=lock)
    if not lock:
        # No re-check of claimability in the UPDATE (see `_claim_update`): nothing can have
        # changed, and with one the planner walked every pending job by status instead of
        # looking the picked ids up.
        pool = due.subquery("due")
        picked = _capped(b, pool) if capped else select(pool.c.id)
        return _claim_update(b, update(Job).where(Job.id.in_(picked.scalar_subquery())))
    # A materialised CTE runs the locking SELECT once. As `IN (subquery)` the planner chose a
    # nested-loop semi-join that re-ran it per outer row, each run skipping the rows already
    # updated, so one claim(limit=4) took all 120 due jobs.
    locked = due.cte("locked").prefix_with("MATERIALIZED")
    if capped:
        return _claim_update(b, update(Job).where(Job.id.in_(_capped(b, locked).scalar_subquery()),
                                                  _claimable(b.now)))
    return _claim_update(b, update(Job).where(Job.id == locked.c.id, _claimable(b.now)))


def literal_claim(db: Database, queue: str, limit: int, now: datetime, until: datetime, token: str,
                  exclude_targets: Collection[str] = (), per_target: int | None = None,
                  in_flight: Mapping[str, int] | None = None) -> ClaimStatement:
    """The claim `claim()` runs, built with its values in it: for EXPLAIN and the cost tests."""
    (lock, excluding, capped, levels), values = _claim_statement(db, queue, limit, now, until, token, exclude_targets,
                                                                 per_target, in_flight)
    return _claim_shape(_binds(values, levels), lock=lock, excluding=excluding, capped=capped)


def _claim_update(b: _Binds, stmt: Update) -> ClaimStatement:
    return (
        # On PostgreSQL `stmt` re-checks claimability in the UPDATE itself: under READ
        # COMMITTED a row may have been claimed and committed by another worker after the
        # statement's snapshot was taken.
        stmt.values(
            status="running",
            lease_until=b.until,
            lease_token=b.token,
            attempts=Job.attempts + 1,
            updated_at=b.now,
        )
        .returning(Job.id, Job.queue, Job.payload, Job.attempts, Job.run_at, Job.target, Job.ordering_key)
        .execution_options(synchronize_session=False)
    )


async def _finish(db: Database, job: ClaimedJob, **values: object) -> bool:
    stmt = (
        update(Job)
        .where(Job.id == job.id, Job.lease_token == job.lease_token, Job.status == "running")
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    async with db.session() as s:
        result = await s.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def complete(db: Database, job: ClaimedJob) -> bool:
    """Mark done. False when the lease was lost (another worker holds or finished the job)."""
    return await _finish(db, job, status="done", lease_until=None, lease_token=None)


# What a handler asks to commit with its job's completion: a statement, or a statement built
# once with its parameters (those of one statement run together, as one executemany).
Final = Executable | tuple[Executable, dict[str, Any]]


_COMPLETE = (  # built once: every batch of every worker ends with it
    update(table_of(Job))
    .where(Job.id == bindparam("job_id"), Job.lease_token == bindparam("token"), Job.status == "running")
    .values(status="done", lease_until=None, lease_token=None, updated_at=bindparam("now"))
)


async def complete_many(db: Database, done: list[ClaimedJob], finals: Sequence[Final] = ()) -> list[None]:
    """Mark several jobs done in one transaction (the workers' group commit), after running
    `finals`: the statements their handlers asked to commit with their completion (a job's
    recorded outcome, say). A job whose lease was lost is left to its new holder, as
    `complete` does."""
    now = utcnow()
    async with db.session() as s:
        conn = await s.connection()
        together: dict[int, tuple[Executable, list[dict[str, Any]]]] = {}
        for final in finals:
            if isinstance(final, tuple):
                together.setdefault(id(final[0]), (final[0], []))[1].append(final[1])
            else:
                await conn.execute(final)
        for statement, params in together.values():
            await conn.execute(statement, params)
        if done:
            await conn.execute(_COMPLETE, [{"job_id": j.id, "token": j.lease_token, "now": now} for j in done])
    return [None] * len(done)


async def retry_at(db: Database, job: ClaimedJob, when: datetime, error: str) -> bool:
    return await _finish(
        db, job, status="pending", run_at=when, lease_until=None, lease_token=None,
        last_error=error[:2000],
    )


async def fail(db: Database, job: ClaimedJob, error: str) -> bool:
    """Give up on the job for good, keeping the reason."""
    return await _finish(
        db, job, status="failed", lease_until=None, lease_token=None, last_error=error[:2000]
    )


async def extend(db: Database, job: ClaimedJob, lease: timedelta = DEFAULT_LEASE) -> bool:
    """Keep a long job's lease alive."""
    return await _finish(db, job, lease_until=utcnow() + lease)


async def counts(db: Database, queue: str | None = None) -> dict[str, int]:
    """Jobs by status (for health pages and tests)."""
    stmt = select(Job.status, func.count()).group_by(Job.status)
    if queue is not None:
        stmt = stmt.where(Job.queue == queue)
    async with db.reader() as s:
        return {status: n for status, n in (await s.execute(stmt)).all()}


async def purge_done(db: Database, older_than: timedelta) -> int:
    stmt = delete(Job).where(Job.status == "done", Job.updated_at < utcnow() - older_than)
    async with db.session() as s:
        result = await s.execute(stmt.execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]
