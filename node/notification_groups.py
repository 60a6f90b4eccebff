"""Grouped notifications, as Mastodon 4.3 groups them (`/api/v2/notifications`): likes, boosts
and follows of the same target made within twelve hours of the group's start share a group key
(`favourite-<post>-<hour>`, `reblog-<post>-<hour>`, `follow-<hour>`); every other notification
is a group of its own (`ungrouped-<id>`).

A page is read as Mastodon reads it: groups ordered by their newest notification within the
requested range, `limit` groups; each group's count, sample accounts and page bounds are
counted inside the page's range (from the oldest group head to the newest), so the next page
starts below it. Every read leaves out what the account's own notification list leaves out
(node/notifications.py `shown`): muted or domain-blocked senders, suspended ones, and
notifications about posts the account may no longer see.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, String, case, cast, delete, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.context import NodeContext
from node.notifications import shown
from node.pagination import Page
from storage.errors import NotFound
from storage.models import Account, Marker, Notification

# The node's notification types Mastodon groups, by Mastodon's name for them.
GROUPABLE = {"like": "favourite", "boost": "reblog", "follow": "follow"}
MAX_GROUP_SPAN_HOURS = 12
SAMPLE_ACCOUNTS = 8
GROUP_ACCOUNTS_LIMIT = 80
UNREAD_LIMIT = 1000
MAX_KEY_LENGTH = 64


@dataclass(frozen=True)
class Group:
    key: str
    type: str  # the node's type (`like`, `boost`, ...)
    post_id: int | None
    count: int
    most_recent_id: int
    page_min_id: int
    page_max_id: int
    latest_at: datetime
    sample_account_ids: list[int]


async def group_key(
    s: AsyncSession, recipient_id: int, kind: str, post_id: int | None, at: datetime, notification_id: int
) -> str:
    """The key a new notification gets: the group of the same type and target started within
    MAX_GROUP_SPAN_HOURS (the recipient's latest such group), else a new one from this hour."""
    name = GROUPABLE.get(kind)
    if name is None:
        return f"ungrouped-{notification_id}"
    prefix = name if name == "follow" else f"{name}-{post_id}"
    hour = int(at.timestamp()) // 3600
    previous = await s.scalar(
        select(Notification.group_key)
        .where(Notification.account_id == recipient_id, Notification.group_key.like(f"{prefix}-%"))
        .order_by(Notification.id.desc())
        .limit(1)
    )
    if previous is not None:
        tail = previous.rsplit("-", 1)[-1]
        if tail.isdigit() and hour < int(tail) + MAX_GROUP_SPAN_HOURS:
            hour = int(tail)
    return f"{prefix}-{hour}"


def _key(grouped: frozenset[str]) -> ColumnElement[str]:
    """A notification's group as this request sees it: types the client does not group are
    each a group of their own."""
    if grouped >= frozenset(GROUPABLE):
        return Notification.group_key.expression
    own = literal("ungrouped-", String) + cast(Notification.id, String)
    return case((Notification.type.in_(sorted(grouped)), Notification.group_key), else_=own)


def _filters(
    ctx: NodeContext, viewer: Account, types: tuple[str, ...] | None, sender_id: int | None = None
) -> list[ColumnElement[bool]]:
    out = [Notification.account_id == viewer.id, shown(ctx, viewer)]
    if types is not None:
        out.append(Notification.type.in_(types))
    if sender_id is not None:
        out.append(Notification.from_account_id == sender_id)
    return out


async def page(
    ctx: NodeContext,
    viewer: Account,
    pg: Page,
    types: tuple[str, ...] | None,
    grouped: frozenset[str],
    sender_id: int | None = None,
) -> list[Group]:
    """One page of the viewer's notification groups (those from `sender_id` only, if given), newest first."""
    key = _key(grouped)
    where = _filters(ctx, viewer, types, sender_id)
    if pg.max_id is not None:
        where.append(Notification.id < pg.max_id)
    if pg.since_id is not None:
        where.append(Notification.id > pg.since_id)
    oldest_first = pg.min_id is not None
    if oldest_first:
        where.append(Notification.id > pg.min_id)
    head = (func.min if oldest_first else func.max)(Notification.id).label("head")
    heads_stmt = (
        select(key.label("k"), head).where(*where).group_by(key)
        .order_by(head.asc() if oldest_first else head.desc()).limit(pg.limit)
    )
    async with ctx.db.reader() as s:
        heads = {str(k): int(h) for k, h in (await s.execute(heads_stmt)).all()}
        if not heads:
            return []
        low, high = min(heads.values()), max(heads.values())
        if oldest_first:
            # Walking up from min_id: the page spans from min_id to the newest group head.
            low = pg.min_id + 1  # type: ignore[operator]
        # Counts and samples run up to the page's newest notification, as Mastodon counts them;
        # each group's page bounds within the page.
        upto = [*_filters(ctx, viewer, types, sender_id), Notification.id <= high, key.in_(list(heads))]
        return await _groups(s, key, upto, low)


async def _groups(s: AsyncSession, key: ColumnElement[str], where: list[ColumnElement[bool]], low: int = 0) -> list[Group]:
    stats = select(key, func.count(), func.max(Notification.id)).where(*where).group_by(key)
    rows = {str(k): (int(n), int(hi)) for k, n, hi in (await s.execute(stats)).all()}
    if not rows:
        return []
    lows_stmt = select(key, func.min(Notification.id)).where(*where, Notification.id >= low).group_by(key)
    lows = {str(k): int(lo) for k, lo in (await s.execute(lows_stmt)).all()}
    latest = {
        n.id: n
        for n in (await s.scalars(select(Notification).where(Notification.id.in_([hi for _, hi in rows.values()])))).all()
    }
    senders = (
        select(key, Notification.from_account_id, func.max(Notification.id))
        .where(*where).group_by(key, Notification.from_account_id)
    )
    samples: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for k, who, last in (await s.execute(senders)).all():
        samples[str(k)].append((int(last), int(who)))
    out = []
    for k, (n, hi) in rows.items():
        head = latest[hi]
        people = [who for _, who in sorted(samples[k], reverse=True)[:SAMPLE_ACCOUNTS]]
        out.append(Group(k, head.type, head.post_id, n, hi, lows.get(k, hi), hi, head.created_at, people))
    out.sort(key=lambda g: g.page_max_id, reverse=True)
    return out


def _valid(group_key: str) -> bool:
    return 0 < len(group_key) <= MAX_KEY_LENGTH and all(c.isascii() and (c.isalnum() or c in "-_") for c in group_key)


async def group(ctx: NodeContext, viewer: Account, group_key: str) -> Group:
    """One of the viewer's groups, counted over all of it; NotFound when the viewer has none by that key."""
    if _valid(group_key):
        async with ctx.db.reader() as s:
            found = await _groups(s, Notification.group_key.expression, [*_filters(ctx, viewer, None), Notification.group_key == group_key])
        if found:
            return found[0]
    raise NotFound("Record not found")


async def group_accounts(ctx: NodeContext, viewer: Account, group_key: str) -> list[Account]:
    """Who made the group's notifications, the most recent first."""
    await group(ctx, viewer, group_key)
    where = [*_filters(ctx, viewer, None), Notification.group_key == group_key]
    last = func.max(Notification.id)
    stmt = (
        select(Notification.from_account_id).where(*where).group_by(Notification.from_account_id)
        .order_by(last.desc()).limit(GROUP_ACCOUNTS_LIMIT)
    )
    async with ctx.db.reader() as s:
        ids = [int(i) for i in (await s.scalars(stmt)).all()]
        found = {a.id: a for a in (await s.scalars(select(Account).where(Account.id.in_(ids)))).all()}
    return [found[i] for i in ids if i in found]


async def dismiss(ctx: NodeContext, viewer: Account, group_key: str) -> None:
    """Remove every notification of the group (the viewer's own only); NotFound when there is none."""
    if not _valid(group_key):
        raise NotFound("Record not found")
    async with ctx.db.session() as s:
        result = await s.execute(
            delete(Notification).where(Notification.account_id == viewer.id, Notification.group_key == group_key)
        )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("Record not found")


async def unread_count(
    ctx: NodeContext, viewer: Account, limit: int, types: tuple[str, ...] | None, grouped: frozenset[str] | None
) -> int:
    """Notifications (or, given `grouped`, groups) newer than the `notifications` marker and not
    read in the web UI, up to `limit`, as Mastodon counts them."""
    where = [*_filters(ctx, viewer, types), Notification.read.is_(False)]
    async with ctx.db.reader() as s:
        marker = await s.scalar(
            select(Marker.last_read_id).where(Marker.account_id == viewer.id, Marker.timeline == "notifications")
        )
        if marker is not None:
            where.append(Notification.id > marker)
        if grouped is None:
            inner = select(Notification.id).where(*where).order_by(Notification.id.desc()).limit(limit).subquery()
        else:
            key = _key(grouped)
            inner = select(key).where(*where).group_by(key).order_by(func.max(Notification.id).desc()).limit(limit).subquery()
        return int(await s.scalar(select(func.count()).select_from(inner)) or 0)


