"""The poll closer: ends polls whose time is up. A local poll gets its final counts recounted
and its last `Update(Question)` (with `closed`) sent at once; a peer's poll is marked ended
here (its author's node sends the final counts). Either way this node's voters, and a local
author, get Mastodon's `poll` notification, once: `closed_at` is set in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select

from node.context import NodeContext
from node.loops import BackgroundLoop
from node.poll_inbox import tell_closed
from node.poll_rows import recount
from node.poll_wire import schedule_update
from storage.models import Poll, Post, utcnow

BATCH = 100  # polls closed per iteration: one bounded transaction
EVERY = 15.0  # seconds between looks once nothing is due: a poll ends within that of its time


def _now() -> datetime:
    return datetime.now(UTC)


async def close_due(ctx: NodeContext, *, now: datetime, limit: int = BATCH) -> int:
    """Close the polls due by `now`, oldest first; how many were closed."""
    async with ctx.db.session() as s:
        due = list(await s.scalars(
            select(Poll).where(Poll.closed_at.is_(None), Poll.expires_at.is_not(None), Poll.expires_at <= now)
            .order_by(Poll.expires_at).limit(limit).with_for_update(skip_locked=True)
        ))
        for poll in due:
            post = await s.get(Post, poll.post_id)
            if post is None:
                continue
            poll.closed_at = now
            if post.local:
                await recount(s, poll)
                # Due now by the wall clock (`now` may be a test's clock, moved on).
                await schedule_update(s, poll, utcnow(), at_once=True)
            await tell_closed(s, post)
    return len(due)


class PollCloser(BackgroundLoop):
    """`close_due` as a background loop: at once again after a full batch, else every `every`
    seconds. `now` is the clock (a test moves it)."""

    def __init__(self, ctx: NodeContext, *, every: float = EVERY, batch: int = BATCH,
                 now: Callable[[], datetime] = _now) -> None:
        super().__init__("poll closer", every)
        self.ctx, self.batch, self.now = ctx, batch, now

    async def run_once(self) -> int:
        return await close_due(self.ctx, now=self.now(), limit=self.batch)

    def _pause_after(self, outcome: object) -> float:
        return 0.0 if outcome == self.batch else self.every
