"""Full-text search of posts: the index kept current (`index_posts`, `unindex`, called by
node/post_effects.py in the change's own transaction, for local and peers' posts alike),
rebuilt (`reindex`, `atrium search reindex`), and asked (`find_posts`).

A search returns only posts the viewer may see: the audience and trust rules
(node/visibility.py `visible_clause`) are part of the one query that matches, ranks and
pages, so a page is never short, nor wrong, for what was filtered after it. The words are
ranked (FTS5's bm25, PostgreSQL's ts_rank), then newest first; a search of operators alone
(`from:me has:media`) is newest first. docs/search.md says what is found by what."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.audience import Audience
from node.context import NodeContext
from node.search_query import Author, Filters, SearchQuery
from node.search_text import post_terms
from node.visibility import visible_clause
from storage import search_index
from storage.models import Account, Bookmark, Like, MediaAttachment, Mention, Post

REINDEX_BATCH = 1000
MEDIA_KINDS = {"image": ("image", "gifv"), "video": ("video", "gifv"), "audio": ("audio",)}


@dataclass(frozen=True)
class Window:
    """Which page of results: Mastodon's `offset` and `limit`, the `min_id`/`max_id` bounds
    (posts with ids strictly between), and `account_id` (only that account's posts)."""

    limit: int = 20
    offset: int = 0
    min_id: int | None = None
    max_id: int | None = None
    account_id: int | None = None


async def _alt_texts(s: AsyncSession, post_ids: Sequence[int]) -> dict[int, list[str]]:
    rows = await s.execute(
        select(MediaAttachment.post_id, MediaAttachment.description).where(
            MediaAttachment.post_id.in_(post_ids), MediaAttachment.position >= 0, MediaAttachment.description != ""
        )
    )
    out: dict[int, list[str]] = {}
    for post_id, text in rows:
        if post_id is not None:
            out.setdefault(post_id, []).append(text)
    return out


async def index_posts(
    s: AsyncSession, posts: Sequence[Post], *, fresh: bool = False, alt_texts: dict[int, list[str]] | None = None
) -> None:
    """Index (or index again, after an edit) these posts as they are in the session now.
    A boost says nothing of its own and is not indexed. `fresh`: posts just written, never
    indexed yet; `alt_texts`: their attachments' descriptions when the caller knows them
    (a post without attachments: `{}`), else read here."""
    own = [p for p in posts if p.reblog_of_id is None]
    if not own:
        return
    alts = alt_texts if alt_texts is not None else await _alt_texts(s, [p.id for p in own])
    await search_index.put(
        s, [(p.id, post_terms(p.content_html, p.summary, alts.get(p.id, []), p.language)) for p in own], fresh=fresh
    )


async def unindex(s: AsyncSession, post_ids: Sequence[int]) -> None:
    await search_index.remove(s, post_ids)


async def reindex(ctx: NodeContext, *, batch: int = REINDEX_BATCH) -> int:
    """Rebuild the whole index from the posts, `batch` posts per transaction (the index is
    emptied first; until the last batch a search finds fewer posts). Returns how many."""
    async with ctx.db.session() as s:
        await search_index.clear(s)
    done, after = 0, -1
    while True:
        async with ctx.db.session() as s:
            rows = list(
                await s.scalars(
                    select(Post).where(Post.id > after, Post.reblog_of_id.is_(None)).order_by(Post.id).limit(batch)
                )
            )
            if not rows:
                return done
            await index_posts(s, rows)
        done += len(rows)
        after = rows[-1].id


def _author_clause(ctx: NodeContext, viewer: Account, author: Author) -> ColumnElement[bool]:
    if author.me:
        return Post.account_id == viewer.id
    domain = Account.domain.is_(None) if author.domain is None else func.lower(Account.domain) == author.domain
    return Post.account_id.in_(
        select(Account.id).where(func.lower(Account.username) == author.username, domain)
    )


def _has(kind: str) -> ColumnElement[bool]:
    if kind == "poll":
        return false()  # Atrium has no polls yet
    media = select(MediaAttachment.id).where(MediaAttachment.post_id == Post.id, MediaAttachment.position >= 0)
    if kind in MEDIA_KINDS:
        media = media.where(MediaAttachment.kind.in_(MEDIA_KINDS[kind]))
    return exists(media)


def _is(kind: str) -> ColumnElement[bool]:
    return Post.in_reply_to_id.is_not(None) if kind == "reply" else Post.sensitive.is_(True)


def _filters(ctx: NodeContext, viewer: Account, f: Filters) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if f.authors:
        out.append(or_(*(_author_clause(ctx, viewer, a) for a in f.authors)))
    out += [_has(k) for k in sorted(f.has)]
    out += [_is(k) for k in sorted(f.is_)]
    if f.languages:
        out.append(or_(*(or_(func.lower(Post.language) == lang, func.lower(Post.language).startswith(lang + "-"))
                         for lang in sorted(f.languages))))
    return out


def _library(viewer: Account) -> ColumnElement[bool]:
    """`in:library`: what the viewer wrote, liked, bookmarked, boosted or was mentioned in."""
    mine = Post.__table__.alias("mine")
    return or_(
        Post.account_id == viewer.id,
        exists(select(Like.id).where(Like.post_id == Post.id, Like.account_id == viewer.id)),
        exists(select(Bookmark.id).where(Bookmark.post_id == Post.id, Bookmark.account_id == viewer.id)),
        exists(select(mine.c.id).where(mine.c.reblog_of_id == Post.id, mine.c.account_id == viewer.id)),
        exists(select(Mention.post_id).where(Mention.post_id == Post.id, Mention.account_id == viewer.id)),
    )


def _conditions(ctx: NodeContext, viewer: Account, q: SearchQuery, w: Window) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Post.reblog_of_id.is_(None), visible_clause(viewer, ctx.org_domains())]
    where += _filters(ctx, viewer, q.only)
    negated = _filters(ctx, viewer, q.without)
    if negated:
        where.append(not_(or_(*negated)))
    if q.since is not None:
        where.append(Post.created_at >= q.since)
    if q.until is not None:
        where.append(Post.created_at < q.until)
    if q.scope == "library":
        where.append(_library(viewer))
    elif q.scope == Audience.PUBLIC:
        where.append(Post.visibility == Audience.PUBLIC)
    if w.min_id is not None:
        where.append(Post.id > w.min_id)
    if w.max_id is not None:
        where.append(Post.id < w.max_id)
    if w.account_id is not None:
        where.append(Post.account_id == w.account_id)
    return where


async def find_posts(ctx: NodeContext, viewer: Account, q: SearchQuery, w: Window) -> list[Post]:
    """The page `w` of the posts `q` finds that `viewer` may see, best match first."""
    if q.empty:
        return []
    async with ctx.db.reader() as s:
        return list((await s.scalars(search_statement(ctx, s, viewer, q, w))).unique())


def search_statement(ctx: NodeContext, s: AsyncSession, viewer: Account, q: SearchQuery, w: Window) -> Select[Post]:
    """The query `find_posts` runs (`s` says which engine's full-text syntax)."""
    where = _conditions(ctx, viewer, q, w)
    if q.excluded:
        where.append(Post.id.not_in(search_index.matched_ids(s, q.excluded)))
    if q.text:
        hits = search_index.matches(s, q.text).subquery("hits")
        stmt = (
            select(Post).join(hits, hits.c.post_id == Post.id).where(and_(*where))
            .order_by(hits.c.rank, Post.id.desc())
        )
    else:
        stmt = select(Post).where(and_(*where)).order_by(Post.id.desc())
    return stmt.offset(w.offset).limit(w.limit)
