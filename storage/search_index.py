"""The full-text index of posts, as each engine keeps it (migration 0023): SQLite's FTS5
table `post_search` (rowid = the post's id) and PostgreSQL's `post_search` table of
`tsvector`s under a GIN index. Both hold terms that node/search_text.py has already
stemmed, space-separated, and are asked with an engine-neutral `Query` rendered here into
FTS5 syntax or a `tsquery` — the only place either syntax is written, and every term is
quoted, so nothing a person types is read as syntax.

The table is not one of the models (neither engine's form can be); tests/storage/test_schema.py
knows its names (`TABLE_PREFIX`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnClause,
    Select,
    bindparam,
    column,
    delete,
    func,
    insert,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import REGCONFIG, TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession

TABLE_PREFIX = "post_search"  # the table, and FTS5's shadow tables (post_search_data, …)

# Phrase = words in order; Either = any of its phrases; Query = all of its Eithers.
Phrase = tuple[str, ...]
Either = tuple[Phrase, ...]


@dataclass(frozen=True)
class Query:
    """What a post's terms must contain: every `Either` of `all_of` (an `Either` is found when
    one of its phrases is, a phrase when its words stand in that order, next to each other)."""

    all_of: tuple[Either, ...]

    def __bool__(self) -> bool:
        return any(any(p for p in e) for e in self.all_of)


_FTS = table("post_search", column("rowid"), column("terms"))
_PG = table("post_search", column("post_id"), column("terms", TSVECTOR))
_SIMPLE = literal_column("'simple'", REGCONFIG)


def _sqlite(s: AsyncSession) -> bool:
    return s.get_bind().dialect.name == "sqlite"


def _fts5(query: Query) -> str:
    def phrase(p: Phrase) -> str:
        return '"' + " ".join(w.replace('"', '""') for w in p) + '"'

    return " AND ".join(
        "(" + " OR ".join(phrase(p) for p in either if p) + ")" for either in query.all_of if any(either)
    )


def _tsquery(query: Query) -> str:
    def phrase(p: Phrase) -> str:
        words = ["'" + w.replace("'", "''").replace("\\", "\\\\") + "'" for w in p]
        return "(" + " <-> ".join(words) + ")"

    return " & ".join(
        "(" + " | ".join(phrase(p) for p in either if p) + ")" for either in query.all_of if any(either)
    )


def matches(s: AsyncSession, query: Query) -> Select[tuple[int, float]]:
    """A sub-select of (post_id, rank) for the posts whose terms satisfy `query`: the lower
    the rank, the better the match (FTS5's bm25; PostgreSQL's ts_rank, negated)."""
    if _sqlite(s):
        fts: ColumnClause[Any] = literal_column("post_search")
        return select(_FTS.c.rowid.label("post_id"), func.bm25(fts).label("rank")).where(
            fts.op("MATCH")(bindparam("fts_query", _fts5(query)))
        )
    tsq = func.to_tsquery(_SIMPLE, bindparam("fts_query", _tsquery(query)))
    return select(_PG.c.post_id.label("post_id"), (-func.ts_rank(_PG.c.terms, tsq)).label("rank")).where(
        _PG.c.terms.op("@@")(tsq)
    )


def matched_ids(s: AsyncSession, query: Query) -> Select[tuple[int]]:
    """The ids of the posts whose terms satisfy `query` (for a NOT IN)."""
    if _sqlite(s):
        return select(_FTS.c.rowid).where(
            literal_column("post_search").op("MATCH")(bindparam("fts_not", _fts5(query)))
        )
    tsq = func.to_tsquery(_SIMPLE, bindparam("fts_not", _tsquery(query)))
    return select(_PG.c.post_id).where(_PG.c.terms.op("@@")(tsq))


_PG_PUT = text("INSERT INTO post_search (post_id, terms) VALUES (:post_id, to_tsvector('simple', :terms))")
_FTS_PUT = insert(_FTS)


async def put(s: AsyncSession, rows: Sequence[tuple[int, str]], *, fresh: bool = False) -> None:
    """Index (or index again) each post id with its terms; `fresh`: ids never indexed before."""
    if not rows:
        return
    if not fresh:
        await remove(s, [post_id for post_id, _ in rows])
    conn = await s.connection()  # Core: the ORM adds nothing to a plain INSERT but its cost
    if _sqlite(s):
        await conn.execute(_FTS_PUT, [{"rowid": i, "terms": t} for i, t in rows])
        return
    await conn.execute(_PG_PUT, [{"post_id": i, "terms": t} for i, t in rows])


async def remove(s: AsyncSession, post_ids: Iterable[int]) -> None:
    ids = list(post_ids)
    if not ids:
        return
    if _sqlite(s):
        await s.execute(delete(_FTS).where(_FTS.c.rowid.in_(ids)))
    else:
        await s.execute(delete(_PG).where(_PG.c.post_id.in_(ids)))


async def clear(s: AsyncSession) -> None:
    """Empty the index (a rebuild starts here)."""
    await s.execute(text("DELETE FROM post_search"))


async def count(s: AsyncSession) -> int:
    return int(await s.scalar(text("SELECT count(*) FROM post_search")) or 0)


def raw_match_sql(s: AsyncSession) -> str:
    """The bare full-text query of a first page, without a post row or a rule: the benchmark's
    ceiling (`:q` is a query as `matches` renders it)."""
    if _sqlite(s):
        return "SELECT rowid FROM post_search WHERE post_search MATCH :q ORDER BY bm25(post_search) LIMIT 20"
    return (
        "SELECT post_id FROM post_search WHERE terms @@ to_tsquery('simple', :q)"
        " ORDER BY ts_rank(terms, to_tsquery('simple', :q)) DESC LIMIT 20"
    )


def rendered(s: AsyncSession, query: Query) -> str:
    """`query` in the engine's own syntax (for `raw_match_sql`)."""
    return _fts5(query) if _sqlite(s) else _tsquery(query)
