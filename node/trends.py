"""Trends inside the organisation: the hashtags, posts and links most used over the last
`WINDOW_DAYS` days, with a daily history.

Counted only from posts the viewer may see in shared timelines (the listed audiences they may
read without following anyone — `visible_clause` and `timeline_visibilities` in the query),
written on this node or on a peer trusted as `organization` (never a partner's or the open
Fediverse's), by authors neither suspended, silenced, nor muted or blocked by the viewer.
Ids are time-ordered (storage/ids.py), so the window is a range of the posts' primary key and
the day of a post is its id divided by a day's worth of ids: no scan outside the window.
"""

from __future__ import annotations

import html
import re
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.audience import Audience
from node.context import NodeContext
from node.mutes import hidden_authors
from node.visibility import in_shared_timelines, timeline_visibilities, visible_clause
from storage.ids import id_floor
from storage.models import Account, Post, PostTag, Tag

WINDOW_DAYS = 7
DAY_MS = 86_400_000
_DAY_IDS = id_floor(DAY_MS)  # the ids made in one day
# A link in a post's HTML: an anchor to http(s) that is not a mention or a hashtag.
_ANCHOR = re.compile(r"<a\s([^>]*)>", re.IGNORECASE)
_HREF = re.compile(r'href="(https?://[^"]{1,2000})"', re.IGNORECASE)
_CLASS = re.compile(r'class="([^"]*)"', re.IGNORECASE)
# Every trend joins the post's author (`Account`), whose domain says whether it is in the organisation.
_AUTHOR, _AUTHOR_OF = Account, Account.id == Post.account_id


@dataclass(frozen=True)
class Day:
    day: int  # unix time of the day's start (UTC)
    uses: int
    accounts: int


@dataclass(frozen=True)
class Trend:
    """A trending hashtag (its name) or link (its URL), with one `Day` per day, newest first."""

    key: str
    history: tuple[Day, ...]

    @property
    def accounts(self) -> int:
        return sum(d.accounts for d in self.history)

    @property
    def uses(self) -> int:
        return sum(d.uses for d in self.history)


def _today() -> int:
    return int(time.time() * 1000) // DAY_MS


def _counted(ctx: NodeContext, viewer: Account | None) -> list[ColumnElement[bool]]:
    """The filter every trend applies to `Post` (joined to its author as `Account`)."""
    org = ctx.org_domains()
    first_day = _today() - WINDOW_DAYS + 1
    where = [
        Post.id >= id_floor(first_day * DAY_MS),
        Post.reblog_of_id.is_(None),
        Post.visibility.in_(timeline_visibilities(viewer, org)),
        (Post.visibility != Audience.LOCAL) | Post.local.is_(True),
        visible_clause(viewer, org),
        in_shared_timelines(),
        org.members(Account.domain),
    ]
    if viewer is not None:
        where.append(Post.account_id.not_in(hidden_authors(viewer.id)))
    return where


def _history(days: dict[int, tuple[int, int]]) -> tuple[Day, ...]:
    today = _today()
    return tuple(
        Day((today - n) * 86_400, *days.get(today - n, (0, 0))) for n in range(WINDOW_DAYS)
    )


def _ranked(per_day: Iterable[tuple[str, int, int, int]], limit: int, offset: int) -> list[Trend]:
    days: dict[str, dict[int, tuple[int, int]]] = defaultdict(dict)
    for key, day_ms_index, uses, accounts in per_day:
        days[key][day_ms_index] = (uses, accounts)
    trends = [Trend(key, _history(d)) for key, d in days.items()]
    trends.sort(key=lambda t: (-t.accounts, -t.uses, t.key))
    return trends[offset:offset + limit]


def _day_of_id() -> ColumnElement[int]:
    """The day (days since the epoch) a post's id was made on."""
    return (Post.id // _DAY_IDS).label("day")


async def _tag_days(s: AsyncSession, ctx: NodeContext, viewer: Account | None,
                    names: list[str] | None = None) -> list[tuple[str, int, int, int]]:
    day = _day_of_id()
    stmt = (
        select(Tag.name, day, func.count(distinct(Post.id)), func.count(distinct(Post.account_id)))
        .select_from(Post).join(_AUTHOR, _AUTHOR_OF).where(*_counted(ctx, viewer))
        .join(PostTag, PostTag.post_id == Post.id).join(Tag, Tag.id == PostTag.tag_id)
    )
    if names is not None:
        stmt = stmt.where(Tag.name.in_(names))
    rows = await s.execute(stmt.group_by(Tag.name, day))
    return [(str(n), int(d), int(u), int(a)) for n, d, u, a in rows.all()]


async def tags(ctx: NodeContext, viewer: Account | None, *, limit: int = 10, offset: int = 0) -> list[Trend]:
    """The hashtags used by the most people in the window (then the most posts)."""
    async with ctx.db.reader() as s:
        return _ranked(await _tag_days(s, ctx, viewer), limit, offset)


async def tag_histories(ctx: NodeContext, viewer: Account | None, names: list[str]) -> dict[str, tuple[Day, ...]]:
    """Each named tag's daily history, as the viewer's trends count it (zeros when unused)."""
    if not names:
        return {}
    async with ctx.db.reader() as s:
        found = {t.key: t.history for t in _ranked(await _tag_days(s, ctx, viewer, names), len(names), 0)}
    return {n: found.get(n, _history({})) for n in names}


async def statuses(ctx: NodeContext, viewer: Account | None, *, limit: int = 20, offset: int = 0) -> list[Post]:
    """The posts with the most interactions (likes, boosts, replies) in the window."""
    score = Post.likes_count + Post.boosts_count + Post.replies_count
    stmt = select(Post).join(_AUTHOR, _AUTHOR_OF).where(*_counted(ctx, viewer), score > 0).order_by(score.desc(), Post.id.desc())
    async with ctx.db.reader() as s:
        return list((await s.scalars(stmt.offset(offset).limit(limit))).all())


def links_in(content_html: str) -> list[str]:
    """The http(s) links of a post's HTML, mentions and hashtags left out, each once."""
    out: list[str] = []
    for anchor in _ANCHOR.finditer(content_html):
        attrs = anchor.group(1)
        href, cls = _HREF.search(attrs), _CLASS.search(attrs)
        if href is None or (cls is not None and ({"mention", "hashtag", "u-url"} & set(cls.group(1).split()))):
            continue
        url = html.unescape(href.group(1))
        if url not in out:
            out.append(url)
    return out


async def links(ctx: NodeContext, viewer: Account | None, *, limit: int = 10, offset: int = 0) -> list[Trend]:
    """The links shared by the most people in the window. Only posts with an anchor are read
    (`LIKE '%href=%'`); their links are taken from the HTML here."""
    stmt = (
        select(Post.id, Post.account_id, Post.content_html)
        .select_from(Post).join(_AUTHOR, _AUTHOR_OF)
        .where(*_counted(ctx, viewer), Post.content_html.like("%href=%"))
    )
    uses: dict[tuple[str, int], set[int]] = defaultdict(set)
    people: dict[tuple[str, int], set[int]] = defaultdict(set)
    async with ctx.db.reader() as s:
        for post_id, account_id, content in (await s.execute(stmt)):
            day = int(post_id) // _DAY_IDS
            for url in links_in(str(content or "")):
                uses[url, day].add(int(post_id))
                people[url, day].add(int(account_id))
    return _ranked(((u, d, len(p), len(people[u, d])) for (u, d), p in uses.items()), limit, offset)
