"""Markers: a client's read position in `home` and `notifications`, shared by every client
of the account (Mastodon's optimistic `version` grows on each save)."""

from __future__ import annotations

from sqlalchemy import select, update

from node.context import NodeContext
from storage.db import insert_ignoring_conflicts
from storage.errors import Invalid
from storage.models import Marker, utcnow

TIMELINES = ("home", "notifications")


async def markers(ctx: NodeContext, account_id: int, timelines: tuple[str, ...] = TIMELINES) -> list[Marker]:
    wanted = [t for t in timelines if t in TIMELINES]
    if not wanted:
        return []
    async with ctx.db.reader() as s:
        found = await s.scalars(
            select(Marker).where(Marker.account_id == account_id, Marker.timeline.in_(wanted))
        )
        return list(found.all())


async def save(ctx: NodeContext, account_id: int, positions: dict[str, int]) -> list[Marker]:
    """Set read positions; each saved marker's version grows by one."""
    for timeline in positions:
        if timeline not in TIMELINES:
            raise Invalid(f"unknown timeline {timeline!r}: one of {', '.join(TIMELINES)}")
    async with ctx.db.session() as s:
        out: list[Marker | None] = []
        for timeline, last_read_id in positions.items():
            now = utcnow()
            # Two clients saving a first marker at once: one inserts, the other updates.
            created = await s.execute(
                insert_ignoring_conflicts(s, Marker).values(
                    account_id=account_id, timeline=timeline, last_read_id=last_read_id, version=0, updated_at=now
                )
            )
            if not created.rowcount:  # type: ignore[attr-defined]
                await s.execute(
                    update(Marker)
                    .where(Marker.account_id == account_id, Marker.timeline == timeline)
                    .values(last_read_id=last_read_id, version=Marker.version + 1, updated_at=now)
                )
            out.append(await s.scalar(
                select(Marker).where(Marker.account_id == account_id, Marker.timeline == timeline)
                .execution_options(populate_existing=True)
            ))
        return [m for m in out if m is not None]
