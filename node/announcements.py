"""Announcements: an admin's notices to everyone on the node (Mastodon's `/api/v1/announcements`),
shown as a banner until each person dismisses it, with emoji reactions.

An announcement is this node's (`origin` None: written here by an admin) or an organisation
peer's (`origin` its domain), received only because this node's policy lets that peer announce
(`accept_announcements`, node/inbox/announcements.py). An admin may make one of ours
organisation-wide: it then goes to the organisation's peers, and so do its edits and its
removal (node/announcement_peers.py, from the fan-out). Each change prompts the streaming API
(`announcement`, `announcement.reaction`, `announcement.delete`, node.events).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import emoji
from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from node import text
from node.context import NodeContext
from node.events import Event
from node.federate import queue_fanout
from node.queues import AnnouncementChanged
from storage.errors import Forbidden, Invalid, NotFound
from storage.models import Account, Announcement, AnnouncementReaction, AnnouncementRead, utcnow

MAX_TEXT = 5_000  # what an admin may write (characters)
MAX_HTML = 20_000  # what a peer's announcement may carry (characters of HTML)
MAX_REACTION_KINDS = 8  # distinct emoji on one announcement, as Mastodon allows
ADMINS = ("admin",)


@dataclass(frozen=True)
class Draft:
    """What an admin writes: the text (plain, links become links), an optional period, and
    whether it is shown (`published`) and sent to the organisation's peers."""

    text: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    all_day: bool = False
    published: bool = True
    organization_wide: bool = False


@dataclass(frozen=True)
class Reaction:
    name: str
    count: int
    me: bool


@dataclass(frozen=True)
class View:
    """An announcement as one person sees it."""

    announcement: Announcement
    read: bool = False
    reactions: list[Reaction] = field(default_factory=list)


def _require_admin(actor: Account) -> None:
    if actor.domain is not None or actor.role not in ADMINS:
        raise Forbidden("only an admin of this node may manage announcements")


def _checked(draft: Draft) -> Draft:
    body = draft.text.strip()
    if not body:
        raise Invalid("an announcement needs some text")
    if len(body) > MAX_TEXT:
        raise Invalid(f"an announcement is at most {MAX_TEXT} characters, not {len(body)}")
    if draft.starts_at and draft.ends_at and draft.ends_at <= draft.starts_at:
        raise Invalid("an announcement must end after it starts")
    return draft


def render(ctx: NodeContext, source: str) -> str:
    """The admin's text as HTML: paragraphs, links and hashtags, as a post's (node/text.py)."""
    return text.render(source.strip(), resolve_mention=lambda _ref: None, tag_url=ctx.tag_url)


def sent_to_peers(a: Announcement) -> bool:
    """Whether the organisation's peers have (or are to have) it."""
    return a.origin is None and a.published and a.organization_wide


async def _fanout(s: AsyncSession, a: Announcement, before: bool) -> None:
    """Tell the peers what changed for them: it reaches them, changed, or leaves them."""
    now = sent_to_peers(a)
    if not before and not now:
        return
    action = "Update" if before and now else ("Create" if now else "Delete")
    await queue_fanout(s, AnnouncementChanged(a.id, action, a.uri or ""))


def _apply(ctx: NodeContext, a: Announcement, draft: Draft) -> None:
    a.source = draft.text.strip()
    a.content_html = render(ctx, a.source)
    a.starts_at, a.ends_at, a.all_day = draft.starts_at, draft.ends_at, draft.all_day
    a.published, a.organization_wide = draft.published, draft.organization_wide
    a.updated_at = utcnow()


def uri_of(ctx: NodeContext, announcement_id: int) -> str:
    return f"{ctx.base_url}/announcements/{announcement_id}"


async def create(ctx: NodeContext, admin: Account, draft: Draft) -> Announcement:
    _require_admin(admin)
    _checked(draft)
    async with ctx.db.session() as s:
        a = Announcement(created_by=admin.id, origin=None, published_at=utcnow())
        _apply(ctx, a, draft)
        s.add(a)
        await s.flush()
        a.uri = uri_of(ctx, a.id)
        await _fanout(s, a, before=False)
    if a.published:
        ctx.events.publish(Event("announcement", announcement_id=a.id))
    return a


async def _own(s: AsyncSession, announcement_id: int) -> Announcement:
    a = await s.get(Announcement, announcement_id)
    if a is None:
        raise NotFound("no such announcement")
    if a.origin is not None:
        raise Forbidden(f"this announcement is {a.origin}'s: only that node can change it")
    return a


async def update(ctx: NodeContext, admin: Account, announcement_id: int, draft: Draft) -> Announcement:
    _require_admin(admin)
    _checked(draft)
    async with ctx.db.session() as s:
        a = await _own(s, announcement_id)
        before, was_published = sent_to_peers(a), a.published
        _apply(ctx, a, draft)
        if a.published and not was_published:
            a.published_at = utcnow()
        await _fanout(s, a, before)
    ctx.events.publish(Event("announcement" if a.published else "announcement.delete", announcement_id=a.id))
    return a


async def remove(ctx: NodeContext, admin: Account, announcement_id: int) -> None:
    _require_admin(admin)
    async with ctx.db.session() as s:
        a = await _own(s, announcement_id)
        if sent_to_peers(a):  # the peers that have it drop it too
            await queue_fanout(s, AnnouncementChanged(a.id, "Delete", a.uri or ""))
        await s.delete(a)
    ctx.events.publish(Event("announcement.delete", announcement_id=announcement_id))


async def all_announcements(ctx: NodeContext) -> list[Announcement]:
    """Every announcement, drafts and peers' included, newest first: the admin page's list."""
    async with ctx.db.reader() as s:
        return list(await s.scalars(select(Announcement).order_by(Announcement.published_at.desc(), Announcement.id.desc())))


def _shown(now: datetime) -> ColumnElement[bool]:
    """Published, and not ended (Mastodon lists an announcement until its end)."""
    return and_(Announcement.published.is_(True), or_(Announcement.ends_at.is_(None), Announcement.ends_at > now))


async def _reactions(s: AsyncSession, ids: list[int], viewer_id: int | None) -> dict[int, list[Reaction]]:
    """Each announcement's reactions, in the order they were first made, with the viewer's marked."""
    if not ids:
        return {}
    where = AnnouncementReaction.announcement_id.in_(ids)
    rows = await s.execute(
        select(AnnouncementReaction.announcement_id, AnnouncementReaction.name, func.count())
        .where(where)
        .group_by(AnnouncementReaction.announcement_id, AnnouncementReaction.name)
        .order_by(AnnouncementReaction.announcement_id, func.min(AnnouncementReaction.created_at))
    )
    mine: set[tuple[int, str]] = set()
    if viewer_id is not None:
        mine = {(a, n) for a, n in await s.execute(
            select(AnnouncementReaction.announcement_id, AnnouncementReaction.name)
            .where(where, AnnouncementReaction.account_id == viewer_id))}
    out: dict[int, list[Reaction]] = {}
    for announcement_id, name, count in rows:
        out.setdefault(announcement_id, []).append(Reaction(name, int(count), (announcement_id, name) in mine))
    return out


async def active(ctx: NodeContext, viewer: Account | None, *, with_dismissed: bool = False) -> list[View]:
    """What `viewer` is shown: published, not ended, oldest first (as Mastodon lists them);
    those the viewer dismissed only when asked for."""
    if viewer is not None and viewer.domain is not None:
        return []
    async with ctx.db.reader() as s:
        found = list(await s.scalars(
            select(Announcement).where(_shown(utcnow())).order_by(Announcement.published_at, Announcement.id)
        ))
        ids = [a.id for a in found]
        read: set[int] = set()
        if viewer is not None and ids:
            read = set(await s.scalars(select(AnnouncementRead.announcement_id).where(
                AnnouncementRead.account_id == viewer.id, AnnouncementRead.announcement_id.in_(ids))))
        reactions = await _reactions(s, ids, viewer.id if viewer else None)
    return [View(a, a.id in read, reactions.get(a.id, [])) for a in found
            if with_dismissed or a.id not in read]


async def view(ctx: NodeContext, announcement_id: int) -> View | None:
    """One shown announcement as everyone sees it (no reader's marks): what streams carry."""
    async with ctx.db.reader() as s:
        a = await s.scalar(select(Announcement).where(Announcement.id == announcement_id, _shown(utcnow())))
        if a is None:
            return None
        reactions = await _reactions(s, [a.id], None)
    return View(a, False, reactions.get(a.id, []))


async def _shown_one(s: AsyncSession, viewer: Account, announcement_id: int) -> Announcement:
    if viewer.domain is not None:
        raise NotFound("no such announcement")
    a: Announcement | None = await s.scalar(
        select(Announcement).where(Announcement.id == announcement_id, _shown(utcnow())))
    if a is None:
        raise NotFound("no such announcement")
    return a


async def dismiss(ctx: NodeContext, viewer: Account, announcement_id: int) -> None:
    """The viewer has read it: it leaves their banner (again and again: nothing changes)."""
    async with ctx.db.session() as s:
        await _shown_one(s, viewer, announcement_id)
        if await s.get(AnnouncementRead, (announcement_id, viewer.id)) is None:
            s.add(AnnouncementRead(announcement_id=announcement_id, account_id=viewer.id))


def check_emoji(name: str) -> str:
    """One Unicode emoji (custom emoji are not supported here): else a 422 saying so."""
    name = name.strip()
    if not name or len(name) > 16 or not emoji.is_emoji(name):
        raise Invalid(f"a reaction is one Unicode emoji, not {name[:20]!r}")
    return name


async def _count(s: AsyncSession, announcement_id: int, name: str) -> int:
    return int(await s.scalar(select(func.count()).select_from(AnnouncementReaction).where(
        AnnouncementReaction.announcement_id == announcement_id, AnnouncementReaction.name == name)) or 0)


async def react(ctx: NodeContext, viewer: Account, announcement_id: int, name: str) -> None:
    name = check_emoji(name)
    async with ctx.db.session() as s:
        await _shown_one(s, viewer, announcement_id)
        mine = await s.scalar(select(AnnouncementReaction.id).where(
            AnnouncementReaction.announcement_id == announcement_id, AnnouncementReaction.account_id == viewer.id,
            AnnouncementReaction.name == name))
        if mine is not None:
            return
        kinds = set(await s.scalars(select(AnnouncementReaction.name).where(
            AnnouncementReaction.announcement_id == announcement_id).distinct()))
        if name not in kinds and len(kinds) >= MAX_REACTION_KINDS:
            raise Invalid(f"an announcement takes at most {MAX_REACTION_KINDS} different reactions")
        s.add(AnnouncementReaction(announcement_id=announcement_id, account_id=viewer.id, name=name))
        await s.flush()
        count = await _count(s, announcement_id, name)
    ctx.events.publish(Event("announcement.reaction", announcement_id=announcement_id, reaction=(name, count)))


async def unreact(ctx: NodeContext, viewer: Account, announcement_id: int, name: str) -> None:
    name = check_emoji(name)
    async with ctx.db.session() as s:
        await _shown_one(s, viewer, announcement_id)
        gone = await s.execute(delete(AnnouncementReaction).where(
            AnnouncementReaction.announcement_id == announcement_id, AnnouncementReaction.account_id == viewer.id,
            AnnouncementReaction.name == name))
        count = await _count(s, announcement_id, name)
    if gone.rowcount:  # type: ignore[attr-defined]
        ctx.events.publish(Event("announcement.reaction", announcement_id=announcement_id, reaction=(name, count)))
