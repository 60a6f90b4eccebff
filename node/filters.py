"""Content filters (Mastodon's filters v2), each private to the account that made it: a
filter with its title, contexts, action and expiry, its keywords and the posts it names; and
the viewer's active filters, compiled once for a request (node/filters_match.py matches).

Another account's filter, keyword or filtered post is NotFound, as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from node import filters_match
from node.context import NodeContext
from node.filters_match import (
    CompiledFilter,
    FilterAction,
    FilterContext,
    Keyword,
    Match,
    hides,
    match,
    searchable_text,
)
from node.posts import load_visible
from node.sanitize import html_to_text
from storage.errors import Invalid, NotFound
from storage.models import Account, ContentFilter, FilterKeyword, FilterStatus, Post, utcnow

MAX_FILTERS = 100  # per account
MAX_KEYWORDS = 200  # per filter
MAX_KEYWORD_CHARS = 512
MAX_TITLE_CHARS = 256
MAX_EXPIRES_IN = 10 * 366 * 86400  # seconds: ten years


def now() -> datetime:
    """The time filters expire by (a test moves it)."""
    return utcnow()


@dataclass(frozen=True)
class KeywordChange:
    """One entry of `keywords_attributes`: a new keyword (no id), a change, or a removal."""

    id: int | None = None
    keyword: str | None = None
    whole_word: bool | None = None
    destroy: bool = False


@dataclass(frozen=True)
class FilterChange:
    """What a create or update sets; None leaves a field as it is (a create needs title and
    contexts). `expires_in` 0 clears the expiry."""

    title: str | None = None
    contexts: tuple[str, ...] | None = None
    action: str | None = None
    expires_in: int | None = None
    keywords: tuple[KeywordChange, ...] = ()


@dataclass(frozen=True)
class FilterView:
    row: ContentFilter
    keywords: list[FilterKeyword]
    statuses: list[FilterStatus]

    @property
    def contexts(self) -> list[str]:
        return [c for c in self.row.contexts.split(",") if c]


def _no_nul(text: str, what: str) -> str:
    if "\x00" in text:
        raise Invalid(f"Validation failed: {what} contains a NUL character")
    return text


def _title(title: str) -> str:
    title = _no_nul(title, "Title").strip()
    if not title:
        raise Invalid("Validation failed: Title can't be blank")
    if len(title) > MAX_TITLE_CHARS:
        raise Invalid(f"Validation failed: Title is too long (at most {MAX_TITLE_CHARS} characters)")
    return title


def _contexts(contexts: Sequence[str]) -> str:
    known = [c.value for c in FilterContext]
    wanted = list(dict.fromkeys(c.strip() for c in contexts if c.strip()))
    if not wanted:
        raise Invalid("Validation failed: Context can't be blank")
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise Invalid(f"Validation failed: Context {unknown[0][:40]!r} is not one of {', '.join(known)}")
    return ",".join(wanted)


def _action(action: str) -> str:
    if action not in [a.value for a in FilterAction]:
        raise Invalid(f"Validation failed: filter_action {action[:40]!r} is not one of warn, hide, blur")
    return action


def _expires_at(expires_in: int) -> datetime | None:
    if expires_in < 0 or expires_in > MAX_EXPIRES_IN:
        raise Invalid(f"expires_in must be between 0 and {MAX_EXPIRES_IN} seconds")
    return None if expires_in == 0 else now() + timedelta(seconds=expires_in)


def keyword_text(keyword: str) -> str:
    keyword = _no_nul(keyword, "Keyword").strip()
    if not keyword:
        raise Invalid("Validation failed: Keyword can't be blank")
    if len(keyword) > MAX_KEYWORD_CHARS:
        raise Invalid(f"Validation failed: Keyword is too long (at most {MAX_KEYWORD_CHARS} characters)")
    return keyword


async def _own(s: AsyncSession, viewer: Account, filter_id: int) -> ContentFilter:
    row = await s.get(ContentFilter, filter_id)
    if row is None or row.account_id != viewer.id:
        raise NotFound("Record not found")
    return row


async def _view(s: AsyncSession, row: ContentFilter) -> FilterView:
    keywords = (await s.scalars(select(FilterKeyword).where(FilterKeyword.filter_id == row.id).order_by(FilterKeyword.id))).all()
    statuses = (await s.scalars(select(FilterStatus).where(FilterStatus.filter_id == row.id).order_by(FilterStatus.id))).all()
    return FilterView(row, list(keywords), list(statuses))


async def _count_keywords(s: AsyncSession, filter_id: int) -> int:
    return int(await s.scalar(select(func.count()).select_from(FilterKeyword).where(FilterKeyword.filter_id == filter_id)) or 0)


async def _apply_keywords(s: AsyncSession, row: ContentFilter, changes: Sequence[KeywordChange]) -> None:
    for change in changes:
        if change.id is None:
            if change.destroy:
                continue
            s.add(FilterKeyword(filter_id=row.id, keyword=keyword_text(change.keyword or ""),
                                whole_word=True if change.whole_word is None else change.whole_word, created_at=utcnow()))
            continue
        kw = await s.get(FilterKeyword, change.id)
        if kw is None or kw.filter_id != row.id:
            raise NotFound("Record not found")
        if change.destroy:
            await s.delete(kw)
            continue
        if change.keyword is not None:
            kw.keyword = keyword_text(change.keyword)
        if change.whole_word is not None:
            kw.whole_word = change.whole_word
    await s.flush()
    if await _count_keywords(s, row.id) > MAX_KEYWORDS:
        raise Invalid(f"a filter has at most {MAX_KEYWORDS} keywords")


async def list_filters(ctx: NodeContext, viewer: Account) -> list[FilterView]:
    async with ctx.db.reader() as s:
        rows = (await s.scalars(select(ContentFilter).where(ContentFilter.account_id == viewer.id).order_by(ContentFilter.id))).all()
        return [await _view(s, r) for r in rows]


async def get_filter(ctx: NodeContext, viewer: Account, filter_id: int) -> FilterView:
    async with ctx.db.reader() as s:
        return await _view(s, await _own(s, viewer, filter_id))


async def create_filter(ctx: NodeContext, viewer: Account, change: FilterChange) -> FilterView:
    """A new filter; nothing is written when any part of it is invalid."""
    row = ContentFilter(
        account_id=viewer.id, title=_title(change.title or ""), contexts=_contexts(change.contexts or ()),
        action=_action(change.action or FilterAction.WARN.value),
        expires_at=_expires_at(change.expires_in or 0), created_at=utcnow(),
    )
    async with ctx.db.session() as s:
        count = await s.scalar(select(func.count()).select_from(ContentFilter).where(ContentFilter.account_id == viewer.id))
        if int(count or 0) >= MAX_FILTERS:
            raise Invalid(f"an account has at most {MAX_FILTERS} filters")
        s.add(row)
        await s.flush()
        await _apply_keywords(s, row, change.keywords)
        return await _view(s, row)


async def update_filter(ctx: NodeContext, viewer: Account, filter_id: int, change: FilterChange) -> FilterView:
    async with ctx.db.session() as s:
        row = await _own(s, viewer, filter_id)
        if change.title is not None:
            row.title = _title(change.title)
        if change.contexts is not None:
            row.contexts = _contexts(change.contexts)
        if change.action is not None:
            row.action = _action(change.action)
        if change.expires_in is not None:
            row.expires_at = _expires_at(change.expires_in)
        await _apply_keywords(s, row, change.keywords)
        return await _view(s, row)


async def delete_filter(ctx: NodeContext, viewer: Account, filter_id: int) -> None:
    async with ctx.db.session() as s:
        row = await _own(s, viewer, filter_id)
        await s.execute(delete(FilterKeyword).where(FilterKeyword.filter_id == row.id))
        await s.execute(delete(FilterStatus).where(FilterStatus.filter_id == row.id))
        await s.delete(row)


# Keywords, one at a time (`/api/v2/filters/:id/keywords`, `/api/v2/filters/keywords/:id`).


async def _own_keyword(s: AsyncSession, viewer: Account, keyword_id: int) -> FilterKeyword:
    kw = await s.get(FilterKeyword, keyword_id)
    if kw is None:
        raise NotFound("Record not found")
    await _own(s, viewer, kw.filter_id)
    return kw


async def add_keyword(ctx: NodeContext, viewer: Account, filter_id: int, keyword: str, whole_word: bool) -> FilterKeyword:
    async with ctx.db.session() as s:
        row = await _own(s, viewer, filter_id)
        kw = FilterKeyword(filter_id=row.id, keyword=keyword_text(keyword), whole_word=whole_word, created_at=utcnow())
        s.add(kw)
        await s.flush()
        if await _count_keywords(s, row.id) > MAX_KEYWORDS:
            raise Invalid(f"a filter has at most {MAX_KEYWORDS} keywords")
        return kw


async def get_keyword(ctx: NodeContext, viewer: Account, keyword_id: int) -> FilterKeyword:
    async with ctx.db.reader() as s:
        return await _own_keyword(s, viewer, keyword_id)


async def update_keyword(
    ctx: NodeContext, viewer: Account, keyword_id: int, keyword: str | None, whole_word: bool | None
) -> FilterKeyword:
    async with ctx.db.session() as s:
        kw = await _own_keyword(s, viewer, keyword_id)
        if keyword is not None:
            kw.keyword = keyword_text(keyword)
        if whole_word is not None:
            kw.whole_word = whole_word
        return kw


async def delete_keyword(ctx: NodeContext, viewer: Account, keyword_id: int, *, drop_empty: bool = False) -> None:
    """Remove a keyword; with `drop_empty` (the v1 view, where the keyword is the filter) its
    filter goes too when nothing else is left of it."""
    async with ctx.db.session() as s:
        kw = await _own_keyword(s, viewer, keyword_id)
        await s.delete(kw)
        await s.flush()
        if drop_empty and not await _count_keywords(s, kw.filter_id):
            named = await s.scalar(select(func.count()).select_from(FilterStatus).where(FilterStatus.filter_id == kw.filter_id))
            if not named:
                await s.execute(delete(ContentFilter).where(ContentFilter.id == kw.filter_id))


# Posts a filter names (`/api/v2/filters/:id/statuses`, `/api/v2/filters/statuses/:id`).


async def _own_status(s: AsyncSession, viewer: Account, filter_status_id: int) -> FilterStatus:
    fs = await s.get(FilterStatus, filter_status_id)
    if fs is None:
        raise NotFound("Record not found")
    await _own(s, viewer, fs.filter_id)
    return fs


async def add_status(ctx: NodeContext, viewer: Account, filter_id: int, post_id: int) -> FilterStatus:
    """Name a post the viewer may see (NotFound otherwise) in one of their filters."""
    async with ctx.db.session() as s:
        row = await _own(s, viewer, filter_id)
        await load_visible(ctx, s, viewer, post_id)
        existing = await s.scalar(select(FilterStatus).where(FilterStatus.filter_id == row.id, FilterStatus.post_id == post_id))
        if existing is not None:
            raise Invalid("Validation failed: Status has already been taken")
        fs = FilterStatus(filter_id=row.id, post_id=post_id, created_at=utcnow())
        s.add(fs)
        await s.flush()
        return fs


async def get_status(ctx: NodeContext, viewer: Account, filter_status_id: int) -> FilterStatus:
    async with ctx.db.reader() as s:
        return await _own_status(s, viewer, filter_status_id)


async def delete_status(ctx: NodeContext, viewer: Account, filter_status_id: int) -> FilterStatus:
    async with ctx.db.session() as s:
        fs = await _own_status(s, viewer, filter_status_id)
        await s.delete(fs)
        return fs


async def list_keywords(ctx: NodeContext, viewer: Account, filter_id: int) -> list[FilterKeyword]:
    return (await get_filter(ctx, viewer, filter_id)).keywords


async def list_statuses(ctx: NodeContext, viewer: Account, filter_id: int) -> list[FilterStatus]:
    return (await get_filter(ctx, viewer, filter_id)).statuses


def filter_of(keyword: FilterKeyword, views: Sequence[FilterView]) -> FilterView:
    for v in views:
        if v.row.id == keyword.filter_id:
            return v
    raise NotFound("Record not found")


async def active(ctx: NodeContext, viewer: Account | None) -> list[CompiledFilter]:
    """The viewer's unexpired filters, compiled (the keyword patterns are cached by their
    keywords, so an unchanged filter is compiled once per process); three queries."""
    if viewer is None:
        return []
    at = now()
    async with ctx.db.reader() as s:
        rows = (await s.scalars(select(ContentFilter).where(
            ContentFilter.account_id == viewer.id,
            ContentFilter.expires_at.is_(None) | (ContentFilter.expires_at > at),
        ))).all()
        if not rows:
            return []
        ids = [r.id for r in rows]
        keywords = (await s.scalars(select(FilterKeyword).where(FilterKeyword.filter_id.in_(ids)).order_by(FilterKeyword.id))).all()
        statuses = (await s.execute(select(FilterStatus.filter_id, FilterStatus.post_id).where(FilterStatus.filter_id.in_(ids)))).all()
    by_filter: dict[int, list[Keyword]] = {}
    for k in keywords:
        by_filter.setdefault(k.filter_id, []).append(Keyword(k.id, k.keyword, k.whole_word))
    posts: dict[int, set[int]] = {}
    for fid, pid in statuses:
        posts.setdefault(fid, set()).add(pid)
    return [
        filters_match.compiled(r.id, r.title, r.contexts.split(","), r.action, r.expires_at,
                               by_filter.get(r.id, []), posts.get(r.id, set()))
        for r in rows
    ]


def judge(
    active_filters: Sequence[CompiledFilter], context: FilterContext, post: Post, proper: Post, alt_texts: Sequence[str]
) -> list[Match] | None:
    """The filters of `context` a post matches (a boost judged by its original, `proper`), or
    None when a `hide` filter removes it. The post's text is made only when a keyword may match."""
    relevant = [f for f in active_filters if context in f.contexts]
    if not relevant:
        return []
    text = ""
    if any(f.pattern is not None for f in relevant):
        text = searchable_text(proper.summary or "", html_to_text(proper.content_html or ""), (), alt_texts)
    found = match(relevant, context, text, [post.id, proper.id], now())
    return None if hides(found) else found
