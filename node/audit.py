"""The audit trail: every decision at the boundary, hash-chained so it can be proven later.

`record` appends inside the caller's transaction (the decision and its record commit
together). Appends take a lock on the chain's head row, so concurrent writers (several
processes on PostgreSQL) never fork the chain. `verify` recomputes every link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import AuditEntry, AuditHead, table_of, utcnow

GENESIS = "0" * 64
DIRECTIONS = ("out", "in", "admin")
DECISIONS = ("delivered", "refused", "dropped", "rewritten", "accepted")


def _digest(prev_hash: str, entry_id: int, at: datetime, direction: str, peer: str, obj: str, decision: str, rule: str, reason: str) -> str:
    body = json.dumps(
        [entry_id, at.isoformat(timespec="microseconds"), direction, peer, obj, decision, rule, reason],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


async def record(
    s: AsyncSession, *, direction: str, peer: str, obj: str, decision: str, rule: str, reason: str = ""
) -> AuditEntry:
    assert direction in DIRECTIONS and decision in DECISIONS
    last_id, last_hash, found = await _lock_head(s)
    at = utcnow()
    entry_id = last_id + 1
    peer, obj, rule, reason = peer[:255], obj[:2048], rule[:512], reason[:2000]
    digest = _digest(last_hash, entry_id, at, direction, peer, obj, decision, rule, reason)
    entry = AuditEntry(id=entry_id, at=at, direction=direction, peer=peer, object=obj, decision=decision,
                       rule=rule, reason=reason, prev_hash=last_hash, hash=digest)
    s.add(entry)
    await s.flush()
    await _move_head(s, found, entry_id, digest)
    return entry


# The chain's head, read (locked) and moved with statements built once, in Core: the ORM's
# identity map and flush cost more than the statements on the hot paths (every accepted
# activity and every delivery appends), and no caller needs the head as an object.
_HEAD_TABLE = table_of(AuditHead)
_LOCK_HEAD = select(_HEAD_TABLE.c.last_id, _HEAD_TABLE.c.last_hash).where(_HEAD_TABLE.c.id == 1).with_for_update()
_MOVE_HEAD = (update(_HEAD_TABLE).where(_HEAD_TABLE.c.id == 1)
              .values(last_id=bindparam("to_id"), last_hash=bindparam("to_hash")))


async def _lock_head(s: AsyncSession) -> tuple[int, str, bool]:
    """The head's (last id, last hash), locked until the caller's transaction ends; and whether
    the row exists (a database migrated before it did starts the chain at GENESIS)."""
    row = (await (await s.connection()).execute(_LOCK_HEAD)).first()
    return (int(row.last_id), str(row.last_hash), True) if row is not None else (0, GENESIS, False)


async def _move_head(s: AsyncSession, found: bool, last_id: int, last_hash: str) -> None:
    conn = await s.connection()
    if found:
        await conn.execute(_MOVE_HEAD, {"to_id": last_id, "to_hash": last_hash})
    else:
        await conn.execute(insert(_HEAD_TABLE).values(id=1, last_id=last_id, last_hash=last_hash))


@dataclass(frozen=True)
class Decision:
    """One entry to append, for `record_many`."""

    direction: str
    peer: str
    obj: str
    decision: str
    rule: str
    reason: str = ""


async def record_many(s: AsyncSession, decisions: list[Decision]) -> None:
    """Append several entries in the caller's transaction under one lock of the head, with one
    multi-row insert: the same chain `record` makes one by one, for batched writers."""
    if not decisions:
        return
    last_id, last_hash, found = await _lock_head(s)
    rows = []
    for d in decisions:
        assert d.direction in DIRECTIONS and d.decision in DECISIONS
        at = utcnow()
        last_id += 1
        peer, obj, rule, reason = d.peer[:255], d.obj[:2048], d.rule[:512], d.reason[:2000]
        digest = _digest(last_hash, last_id, at, d.direction, peer, obj, d.decision, rule, reason)
        rows.append({"id": last_id, "at": at, "direction": d.direction, "peer": peer, "object": obj,
                     "decision": d.decision, "rule": rule, "reason": reason, "prev_hash": last_hash, "hash": digest})
        last_hash = digest
    # Core, not the ORM's bulk insert: nothing here needs the identity map, and it is half the cost.
    await (await s.connection()).execute(insert(table_of(AuditEntry)), rows)
    await _move_head(s, found, last_id, last_hash)


async def append_many(db: Database, decisions: list[Decision]) -> list[None]:
    """`record_many` in a transaction of its own (a group commit's batch writer)."""
    async with db.session() as s:
        await record_many(s, decisions)
    return [None] * len(decisions)


async def record_now(db: Database, **fields: str) -> None:
    async with db.session() as s:
        await record(s, **fields)


def as_dict(e: AuditEntry) -> dict[str, object]:
    return {
        "id": e.id,
        "time": e.at.isoformat(timespec="microseconds"),
        "direction": e.direction,
        "peer": e.peer,
        "object": e.object,
        "decision": e.decision,
        "rule": e.rule,
        "reason": e.reason,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


async def entries(
    db: Database, *, since: datetime | None = None, peer: str | None = None, decision: str | None = None, batch: int = 1000
) -> AsyncIterator[AuditEntry]:
    """Entries oldest first, streamed in batches (an export may be millions long)."""
    after = 0
    while True:
        stmt = select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(batch)
        if since is not None:
            stmt = stmt.where(AuditEntry.at >= since)
        if peer is not None:
            stmt = stmt.where(AuditEntry.peer == peer)
        if decision is not None:
            stmt = stmt.where(AuditEntry.decision == decision)
        async with db.reader() as s:
            rows = list(await s.scalars(stmt))
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = rows[-1].id


async def recent(
    db: Database, *, limit: int = 50, before: int | None = None, direction: str | None = None,
    decision: str | None = None, peer: str | None = None, since: datetime | None = None,
) -> list[AuditEntry]:
    """The newest entries first (the admin pages' decision log), optionally filtered."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(AuditEntry.id < before)
    if direction:
        stmt = stmt.where(AuditEntry.direction == direction)
    if decision:
        stmt = stmt.where(AuditEntry.decision == decision)
    if peer:
        stmt = stmt.where(AuditEntry.peer == peer)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    async with db.reader() as s:
        return list(await s.scalars(stmt))


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str = ""
    anchored_at: int | None = None  # the entry whose hash is the anchor checked, if one was given


@dataclass(frozen=True)
class Anchor:
    """The chain's head: its newest entry's number, hash and time. Kept somewhere the node's
    operators cannot write (a ticket, an email, another system), it later shows whether the
    trail up to it is still the one that was (`verify(anchor=...)`)."""

    entry: int
    hash: str
    at: datetime | None


async def anchor(db: Database) -> Anchor:
    async with db.reader() as s:
        head = await s.get(AuditHead, 1)
        if head is None or head.last_id == 0:
            return Anchor(0, GENESIS, None)
        at = await s.scalar(select(AuditEntry.at).where(AuditEntry.id == head.last_id))
    return Anchor(head.last_id, head.last_hash, at)


async def verify(db: Database, *, anchor: str | None = None) -> ChainCheck:
    """Recompute every link. The oldest kept entry's prev_hash is trusted as the start (older
    entries may have been removed by retention); everything after must chain exactly.

    With an `anchor` (a head hash printed earlier by `atrium audit anchor`), the chain must
    also hold it: an entry whose recomputed hash it is (or, when retention removed that entry,
    the kept chain's first link). A database rewritten whole — every hash recomputed around a
    changed entry — chains perfectly, but no longer holds the anchor."""
    prev: str | None = None
    first: AuditEntry | None = None
    last_id: int | None = None
    anchored_at: int | None = None
    n = 0
    async for e in entries(db):
        if prev is not None and e.prev_hash != prev:
            return ChainCheck(False, n, e.id, "prev_hash does not match the previous entry")
        if last_id is not None and e.id != last_id + 1:
            return ChainCheck(False, n, e.id, f"entry {last_id + 1} is missing")
        expected = _digest(e.prev_hash, e.id, e.at, e.direction, e.peer, e.object, e.decision, e.rule, e.reason)
        if expected != e.hash:
            return ChainCheck(False, n, e.id, "the entry was altered (hash mismatch)")
        if first is None:
            first = e
        if anchor is not None and e.hash == anchor:
            anchored_at = e.id
        prev, last_id, n = e.hash, e.id, n + 1
    async with db.reader() as s:
        head = await s.get(AuditHead, 1)
    if head is not None and prev is not None and head.last_hash != prev:
        return ChainCheck(False, n, last_id, "the newest entries were removed (head mismatch)")
    if anchor is None:
        return ChainCheck(True, n)
    if anchored_at is None and first is not None and first.prev_hash == anchor:
        anchored_at = first.id - 1  # the anchored entry was removed by retention; its hash still links
    if anchored_at is None and first is None and head is not None and head.last_hash == anchor:
        anchored_at = head.last_id
    if anchored_at is None:
        kept = f" (or retention removed it: the oldest entry kept is {first.id})" if first is not None and first.id > 1 else ""
        return ChainCheck(False, n, None, f"no entry has the anchored hash {anchor}: the trail was rewritten{kept}")
    return ChainCheck(True, n, anchored_at=anchored_at)


async def purge_older_than(db: Database, days: int) -> int:
    """Retention: drop entries older than `days` (the chain stays verifiable from what is kept:
    the oldest kept entry's prev_hash is its start). The newest entry always stays, so the
    head an anchor names keeps its number and time."""
    async with db.session() as s:
        newest = select(AuditHead.last_id).where(AuditHead.id == 1).scalar_subquery()
        result = await s.execute(delete(AuditEntry).where(
            AuditEntry.at < utcnow() - timedelta(days=days), AuditEntry.id < newest))
    return int(result.rowcount)  # type: ignore[attr-defined]
