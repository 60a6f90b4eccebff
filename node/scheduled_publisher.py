"""The publisher of scheduled posts: a background loop that posts each one when it is due,
through node/posts.py `post_as` (the one way a person posts: allowance, effects, federation).

Exactly once, whatever runs it: a due row is claimed by a conditional UPDATE that sets a lease
(`claimed_until`), under `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite has one writer), so
of two worker processes one takes it; the post is made with the idempotency key
`scheduled:<id>`, so a publisher that crashed after posting and before deleting the row makes
no second post when the lease runs out and the row is claimed again.

A post that cannot be made — its reply target deleted or no longer visible, its author
disabled or deleted, its text refused — is KEPT with `failed_at` and the reason (`failure`),
never due again, its uploads reserved again: its author sees why on the Scheduled posts page
and may re-time or cancel it. A refusal that may pass (the posting allowance, a database away) is tried again later.

It sleeps until the next due time (at most `FALLBACK_POLL`), and a post scheduled or re-timed
in this process wakes it (node/scheduled.py `on_change`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from node import posts, scheduled
from node.context import NodeContext
from node.loops import BackgroundLoop, first_line
from node.media import ids_of
from storage.errors import AtriumError
from storage.models import Account, MediaAttachment, ScheduledMedia, ScheduledStatus, utcnow

log = logging.getLogger(__name__)

FALLBACK_POLL = 60.0  # seconds: the longest it sleeps (a post scheduled by another process)
LEASE = timedelta(minutes=2)  # how long a claim holds before another publisher may take the row
RETRY = timedelta(minutes=1)  # a refusal that may pass is tried again after this
BATCH = 50


def idempotency_key(scheduled_id: int) -> str:
    return f"scheduled:{scheduled_id}"


class ScheduledPublisher(BackgroundLoop):
    """`run_once()` publishes what is due by `clock()` and returns how many it posted."""

    def __init__(self, ctx: NodeContext, *, clock: Callable[[], datetime] = utcnow,
                 fallback: float = FALLBACK_POLL) -> None:
        super().__init__("scheduled posts", fallback)
        self.ctx = ctx
        self.clock = clock
        self.next_due: datetime | None = None
        self._unsubscribe: Callable[[], None] | None = None

    async def _begin(self) -> None:
        self._unsubscribe = scheduled.on_change(self.wake)

    async def _finish(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _pause_after(self, outcome: object) -> float:
        if self.next_due is None:
            return self.every
        wait = (self.next_due - self.clock()).total_seconds()
        return min(self.every, max(wait, 0.05))

    def _due(self, now: datetime) -> tuple[ColumnElement[bool], ...]:
        return (
            ScheduledStatus.scheduled_at <= now,
            ScheduledStatus.failed_at.is_(None),
            or_(ScheduledStatus.claimed_until.is_(None), ScheduledStatus.claimed_until < now),
        )

    async def _claim(self, now: datetime) -> list[int]:
        """Take up to BATCH due rows for this publisher (a lease each), in one transaction."""
        async with self.ctx.db.session() as s:
            ids = list(await s.scalars(
                select(ScheduledStatus.id).where(*self._due(now)).order_by(ScheduledStatus.scheduled_at)
                .limit(BATCH).with_for_update(skip_locked=True)
            ))
            claimed = []
            for scheduled_id in ids:
                taken = await s.execute(
                    update(ScheduledStatus).where(ScheduledStatus.id == scheduled_id, *self._due(now))
                    .values(claimed_until=now + LEASE, attempts=ScheduledStatus.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(scheduled_id)
            return claimed

    async def _next(self, now: datetime) -> datetime | None:
        async with self.ctx.db.reader() as s:
            return await s.scalar(
                select(ScheduledStatus.scheduled_at).where(ScheduledStatus.failed_at.is_(None))
                .order_by(ScheduledStatus.scheduled_at).limit(1)
            )

    async def run_once(self) -> int:
        now = self.clock()
        published = 0
        for scheduled_id in await self._claim(now):
            published += await self._publish(scheduled_id, now)
        self.next_due = await self._next(now)
        return published

    async def _publish(self, scheduled_id: int, now: datetime) -> int:
        async with self.ctx.db.reader() as s:
            row = await s.get(ScheduledStatus, scheduled_id)
            author = None if row is None else await s.get(Account, row.account_id)
        if row is None or author is None:
            return 0  # cancelled between the claim and now
        try:
            async with self.ctx.db.session() as s:  # the reservation ends: the post may attach its uploads
                await s.execute(delete(ScheduledMedia).where(ScheduledMedia.scheduled_id == scheduled_id))
            await posts.post_as(self.ctx, author, scheduled.post_of(row), idempotency_key(scheduled_id))
        except AtriumError as exc:
            await self._failed(scheduled_id, exc, now)
            return 0
        async with self.ctx.db.session() as s:
            await s.execute(delete(ScheduledStatus).where(ScheduledStatus.id == scheduled_id))
        return 1

    async def _failed(self, scheduled_id: int, exc: AtriumError, now: datetime) -> None:
        reason = first_line(exc)
        async with self.ctx.db.session() as s:
            if exc.status == 429 or exc.status >= 500:
                log.warning("scheduled post %d: not posted yet (%s); trying again", scheduled_id, reason)
                values: dict[str, object] = {"claimed_until": now + RETRY}
            else:
                log.info("scheduled post %d cannot be posted: %s", scheduled_id, reason)
                values = {"failed_at": now, "failure": reason, "claimed_until": None}
            await s.execute(update(ScheduledStatus).where(ScheduledStatus.id == scheduled_id).values(**values))
            await self._reserve_again(s, scheduled_id)

    async def _reserve_again(self, s: AsyncSession, scheduled_id: int) -> None:
        """A kept post's uploads are reserved again (those no post took meanwhile)."""
        row = await s.get(ScheduledStatus, scheduled_id)
        wanted = ids_of(row.media_ids) if row is not None else []
        if not wanted:
            return
        free = await s.scalars(select(MediaAttachment.id).where(
            MediaAttachment.id.in_(wanted), MediaAttachment.post_id.is_(None),
            MediaAttachment.id.not_in(select(ScheduledMedia.media_id)),
        ))
        for media_id in free:
            s.add(ScheduledMedia(media_id=media_id, scheduled_id=scheduled_id))
