"""What a search with `from:` costs grows with what it finds, not with the author's posts
times its hits (a plan that walked every post of the author for each full-text hit took a
second at 100,000 posts). Measured as work the database reports, as tests/storage/test_claim_cost.py
does: SQLite's virtual-machine steps, PostgreSQL's rows produced by the plan's nodes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from node import search_query
from node.context import NodeContext
from node.post_search import Window, search_statement
from node.search_text import stems
from storage import search_index
from storage.ids import new_id
from storage.models import Account, Post
from tests.factory import public_post_row
from tests.node.conftest import DOMAIN
from tests.storage.test_claim_cost import _work


async def _write(ctx: NodeContext, author: Account, n: int) -> None:
    """`n` public posts by `author` that all say "deploy", indexed."""
    rows, terms = [], []
    for i in range(n):
        pid = new_id()
        body = f"deploy number {i} of the train"
        rows.append(public_post_row(author.id, body, pid))
        terms.append((pid, " ".join(stems(body, None))))
    async with ctx.db.session() as s:
        await s.execute(insert(Post), rows)
        await search_index.put(s, terms, fresh=True)


async def _cost(ctx: NodeContext, viewer: Account, q: str) -> int:
    async with ctx.db.reader() as s:
        statement: Any = search_statement(ctx, s, viewer, search_query.parse(q, DOMAIN), Window(limit=20))
    return await _work(ctx.db, statement)


async def test_a_search_from_an_author_costs_what_it_finds(ctx: NodeContext, alice: Account, bob: Account) -> None:
    # Given bob wrote 100 posts that say "deploy", and what alice's search of them costs
    await _write(ctx, bob, 100)
    small = await _cost(ctx, alice, "deploy from:bob")
    # When he has written 1,000
    await _write(ctx, bob, 900)
    large = await _cost(ctx, alice, "deploy from:bob")
    # Then the search costs about ten times as much, not a hundred (hits x the author's posts)
    assert large < small * 25, (small, large)
