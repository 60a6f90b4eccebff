"""What housekeeping removes, table by table: each rule a predicate on indexed columns, so a
batch is one set-based `DELETE` (node/housekeeping.py runs them; `atrium maintenance prune`
counts and applies them).

A peer's post goes only when nobody here has a reason to keep it (`unreferenced_remote`);
everything else is a plain age or expiry: the inbox log, tombstones, expired sessions and
authorization codes, void tokens, idempotency keys past their hour, read notifications and
jobs that failed for good.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, false, func, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from node.housekeeping_settings import HousekeepingLimits
from node.idempotency import KEY_LIFETIME
from storage.ids import id_floor, parse_id
from storage.models import (
    Account,
    Bookmark,
    Follow,
    IdempotencyKey,
    InboxEntry,
    Job,
    Like,
    Mention,
    Notification,
    OAuthCode,
    OAuthToken,
    Post,
    Report,
    Tombstone,
    WebSession,
)


def id_before(moment: datetime) -> int:
    """The smallest id made at `moment`: rows with a smaller id (ids are time-ordered,
    storage/ids.py) were made before it, read off the primary key."""
    return id_floor(int(moment.timestamp() * 1000))


@dataclass(frozen=True)
class Rule:
    """One table's rule: the rows of `model` matching `where` go, oldest by `order` (an indexed
    column) first."""

    table: str
    model: Any
    order: Any
    where: ColumnElement[bool]

    async def count(self, s: AsyncSession) -> int:
        return int(await s.scalar(select(func.count()).select_from(self.model).where(self.where)) or 0)

    async def delete_batch(self, s: AsyncSession, limit: int) -> int:
        """About `limit` of the oldest matching rows removed in one range `DELETE`: the
        `limit`-th one's `order` read off its index first (rows tied with it on a time go too)."""
        boundary = await s.scalar(select(self.order).where(self.where).order_by(self.order).offset(limit - 1).limit(1))
        stmt = delete(self.model).where(self.where)
        if boundary is not None:
            stmt = stmt.where(self.order <= boundary)
        result = await s.execute(stmt.execution_options(synchronize_session=False))
        return int(result.rowcount)  # type: ignore[attr-defined]


def _days(days: int, now: datetime) -> datetime | None:
    return now - timedelta(days=days) if days > 0 else None


def plain_rules(limits: HousekeepingLimits, now: datetime) -> list[Rule]:
    """The rules by age or expiry (a limit of 0 days leaves its table alone)."""
    rules = [
        Rule("web_sessions", WebSession, WebSession.expires_at, WebSession.expires_at <= now),
        Rule("oauth_codes", OAuthCode, OAuthCode.expires_at, OAuthCode.expires_at <= now),
        # Void for good: revoked, or issued before the account's credentials changed (a
        # password change or a disable moves `credentials_version` on; it never comes back).
        Rule("oauth_tokens", OAuthToken, OAuthToken.id, or_(
            OAuthToken.revoked == true(),
            and_(OAuthToken.account_id.is_not(None), OAuthToken.credentials_version != select(Account.credentials_version)
                 .where(Account.id == OAuthToken.account_id).scalar_subquery()),
        )),
        Rule("idempotency_keys", IdempotencyKey, IdempotencyKey.created_at,
             IdempotencyKey.created_at <= now - KEY_LIFETIME),
    ]
    if (cut := _days(limits.inbox_log_days, now)) is not None:
        # An activity still queued keeps its row: its job writes the outcome there.
        rules.append(Rule("inbox_log", InboxEntry, InboxEntry.id,
                          and_(InboxEntry.id < id_before(cut), InboxEntry.outcome != "queued")))
    if (cut := _days(limits.tombstones_days, now)) is not None:
        rules.append(Rule("tombstones", Tombstone, Tombstone.deleted_at, Tombstone.deleted_at < cut))
    if (cut := _days(limits.read_notifications_days, now)) is not None:
        rules.append(Rule("notifications", Notification, Notification.id,
                          and_(Notification.id < id_before(cut), Notification.read == true())))
    if (cut := _days(limits.failed_jobs_days, now)) is not None:
        rules.append(Rule("jobs", Job, Job.updated_at, and_(Job.status == "failed", Job.updated_at < cut)))
    return rules


def _local_follower_of(author: Any) -> ColumnElement[bool]:
    follower = aliased(Account)
    return exists().where(Follow.target_id == author, follower.id == Follow.follower_id, follower.domain.is_(None))


def _by_local(model: Any, post_id: Any) -> ColumnElement[bool]:
    who = aliased(Account)
    return exists().where(model.post_id == post_id, who.id == model.account_id, who.domain.is_(None))


def kept_by_someone_here(post: Any) -> ColumnElement[bool]:
    """Why a peer's post stays: its author has a follower here (pending or accepted); someone
    here liked, bookmarked or was mentioned in it; it is boosted here or by someone followed
    here; a post here replies to it, it replies to a post here, or a post here is in its
    thread; it is a boost of a post here; an unread notification names it."""
    other = aliased(Post)
    return or_(
        _local_follower_of(post.account_id),
        _by_local(Like, post.id),
        exists().where(Bookmark.post_id == post.id),
        _by_local(Mention, post.id),
        exists().where(Notification.post_id == post.id, Notification.read == false()),
        exists().where(other.reblog_of_id == post.id, or_(other.local == true(), _local_follower_of(other.account_id))),
        exists().where(other.in_reply_to_id == post.id, other.local == true()),
        exists().where(other.id == post.in_reply_to_id, other.local == true()),
        exists().where(other.id == post.reblog_of_id, other.local == true()),
        exists().where(other.thread_id == post.thread_id, other.local == true()),
    )


async def reported_post_ids(s: AsyncSession) -> set[int]:
    """Posts named by an open report: kept for the moderators who have yet to read it."""
    ids: set[int] = set()
    for raw in await s.scalars(select(Report.post_ids).where(Report.resolved == false())):
        try:
            named = json.loads(raw or "[]")
        except ValueError:
            continue
        if isinstance(named, list):
            ids.update(i for i in map(parse_id, named) if i is not None)
    return ids


def unreferenced_remote(limits: HousekeepingLimits, now: datetime, reported: set[int]) -> ColumnElement[bool] | None:
    """Peers' posts that arrived and were written more than `remote_posts_days` ago and that
    nobody here has a reason to keep (None: the limit is 0, peers' posts are kept)."""
    cut = _days(limits.remote_posts_days, now)
    if cut is None:
        return None
    where = and_(Post.local == false(), Post.id < id_before(cut), Post.created_at < cut, not_(kept_by_someone_here(Post)))
    return and_(where, Post.id.not_in(reported)) if reported else where

