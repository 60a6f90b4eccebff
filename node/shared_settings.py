"""Settings every process of one node must agree on, kept in the database (`node_settings`).

A node may run as several processes on several machines (`atrium serve --role web|worker`)
sharing one database. What they must agree on — the trust policy in force, the node's
identity — lives here rather than in each machine's files. Each value carries a version that
grows on every change, so a process notices a change with one cheap query. Every change is
recorded in the audit trail.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from node import audit
from storage.db import Database, insert_ignoring_conflicts
from storage.errors import Conflict
from storage.models import NodeSetting, utcnow

POLICY = "policy"  # the trust policy in force: the text of a policy.toml
IDENTITY = "identity"  # "scheme://domain" of the node: every process must serve the same one
NAME = "name"  # the node's display name ("Acme Engineering"), node/node_names.py


@dataclass(frozen=True)
class Shared:
    key: str
    value: str
    version: int
    updated_at: datetime


async def read(db: Database, key: str) -> Shared | None:
    async with db.reader() as s:
        row = await s.get(NodeSetting, key)
        if row is None or row.version < 1:
            return None
        return Shared(row.key, row.value, row.version, row.updated_at)


async def version(db: Database, key: str) -> int:
    """The value's version, 0 when it was never set: the cheap question a process polls."""
    async with db.reader() as s:
        found = await s.scalar(select(NodeSetting.version).where(NodeSetting.key == key))
    return int(found or 0)


async def publish(
    db: Database, key: str, value: str, *, source: str, based_on: str | None = None
) -> tuple[Shared, bool]:
    """Make `value` the one every process uses; (the setting now, whether it changed).

    Writing the same value again changes nothing (two processes that both saw the same edit of
    a shared file publish it once). The row is locked while compared, so concurrent publishers
    serialise and versions never repeat. `based_on`, the `digest` of the value the change was
    made from, refuses it (`ChangedMeanwhile`) when the value is another one by now."""
    async with db.session() as s:
        return await publish_in(s, key, value, source=source, based_on=based_on)


def digest(value: str) -> str:
    """The SHA-256 of a value's text, in hex: what an editor says it started from."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


class ChangedMeanwhile(Conflict):
    """The value changed since the editor read it; `now` is the value in force now."""

    def __init__(self, key: str, now: Shared | None) -> None:
        version = f" (version {now.version})" if now is not None else ""
        super().__init__(f"the {key} in force changed{version} since you started editing; nothing was saved")
        self.now = now


async def publish_in(
    s: AsyncSession, key: str, value: str, *, source: str, based_on: str | None = None
) -> tuple[Shared, bool]:
    """`publish` inside the caller's transaction: what else the change causes (a fan-out job)
    commits with it or not at all."""
    now = utcnow()
    await s.execute(
        insert_ignoring_conflicts(s, NodeSetting).values(key=key, value="", version=0, updated_at=now)
    )
    row = await s.get(NodeSetting, key, with_for_update=True, populate_existing=True)
    assert row is not None
    before = row.value if row.version > 0 else None
    if based_on is not None and digest(before or "") != based_on:
        raise ChangedMeanwhile(key, Shared(row.key, row.value, row.version, row.updated_at) if before is not None else None)
    if before == value:
        return Shared(row.key, row.value, row.version, row.updated_at), False
    row.value, row.version, row.updated_at = value, row.version + 1, now
    was = f", was sha256 {digest(before)[:16]}…" if before is not None else ""
    await audit.record(
        s, direction="admin", peer="", obj=f"node_settings/{key}", decision="accepted", rule=key,
        reason=f"{key} version {row.version} (sha256 {digest(value)[:16]}…{was}) from {source}",
    )
    return Shared(row.key, row.value, row.version, row.updated_at), True
