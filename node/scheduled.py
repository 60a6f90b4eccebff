"""Scheduled posts: a person's post kept until its time (Mastodon's scheduled statuses).

`schedule` checks the post as `post_as` would (text, audience, reply target, attachments) and
keeps it with its uploads reserved (`ScheduledMedia`: no other post attaches them, media prune
keeps them); the list, one, a new time and a cancel are the author's alone (anyone else's is
NotFound). Limits as Mastodon's: at least `MIN_OFFSET` ahead, at most `MAX_PENDING` waiting
and `MAX_PER_DAY` on one day. node/scheduled_publisher.py posts them when due.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from node.audience import Audience
from node.context import NodeContext
from node.media import check_media_ids, ids_of, ids_text
from node.pagination import Page, paginate
from node.post_access import load_visible
from node.posts import NewPost, check_new
from storage.errors import Invalid, NotFound
from storage.models import Account, MediaAttachment, MediaRole, MediaState, ScheduledMedia, ScheduledStatus, utcnow

MIN_OFFSET = timedelta(minutes=5)  # Mastodon's ScheduledStatus::MINIMUM_OFFSET
MAX_PENDING = 300  # Mastodon's TOTAL_LIMIT
MAX_PER_DAY = 25  # Mastodon's DAILY_LIMIT (per UTC day of `scheduled_at`)

Clock = Callable[[], datetime]

# Called after a post is scheduled or re-timed in this process: the publishers re-arm their sleep.
_waiters: list[Callable[[], None]] = []


def on_change(wake: Callable[[], None]) -> Callable[[], None]:
    """Call `wake` whenever this process schedules or re-times a post; returns the undo."""
    _waiters.append(wake)
    return lambda: _waiters.remove(wake)


def _changed() -> None:
    for wake in list(_waiters):
        wake()


def parse_time(raw: str) -> datetime:
    """An ISO 8601 time (`2026-12-06T18:00:00Z`, with an offset, or naive meaning UTC)."""
    text = raw.strip()
    if not text or len(text) > 64:
        raise Invalid("scheduled_at must be an ISO 8601 date and time")
    try:
        when = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise Invalid("scheduled_at must be an ISO 8601 date and time") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    if when.year > 9000:
        raise Invalid("scheduled_at is too far ahead")
    return when


def _check_time(when: datetime, now: datetime) -> None:
    if when < now + MIN_OFFSET:
        raise Invalid("Scheduled at The scheduled date must be in the future (at least 5 minutes ahead)")


async def _check_limits(s: AsyncSession, account_id: int, when: datetime, *, besides: int | None = None) -> None:
    mine = select(func.count()).select_from(ScheduledStatus).where(ScheduledStatus.account_id == account_id)
    if besides is not None:
        mine = mine.where(ScheduledStatus.id != besides)
    if besides is None and (await s.scalar(mine) or 0) >= MAX_PENDING:
        raise Invalid(f"Total limit of scheduled statuses reached (at most {MAX_PENDING})")
    day = datetime(when.year, when.month, when.day, tzinfo=UTC)
    same_day = mine.where(ScheduledStatus.scheduled_at >= day, ScheduledStatus.scheduled_at < day + timedelta(days=1))
    if (await s.scalar(same_day) or 0) >= MAX_PER_DAY:
        raise Invalid(f"Daily limit of scheduled statuses reached (at most {MAX_PER_DAY} on one day)")


async def _reserve(s: AsyncSession, author: Account, row: ScheduledStatus, media_ids: tuple[int, ...]) -> None:
    for media_id in media_ids:
        upload = await s.get(MediaAttachment, media_id)
        if (upload is None or upload.account_id != author.id or upload.post_id is not None
                or upload.role != MediaRole.ATTACHMENT.value or upload.state != MediaState.READY.value):
            raise Invalid(f"media {media_id} cannot be attached: not your own ready upload, or posted already")
        s.add(ScheduledMedia(media_id=media_id, scheduled_id=row.id))
    try:
        await s.flush()
    except IntegrityError as exc:
        raise Invalid("media cannot be attached: it is reserved for another scheduled post") from exc


async def schedule(
    ctx: NodeContext, author: Account, new: NewPost, when: datetime, *,
    application_id: int | None = None, now: datetime | None = None,
) -> ScheduledStatus:
    """Keep `new` to be posted at `when` (checked now as a post would be)."""
    _check_time(when, now or utcnow())
    check_new(ctx, author, new)
    media_ids = check_media_ids(new.media_ids)
    async with ctx.db.session() as s:
        if new.in_reply_to_id is not None:
            await load_visible(ctx, s, author, new.in_reply_to_id)
        await _check_limits(s, author.id, when)
        row = ScheduledStatus(
            account_id=author.id, scheduled_at=when, created_at=utcnow(), text=new.text,
            visibility=Audience.parse(new.visibility).value, spoiler_text=new.summary, sensitive=new.sensitive,
            language=new.language, in_reply_to_id=new.in_reply_to_id, media_ids=ids_text(media_ids),
            application_id=application_id, attempts=0,
        )
        s.add(row)
        await s.flush()
        await _reserve(s, author, row, media_ids)
    _changed()
    return row


def post_of(row: ScheduledStatus) -> NewPost:
    """What a scheduled row posts."""
    return NewPost(
        text=row.text, visibility=row.visibility, summary=row.spoiler_text, sensitive=row.sensitive,
        in_reply_to_id=row.in_reply_to_id, language=row.language, media_ids=tuple(ids_of(row.media_ids)),
    )


async def _mine(s: AsyncSession, account: Account, scheduled_id: int) -> ScheduledStatus:
    row = await s.get(ScheduledStatus, scheduled_id)
    if row is None or row.account_id != account.id:
        raise NotFound("Record not found")
    return row


async def one(ctx: NodeContext, account: Account, scheduled_id: int) -> ScheduledStatus:
    async with ctx.db.reader() as s:
        return await _mine(s, account, scheduled_id)


async def page(ctx: NodeContext, account: Account, page: Page) -> list[ScheduledStatus]:
    """The account's scheduled posts, newest scheduled first by id (as Mastodon pages them)."""
    async with ctx.db.reader() as s:
        stmt = select(ScheduledStatus).where(ScheduledStatus.account_id == account.id)
        return list(await paginate(s, stmt, ScheduledStatus.id, page))


async def all_of(ctx: NodeContext, account: Account) -> list[ScheduledStatus]:
    """Every scheduled post of the account, soonest first (the web UI's page)."""
    async with ctx.db.reader() as s:
        stmt = select(ScheduledStatus).where(ScheduledStatus.account_id == account.id)
        return list(await s.scalars(stmt.order_by(ScheduledStatus.scheduled_at, ScheduledStatus.id)))


async def retime(
    ctx: NodeContext, account: Account, scheduled_id: int, when: datetime, *, now: datetime | None = None
) -> ScheduledStatus:
    """A new time for one's scheduled post (a failed one is tried again at it)."""
    _check_time(when, now or utcnow())
    async with ctx.db.session() as s:
        row = await _mine(s, account, scheduled_id)
        await _check_limits(s, account.id, when, besides=row.id)
        row.scheduled_at, row.failed_at, row.failure, row.claimed_until = when, None, None, None
    _changed()
    return row


async def cancel(ctx: NodeContext, account: Account, scheduled_id: int) -> None:
    """Drop one's scheduled post; its reserved uploads are free again."""
    async with ctx.db.session() as s:
        row = await _mine(s, account, scheduled_id)
        await s.execute(delete(ScheduledMedia).where(ScheduledMedia.scheduled_id == row.id))
        await s.delete(row)


async def attachments_of(ctx: NodeContext, rows: list[ScheduledStatus]) -> dict[int, list[MediaAttachment]]:
    """The uploads each scheduled post will carry, in order."""
    wanted = {row.id: ids_of(row.media_ids) for row in rows}
    every = [i for ids in wanted.values() for i in ids]
    if not every:
        return {row.id: [] for row in rows}
    async with ctx.db.reader() as s:
        found = {m.id: m for m in await s.scalars(select(MediaAttachment).where(MediaAttachment.id.in_(every)))}
    return {rid: [found[i] for i in ids if i in found] for rid, ids in wanted.items()}

