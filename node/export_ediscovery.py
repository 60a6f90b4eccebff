"""The eDiscovery export (`atrium export`): what this node holds of some accounts (one, or those a
legal hold's case names) or of every post containing some text, in one signed archive.

The archive (node/export_zip.py) holds JSON Lines files — `accounts.jsonl`, `posts.jsonl` (with
audience, edit history, attachments, mentions, tags), `direct_messages.jsonl` (direct posts the
accounts wrote or received), `reactions.jsonl` (likes and boosts given and received),
`sealed_posts.jsonl` (held accounts' removed posts, node/holds.py), `decisions.jsonl` (the audit
entries whose object is one of those posts) — the attachments' bytes under `media/`, and
`manifest.json` with its signature by the instance key. Only rows of this node's database go in:
nothing is fetched, so an export never holds a post this node did not hold.

Rows are read in pages and written as they come (no archive is held in memory).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Row, Select, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, aliased

from node import audit
from node.audience import Audience
from node.context import NodeContext
from node.export_records import MediaFile, account_record, handle, post_records, sealed_record, when
from node.export_zip import FORMAT, ArchiveWriter, Sink, writing
from node.holds import accounts_of_case
from node.instance import get_instance
from storage.errors import Invalid, NotFound
from storage.models import Account, Like, Mention, Post, SealedPost, utcnow

PAGE = 200
_Ts = TypeVarTuple("_Ts")
MAX_QUERY = 500


@dataclass(frozen=True)
class Scope:
    """What to export: accounts (by id) or posts containing `query`, posted in [since, until)."""

    kind: str  # account | hold | query
    name: str  # the username, the case, or the text
    account_ids: tuple[int, ...] = ()
    since: datetime | None = None
    until: datetime | None = None

    @property
    def query(self) -> str | None:
        return self.name if self.kind == "query" else None


async def account_scope(ctx: NodeContext, username: str, **period: datetime | None) -> Scope:
    async with ctx.db.reader() as s:
        account = await s.scalar(select(Account).where(Account.username == username, Account.domain.is_(None)))
    if account is None:
        raise NotFound(f"no such local account: {username}")
    return Scope("account", username, (account.id,), **period)


async def hold_scope(ctx: NodeContext, case: str, **period: datetime | None) -> Scope:
    """Every account the case holds or ever held (a released hold's account is still evidence
    of the case: `active_only=False`)."""
    async with ctx.db.reader() as s:
        ids = await accounts_of_case(s, case, active_only=False)
    if not ids:
        raise NotFound(f"no legal hold has the case name {case!r}")
    return Scope("hold", case, tuple(ids), **period)


def query_scope(text: str, **period: datetime | None) -> Scope:
    if not text.strip():
        raise Invalid("--query needs some text")
    if len(text) > MAX_QUERY or "\x00" in text:
        raise Invalid(f"--query is at most {MAX_QUERY} characters, without NUL")
    return Scope("query", text, (), **period)


@dataclass
class Exported:
    path: Path
    counts: dict[str, int] = field(default_factory=dict)
    missing_media: list[str] = field(default_factory=list)


def _period(column: Any, scope: Scope) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if scope.since is not None:
        out.append(column >= scope.since)
    if scope.until is not None:
        out.append(column < scope.until)
    return out


def _matches(scope: Scope) -> ColumnElement[bool]:
    """A post's text contains the query: what its author wrote here, or a peer's post as shown."""
    q = scope.query or ""
    return or_(Post.source.icontains(q, autoescape=True),
               and_(Post.local.is_(False), Post.content_html.icontains(q, autoescape=True)),
               Post.summary.icontains(q, autoescape=True))


def _posts_where(scope: Scope, *, direct: bool) -> ColumnElement[bool]:
    kind = Post.visibility == Audience.DIRECT if direct else Post.visibility != Audience.DIRECT
    conditions = [Post.reblog_of_id.is_(None), kind, *_period(Post.created_at, scope)]
    if scope.query is not None:
        conditions.append(_matches(scope))
    elif direct:  # the accounts' direct messages: written, or received (named in them)
        received = select(Mention.post_id).where(Mention.account_id.in_(scope.account_ids))
        conditions.append(or_(Post.account_id.in_(scope.account_ids), Post.id.in_(received)))
    else:
        conditions.append(Post.account_id.in_(scope.account_ids))
    return and_(*conditions)


async def _pages(ctx: NodeContext, where: ColumnElement[bool]) -> AsyncIterator[list[Post]]:
    async for rows in _paged(ctx, select(Post).where(where), Post.id):
        yield [row[0] for row in rows]


@dataclass
class _Found:
    """What the later files need from the posts written: their ids and URIs, their authors,
    the attachments to copy."""

    post_ids: set[int] = field(default_factory=set)
    uris: set[str] = field(default_factory=set)
    authors: set[int] = field(default_factory=set)
    files: dict[str, MediaFile] = field(default_factory=dict)


async def _write_posts(ctx: NodeContext, w: ArchiveWriter, name: str, where: ColumnElement[bool], found: _Found) -> int:
    n = 0
    with w.open(name) as sink:
        async for page in _pages(ctx, where):
            async with ctx.db.reader() as s:
                batch = await post_records(ctx, s, page)
            for post, record in zip(page, batch.records, strict=True):
                sink.line(record)
                found.post_ids.add(post.id)
                found.authors.add(post.account_id)
                if post.uri:
                    found.uris.add(post.uri)
            found.files.update((f.path, f) for f in batch.files)
            n += len(page)
    return n


async def _paged(
    ctx: NodeContext, stmt: Select[*_Ts], key: InstrumentedAttribute[int]
) -> AsyncIterator[Sequence[Row[*_Ts]]]:
    """The rows of `stmt` (whose first column is the row `key` belongs to), a page at a time by `key`."""
    after = 0
    while True:
        async with ctx.db.reader() as s:
            rows = (await s.execute(stmt.where(key > after).order_by(key).limit(PAGE))).unique().all()
        if rows:
            yield rows
        if len(rows) < PAGE:
            return
        after = rows[-1][0].id  # type: ignore[misc]  # every statement paged starts with a row that has an id


async def _likes(ctx: NodeContext, sink: Sink, where: ColumnElement[bool], scope: Scope, seen: set[int]) -> int:
    """The likes `where` names (each written once, whichever way it was found)."""
    original, liker, author = aliased(Post), aliased(Account), aliased(Account)
    stmt = (select(Like, liker, original, author).join(liker, liker.id == Like.account_id)
            .join(original, original.id == Like.post_id).join(author, author.id == original.account_id)
            .where(where, *_period(Like.created_at, scope)))
    n = 0
    async for rows in _paged(ctx, stmt, Like.id):
        for like, who, post, by in rows:
            if like.id not in seen:
                seen.add(like.id)
                sink.line({"type": "like", "uri": like.uri, "by": handle(ctx, who), "at": when(like.created_at),
                           "post_uri": post.uri, "post_author": handle(ctx, by)})
                n += 1
    return n


async def _boosts(ctx: NodeContext, sink: Sink, where: ColumnElement[bool], scope: Scope, seen: set[int]) -> int:
    original, booster, author = aliased(Post), aliased(Account), aliased(Account)
    stmt = (select(Post, booster, original, author).join(booster, booster.id == Post.account_id)
            .join(original, original.id == Post.reblog_of_id).join(author, author.id == original.account_id)
            .where(where, Post.reblog_of_id.is_not(None), *_period(Post.created_at, scope)))
    n = 0
    async for rows in _paged(ctx, stmt, Post.id):
        for boost, who, post, by in rows:
            if boost.id not in seen:
                seen.add(boost.id)
                sink.line({"type": "boost", "uri": boost.uri, "by": handle(ctx, who), "at": when(boost.created_at),
                           "audience": boost.visibility, "post_uri": post.uri, "post_author": handle(ctx, by)})
                n += 1
    return n


async def _write_reactions(ctx: NodeContext, w: ArchiveWriter, scope: Scope, found: _Found) -> int:
    """Likes and boosts: given by the accounts, and received by the posts exported."""
    n, liked, boosted = 0, set[int](), set[int]()
    with w.open("reactions.jsonl") as sink:
        if scope.query is None:
            n += await _likes(ctx, sink, Like.account_id.in_(scope.account_ids), scope, liked)
            n += await _boosts(ctx, sink, Post.account_id.in_(scope.account_ids), scope, boosted)
        ids = sorted(found.post_ids)
        for i in range(0, len(ids), 500):
            n += await _likes(ctx, sink, Like.post_id.in_(ids[i:i + 500]), scope, liked)
            n += await _boosts(ctx, sink, Post.reblog_of_id.in_(ids[i:i + 500]), scope, boosted)
    return n


async def _write_sealed(ctx: NodeContext, w: ArchiveWriter, scope: Scope, found: _Found) -> int:
    n = 0
    needle = (scope.query or "").casefold()
    stmt = select(SealedPost, Account).join(Account, Account.id == SealedPost.account_id).where(
        *_period(SealedPost.posted_at, scope))
    if scope.query is None:
        stmt = stmt.where(SealedPost.account_id.in_(scope.account_ids))
    with w.open("sealed_posts.jsonl") as sink:
        async for rows in _paged(ctx, stmt, SealedPost.id):
            for sealed, account in rows:
                record, files = sealed_record(ctx, sealed, account)
                post = record["snapshot"].get("post") if isinstance(record["snapshot"], dict) else None
                text = " ".join(str(post.get(k) or "") for k in ("source", "content_html", "summary")) if isinstance(post, dict) else ""
                if needle and needle not in text.casefold():
                    continue
                sink.line(record)
                found.authors.add(account.id)
                if sealed.uri:
                    found.uris.add(sealed.uri)
                found.files.update((f.path, f) for f in files)
                n += 1
    return n


async def _write_decisions(ctx: NodeContext, w: ArchiveWriter, found: _Found) -> int:
    """The audit entries about the posts exported (one pass over the trail, oldest first)."""
    n = 0
    with w.open("decisions.jsonl") as sink:
        if found.uris:
            async for entry in audit.entries(ctx.db):
                if entry.object in found.uris:
                    sink.line(audit.as_dict(entry))
                    n += 1
    return n


async def _write_accounts(ctx: NodeContext, w: ArchiveWriter, scope: Scope, found: _Found) -> int:
    ids = sorted(set(scope.account_ids) | found.authors)
    with w.open("accounts.jsonl") as sink:
        for i in range(0, len(ids), PAGE):
            async with ctx.db.reader() as s:
                accounts = (await s.scalars(select(Account).where(Account.id.in_(ids[i:i + PAGE])).order_by(Account.id))).unique()
                for account in accounts:
                    record = await account_record(ctx, s, account)
                    record["exported"] = account.id in scope.account_ids
                    sink.line(record)
    return len(ids)


async def write_media(ctx: NodeContext, w: ArchiveWriter, files: dict[str, MediaFile]) -> list[str]:
    """Copy each attachment's bytes from the media store; the paths the store no longer had."""
    missing: list[str] = []
    for path in sorted(files):
        if ctx.media is None:
            missing.append(path)
            continue
        try:
            data = await ctx.media.get(files[path].store_key)
        except NotFound:
            missing.append(path)
            continue
        w.add(path, data)
    return missing


async def export(ctx: NodeContext, scope: Scope, out: Path) -> Exported:
    """Write the archive of `scope` to `out` (a new file: refused if it exists)."""
    instance = await get_instance(ctx.db)
    found = _Found()
    counts: dict[str, int] = {}
    with writing(out) as w:
        counts["posts"] = await _write_posts(ctx, w, "posts.jsonl", _posts_where(scope, direct=False), found)
        counts["direct_messages"] = await _write_posts(ctx, w, "direct_messages.jsonl", _posts_where(scope, direct=True), found)
        counts["sealed_posts"] = await _write_sealed(ctx, w, scope, found)
        counts["reactions"] = await _write_reactions(ctx, w, scope, found)
        counts["decisions"] = await _write_decisions(ctx, w, found)
        counts["accounts"] = await _write_accounts(ctx, w, scope, found)
        missing = await write_media(ctx, w, found.files)
        counts["media_files"] = len(found.files) - len(missing)
        w.sign({
            "format": FORMAT, "node": ctx.domain, "created_at": when(utcnow()),
            "scope": {"kind": scope.kind, "value": scope.name, "since": when(scope.since), "until": when(scope.until)},
            "counts": counts, "missing_media": missing,
        }, instance.private_key_pem)
        w.finish()
    return Exported(out, counts, missing)
