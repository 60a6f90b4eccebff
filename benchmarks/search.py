"""Search: `node.post_search.find_posts` (the code `/api/v2/search` and the web UI call) for a
signed-in viewer among N posts, first page of 20, p50 and p99 over a round of queries: a
common word (in 1 % of the posts), a rarer one (0.1 %), both together, a phrase (0.1 %), a
word of the uniform vocabulary (~0.05 %), and a word with `from:` — each with the audience
and trust rules in the query, ranked.

Ceiling, same run: the bare full-text query of the same words on the same index (the
engine's own syntax, as storage/search_index.py renders it), ranked, first 20 ids: no post
row, no rule. Posts: 90 % public, 5 % followers-only, 5 % organisation, by 100 authors; a
dozen words each, indexed by the node's own stems (node/search_text.py).
"""

from __future__ import annotations

import random
import time

from sqlalchemy import insert, text

from benchmarks.common import Databases, Result, percentile
from node import search_query
from node.context import NodeContext
from node.post_search import Window, find_posts
from node.search_text import stems
from storage import search_index
from storage.ids import new_id
from storage.models import Account, Post

AUTHORS = 100
CHUNK = 5000
VOCABULARY = 20_000
WORDS_PER_POST = 12
QUERIES = ("deploy", "incident", "deploy incident", '"release train"', "w4242", "deploy from:a7")


def _post_text(rng: random.Random, i: int) -> str:
    words = [f"w{rng.randrange(VOCABULARY)}" for _ in range(WORDS_PER_POST)]
    # (at offsets that are public posts: i % 20 > 1)
    if i % 100 == 5:
        words.append("deployment")
    if i % 1000 == 7:
        words.append("incidents")
    if i % 1000 == 3:
        words += ["release", "train"]
    return " ".join(words)


async def fill(db, authors: list[int], n: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(42)
    base_ms = int(time.time() * 1000) - 10_000_000
    for k in range(0, n, CHUNK):
        posts, terms = [], []
        for i in range(k, min(n, k + CHUNK)):
            pid = new_id(base_ms + i) & ~0xFFFF | (i & 0xFFFF)
            body = _post_text(rng, i)
            visibility = "public" if i % 20 > 1 else ("followers" if i % 20 == 0 else "organization")
            posts.append({"id": pid, "account_id": authors[i % len(authors)], "local": True, "source": body,
                          "content_html": f"<p>{body}</p>", "summary": "", "sensitive": False,
                          "visibility": visibility, "replies_count": 0, "likes_count": 0, "boosts_count": 0})
            terms.append((pid, " ".join(stems(body, None))))  # what post_terms makes of plain text
        async with db.session() as s:
            await s.execute(insert(Post), posts)
            await search_index.put(s, terms)


async def measure(ctx: NodeContext, viewer: Account, reads: int) -> tuple[float, float]:
    parsed = [search_query.parse(q, ctx.domain) for q in QUERIES]
    for q in parsed:  # warm the caches
        await find_posts(ctx, viewer, q, Window(limit=20))
    samples = []
    for r in range(reads):
        q = parsed[r % len(parsed)]
        t0 = time.perf_counter()
        await find_posts(ctx, viewer, q, Window(limit=20))
        samples.append((time.perf_counter() - t0) * 1000)
    return percentile(samples, 50), percentile(samples, 99)


async def ceiling(ctx: NodeContext, reads: int) -> float:
    """p99 of the bare ranked full-text query of the same words (their text part)."""
    async with ctx.db.reader() as s:
        sql = text(search_index.raw_match_sql(s))
        rendered = [search_index.rendered(s, search_query.parse(q, ctx.domain).text) for q in QUERIES]
    samples = []
    for r in range(reads):
        t0 = time.perf_counter()
        async with ctx.db.reader() as s:
            (await s.execute(sql, {"q": rendered[r % len(rendered)]})).all()
        samples.append((time.perf_counter() - t0) * 1000)
    return percentile(samples, 99)


async def run(dbs: Databases, engine: str, quick: bool) -> list[Result]:
    n = 3000 if quick else 1_000_000
    reads = 60 if quick else 1200
    db = await dbs.make(engine)
    try:
        ctx = NodeContext(db=db, domain="bench.atrium.test")
        async with db.session() as s:
            viewer = Account(username="viewer", domain=None)
            others = [Account(username=f"a{i}", domain=None) for i in range(AUTHORS)]
            s.add_all([viewer, *others])
        await fill(db, [a.id for a in others], n)
        if engine == "postgresql":
            async with db.session() as s:
                await s.execute(text("ANALYZE"))
        p50, p99 = await measure(ctx, viewer, reads)
        floor = await ceiling(ctx, reads)
    finally:
        await db.dispose()
    sfx = f"_{engine}"
    params = {"posts": n, "reads": reads, "queries": list(QUERIES)}
    return [
        Result("search_posts_p50_ms" + sfx, p50, "ms", floor, False, notes="find_posts, first page of 20", params=params),
        Result("search_posts_p99_ms" + sfx, p99, "ms", floor, False, target=20.0, met=p99 < 20.0,
               notes="target applies at 1M posts" + (" (quick run: smaller)" if quick else "")
               + "; ceiling = the bare ranked full-text query of the same words", params=params),
    ]
