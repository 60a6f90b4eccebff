"""The retention worker: removes the posts the policy's `[retention]` rules say have expired
(node/retention_rules.py), a bounded batch per iteration, through the normal removal
(node/post_effects.py `remove_posts`): this node's own posts leave every timeline here and
their `Delete` goes to the peers that have copies; copies of peers' posts are removed here
only. Posts of accounts under legal hold (node/holds.py) are skipped, whatever their age.

Each rule is one query on the `ix_posts_retention` index (visibility, local, created_at),
oldest first. Boosts go with the post they boost; a boost row of its own is not aged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, select

from node import post_effects
from node.audience import Audience
from node.context import NodeContext
from node.holds import is_held
from node.loops import BackgroundLoop
from node.retention_rules import Retention, RetentionRule
from storage.models import LegalHold, Post

BATCH = 200  # posts removed per iteration, across every rule: one bounded transaction
EVERY = 600.0  # seconds between iterations once nothing is left to remove


@dataclass(frozen=True)
class Expiry:
    """When a post expires, and by which rule; None rule: kept forever."""

    rule: RetentionRule | None
    expires_at: datetime | None
    held: bool


async def expiry(ctx: NodeContext, post: Post) -> Expiry:
    """The retention that applies to `post` under the policy in force: its rule, when it
    expires, and whether a hold keeps it past that (`atrium policy explain`, the admin's view)."""
    rule = ctx.policy().retention.rule_for(local=post.local, visibility=post.visibility)
    async with ctx.db.reader() as s:
        held = await is_held(s, post.account_id)
    return Expiry(rule, rule.expires(post.created_at) if rule is not None else None, held)


def describe(e: Expiry, now: datetime) -> str:
    """An expiry in one line, as people read it."""
    if e.rule is None or e.expires_at is None:
        return "kept forever: no retention rule applies"
    when = e.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    verb = "expired" if e.expires_at <= now else "expires"
    line = f"kept {e.rule.days} days by {e.rule.key}: {verb} {when}"
    return line + ("; kept while its account is under legal hold" if e.held else "")


def _now() -> datetime:
    return datetime.now(UTC)


async def remove_expired(ctx: NodeContext, *, now: datetime, limit: int = BATCH) -> int:
    """Remove up to `limit` expired posts; how many were removed."""
    removed = 0
    for rule, local, audience in _walk(ctx.policy().retention):
        if removed >= limit:
            break
        async with ctx.db.session() as s:
            query = expired(audience, local=local, before=now - timedelta(days=rule.days), limit=limit - removed)
            rows = list((await s.scalars(query)).unique())
            events = await post_effects.remove_posts(ctx, s, rows)
        post_effects.publish(ctx, events)
        removed += len(rows)
    return removed


def expired(audience: Audience, *, local: bool, before: datetime, limit: int) -> Select[Post]:
    """The oldest posts of one audience and origin posted before `before`, held accounts'
    left out: one range of the `ix_posts_retention` index, in its order (no sort). Locked as
    read, skipping rows another process's worker has locked (PostgreSQL; SQLite's writers
    take turns): two workers never remove one post twice."""
    held = select(LegalHold.account_id).where(LegalHold.released_at.is_(None))
    return select(Post).where(
        Post.visibility == audience.value,
        Post.local == local,
        Post.created_at < before,
        Post.reblog_of_id.is_(None),
        Post.account_id.not_in(held),
    ).order_by(Post.created_at).limit(limit).with_for_update(skip_locked=True, of=Post)


def _walk(retention: Retention) -> list[tuple[RetentionRule, bool, Audience]]:
    """Each rule as (rule, local, audience) triples, one indexed query each."""
    return [(rule, local, audience)
            for rule, origin, audiences in retention.rules()
            for local in ((True, False) if origin is None else (origin,))
            for audience in audiences]


class RetentionWorker(BackgroundLoop):
    """`remove_expired` as a background loop: at once again while a full batch was removed,
    else every `every` seconds. `now` is the clock (a test moves it)."""

    def __init__(self, ctx: NodeContext, *, every: float = EVERY, batch: int = BATCH,
                 now: Callable[[], datetime] = _now) -> None:
        super().__init__("retention", every)
        self.ctx, self.batch, self.now = ctx, batch, now

    async def run_once(self) -> int:
        return await remove_expired(self.ctx, now=self.now(), limit=self.batch)

    def _pause_after(self, outcome: object) -> float:
        return 0.0 if outcome == self.batch else self.every
