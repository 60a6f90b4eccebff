"""The hand-off from a local change to federation: a `fanout` job queued in the change's own
transaction, so the change is federated if and only if it is committed."""

from __future__ import annotations

import json

from sqlalchemy.ext.asyncio import AsyncSession

from storage import jobs

FANOUT = "fanout"


async def queue_fanout(s: AsyncSession, kind: str, **fields: object) -> None:
    await jobs.enqueue_in(s, FANOUT, json.dumps({"kind": kind, **fields}).encode())
