"""Timelines: `node.timelines.home` (the code the client API calls) for a viewer whose home
has N entries among N posts, first page of 20, p50 and p99 over repeated reads.

Ceiling, same run: the latency of the cheapest round trip through the same reader session
machinery (`SELECT 1`): what any read costs before it does work.

Growth: the same p99 at N/100, N/10 and N posts (`growth_timeline_home_p99_ms_at_*`), and
`growth_timeline_home_p99_x_*` = p99 at N ÷ p99 at N/100 (1.0 = flat; ratio = 1/that).
"""

from __future__ import annotations

import time

from sqlalchemy import insert, text

from benchmarks.common import Databases, Result, percentile
from node import timelines
from node.context import NodeContext
from node.pagination import Page
from storage.ids import new_id
from storage.models import Account, Post, TimelineEntry

AUTHORS = 100
CHUNK = 5000


async def fill(db, viewer_id: int, authors: list[int], start: int, stop: int) -> None:  # type: ignore[no-untyped-def]
    base_ms = int(time.time() * 1000) - 10_000_000
    for k in range(start, stop, CHUNK):
        posts, entries = [], []
        for i in range(k, min(stop, k + CHUNK)):
            pid = new_id(base_ms + i) & ~0xFFFF | (i & 0xFFFF)
            author = authors[i % len(authors)]
            posts.append({"id": pid, "account_id": author, "local": True, "source": f"post {i}",
                          "content_html": f"<p>post {i} with some words in it</p>", "summary": "", "sensitive": False,
                          "visibility": "public", "replies_count": 0, "likes_count": 0, "boosts_count": 0})
            entries.append({"account_id": viewer_id, "post_id": pid, "author_id": author})
        async with db.session() as s:
            await s.execute(insert(Post), posts)
            await s.execute(insert(TimelineEntry), entries)


async def measure(ctx: NodeContext, viewer: Account, reads: int) -> tuple[float, float]:
    samples = []
    for _ in range(min(20, reads)):  # warm the caches
        await timelines.home(ctx, viewer, Page(limit=20))
    for _ in range(reads):
        t0 = time.perf_counter()
        got = await timelines.home(ctx, viewer, Page(limit=20))
        samples.append((time.perf_counter() - t0) * 1000)
    assert len(got) == 20
    return percentile(samples, 50), percentile(samples, 99)


async def floor(ctx: NodeContext, reads: int) -> float:
    samples = []
    for _ in range(reads):
        t0 = time.perf_counter()
        async with ctx.db.reader() as s:
            await s.execute(text("SELECT 1"))
        samples.append((time.perf_counter() - t0) * 1000)
    return percentile(samples, 50)


async def run(dbs: Databases, engine: str, quick: bool) -> list[Result]:
    n = 3000 if quick else 1_000_000
    reads = 30 if quick else 2000
    sfx = f"_{engine}"
    db = await dbs.make(engine)
    try:
        ctx = NodeContext(db=db, domain="bench.atrium.test")
        async with db.session() as s:
            viewer = Account(username="viewer", domain=None)
            s.add(viewer)
            others = [Account(username=f"a{i}", domain=None) for i in range(AUTHORS)]
            s.add_all(others)
        authors = [a.id for a in others]
        points: list[tuple[int, float, float]] = []
        done = 0
        for size in (max(100, n // 100), n // 10, n):
            await fill(db, viewer.id, authors, done, size)
            done = size
            if engine == "postgresql":
                async with db.session() as s:
                    await s.execute(text("ANALYZE"))
            p50, p99 = await measure(ctx, viewer, reads)
            points.append((size, p50, p99))
        ceiling = await floor(ctx, reads)
    finally:
        await db.dispose()
    size, p50, p99 = points[-1]
    target = 5.0 if engine == "sqlite" else 2.5  # ms at 1M posts (PostgreSQL's: issue #19)
    target_met = p99 < target
    out = [
        Result("timeline_home_p50_ms" + sfx, p50, "ms", ceiling, False, notes="home, first page of 20; ceiling = SELECT 1 round trip",
               params={"posts": size, "reads": reads}),
        Result("timeline_home_p99_ms" + sfx, p99, "ms", ceiling, False, target=target,
               met=target_met, notes="target applies at 1M posts" + (" (quick run: smaller)" if quick else ""),
               params={"posts": size, "reads": reads}),
    ]
    for label, (sz, _p50, sp99) in zip(("small", "medium", "large"), points, strict=True):
        out.append(Result(f"growth_timeline_home_p99_ms_at_{label}" + sfx, sp99, "ms", ceiling, False,
                          notes=f"home p99 with {sz} posts", params={"posts": sz}))
    growth = points[-1][2] / points[0][2] if points[0][2] else None
    out.append(Result("growth_timeline_home_p99_x" + sfx, growth, "x", 1.0, False,
                      notes=f"p99 at {points[-1][0]} posts ÷ p99 at {points[0][0]} posts (1.0 = no growth)",
                      params={"small": points[0][0], "large": points[-1][0]}))
    return out
