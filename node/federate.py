"""The hand-off from a local change to federation: a `fanout` job queued in the change's own
transaction, so the change is federated if and only if it is committed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from node.queues import FANOUT, FanoutJob
from storage import jobs

__all__ = ["FANOUT", "queue_fanout"]


async def queue_fanout(s: AsyncSession, job: FanoutJob) -> None:
    await jobs.enqueue_in(s, FANOUT, job.to_json())
