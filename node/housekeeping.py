"""Housekeeping: the tables that grow with time kept to their documented limits
(`[housekeeping]` in atrium.toml, docs/configuration.md; why each limit is what it is:
docs/compliance.md "Housekeeping").

`HousekeepingWorker` is a background loop (node/loops.py): each iteration removes at most
`housekeeping.batch` rows of each table, a set-based `DELETE` on indexed columns
(node/housekeeping_rules.py), and goes on at once while a table had a full batch. Peers'
posts go through `node/post_effects.py` `remove_posts`, as any other removal: counts, home
timelines, notifications, tags and attachments follow (and nothing is federated: they are
not ours). `atrium maintenance prune` counts (`pending`) or applies (`prune_all`) the same rules.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select

from node.context import NodeContext
from node.events import Event
from node.housekeeping_rules import plain_rules, reported_post_ids, unreferenced_remote
from node.housekeeping_settings import HousekeepingLimits
from node.loops import BackgroundLoop
from node.post_effects import publish, remove_posts
from storage.models import Post, utcnow

Clock = Callable[[], datetime]
REMOTE_POSTS = "remote_posts"
EVERY = 3600.0  # seconds between iterations once nothing is left to remove


async def pending(ctx: NodeContext, limits: HousekeepingLimits, now: datetime) -> dict[str, int]:
    """How many rows of each table the rules would remove now (a dry run: nothing changes)."""
    async with ctx.db.reader() as s:
        counts = {rule.table: await rule.count(s) for rule in plain_rules(limits, now)}
        where = unreferenced_remote(limits, now, await reported_post_ids(s))
        if where is not None:
            counts[REMOTE_POSTS] = int(await s.scalar(select(func.count()).select_from(Post).where(where)) or 0)
    return dict(sorted(counts.items()))


class HousekeepingWorker(BackgroundLoop):
    """One iteration: at most `limits.batch` rows of every table removed, each table in a
    transaction of its own. An iteration right after one that filled a batch visits only the
    tables whose batch was full (the others had nothing more). Peers' posts are visited in id
    order from where the last batch stopped, so the posts kept (followed, liked...) are not
    read again on every iteration. A `stop()` during an iteration ends it after the table
    under way."""

    def __init__(self, ctx: NodeContext, limits: HousekeepingLimits, *, now: Clock = utcnow, every: float = EVERY) -> None:
        super().__init__("housekeeping", every)
        self.ctx = ctx
        self.limits = limits
        self.now = now
        self._after_post = 0
        self._full: set[str] | None = None  # the tables whose last batch was full, if any was

    async def run_once(self) -> dict[str, int]:
        now, batch, full = self.now(), self.limits.batch, self._full
        removed: dict[str, int] = {}
        for rule in plain_rules(self.limits, now):
            if self._stop.is_set():  # a stopping process waits for one table's batch at most
                break
            if full is None or rule.table in full:
                async with self.ctx.db.session() as s:
                    removed[rule.table] = await rule.delete_batch(s, batch)
        if (full is None or REMOTE_POSTS in full) and not self._stop.is_set():
            removed[REMOTE_POSTS] = await self._remote_posts(now, batch)
        self._full = {table for table, n in removed.items() if n >= batch} or None
        return removed

    async def _remote_posts(self, now: datetime, batch: int) -> int:
        events: list[Event] = []
        async with self.ctx.db.session() as s:
            where = unreferenced_remote(self.limits, now, await reported_post_ids(s))
            if where is None:
                return 0
            # Several worker processes may prune at once: each takes posts no other has locked.
            posts = list((await s.scalars(
                select(Post).where(where, Post.id > self._after_post).order_by(Post.id).limit(batch)
                .with_for_update(skip_locked=True, of=Post)
            )).unique())
            if posts:
                events = await remove_posts(self.ctx, s, posts)
        # A short batch reached the end: the next one starts again from the oldest.
        self._after_post = posts[-1].id if len(posts) == batch else 0
        publish(self.ctx, events)
        return len(posts)

    def _pause_after(self, outcome: object) -> float:
        full = isinstance(outcome, dict) and any(n >= self.limits.batch for n in outcome.values())
        return 0.0 if full else self.every


async def prune_all(ctx: NodeContext, limits: HousekeepingLimits, now: datetime) -> dict[str, int]:
    """Every rule applied until nothing it names is left (`atrium maintenance prune`)."""
    worker = HousekeepingWorker(ctx, limits, now=lambda: now)
    total: dict[str, int] = {}
    while True:
        removed = await worker.run_once()
        for table, n in removed.items():
            total[table] = total.get(table, 0) + n
        if worker._pause_after(removed) > 0:
            return dict(sorted(total.items()))
