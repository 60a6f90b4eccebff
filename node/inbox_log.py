"""Accepted inbound activities, written in batches: the dedupe row in the inbox log, the
`accepted` audit entry and the `inbox` job of every activity in one transaction (group
commit, node.group_commit), so a 202 costs a share of a transaction rather than a whole one.

Dedupe is on (actor origin, activity id), within the batch and against the log. Two processes
racing the same activity into the log (PostgreSQL, several web processes) hit its unique
constraint: that batch is then written again one activity per transaction, and the loser of
the race is a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from node import audit
from node.queues import INBOX, InboxJob
from storage import jobs
from storage.db import Database
from storage.ids import new_id
from storage.models import InboxEntry, table_of, utcnow

QUEUED, DUPLICATE = "queued", "duplicate"


@dataclass(frozen=True)
class Accepted:
    origin: str
    activity_id: str
    type: str
    actor: str
    raw: dict[str, object]
    peer: str  # the actor's domain, for the audit trail
    rule: str
    reason: str

    @property
    def key(self) -> tuple[str, str]:
        return self.origin, self.activity_id[:2048]


async def write(db: Database, batch: list[Accepted]) -> list[str]:
    """Queue every new activity of `batch`; QUEUED or DUPLICATE for each, in order."""
    try:
        return await _write(db, batch)
    except IntegrityError:
        if len(batch) == 1:
            return [DUPLICATE]  # another process logged it between our check and our insert
        return [(await write(db, [one]))[0] for one in batch]


# Which of a group's activities are logged already: built once, in Core (the ORM's execution
# path cost more than the read, on every group of accepted requests).
_LOGGED = select(InboxEntry.origin, InboxEntry.activity_id).where(
    InboxEntry.origin.in_(bindparam("origins", expanding=True)),
    InboxEntry.activity_id.in_(bindparam("ids", expanding=True)),
)


async def _write(db: Database, batch: list[Accepted]) -> list[str]:
    outcomes: list[str] = []
    fresh: list[Accepted] = []
    async with db.session() as s:
        seen: set[tuple[str, str]] = {(row.origin, row.activity_id) for row in await (await s.connection()).execute(
            _LOGGED, {"origins": sorted({a.origin for a in batch}), "ids": sorted({a.key[1] for a in batch})})}
        for a in batch:
            if a.key in seen:
                outcomes.append(DUPLICATE)
                continue
            seen.add(a.key)
            outcomes.append(QUEUED)
            fresh.append(a)
        if not fresh:
            return outcomes
        now = utcnow()
        await (await s.connection()).execute(insert(table_of(InboxEntry)), [
            {"id": new_id(), "origin": a.origin, "activity_id": a.key[1], "type": a.type[:64], "actor_uri": a.actor,
             "outcome": "queued", "received_at": now} for a in fresh])
        await audit.record_many(s, [audit.Decision("in", a.peer, a.activity_id, "accepted", a.rule, a.reason)
                                    for a in fresh])
        await jobs.enqueue_many_in(s, INBOX, [InboxJob(a.actor, a.raw).to_json() for a in fresh])
    return outcomes
