"""A page of an author's outbox costs a page, however many posts the author has written: it is
read in order from the (account_id, id) index. While boosts' uniqueness was a constraint over
every post, SQLite took `account_id = ? AND reblog_of_id IS NULL` for a one-row lookup in it and
read, then sorted, every post of the author (migration 0029 made it a partial index of boosts).
Work is measured by the database, as tests/storage/test_claim_cost.py does."""

from __future__ import annotations

from sqlalchemy import insert

from node.ap_reads import outbox_page_statement
from node.context import NodeContext
from storage.models import Account, Post
from tests.factory import public_post_row
from tests.storage.test_claim_cost import _work


async def _write(ctx: NodeContext, author: Account, n: int) -> None:
    rows = [public_post_row(author.id, f"post {i}") for i in range(n)]
    async with ctx.db.session() as s:
        await s.execute(insert(Post), rows)


async def test_an_outbox_page_costs_a_page_not_the_authors_posts(ctx: NodeContext, bob: Account) -> None:
    # Given bob wrote 100 public posts, and what the first page of his outbox costs
    await _write(ctx, bob, 100)
    small = await _work(ctx.db, outbox_page_statement(bob, None))
    # When he has written 2,000
    await _write(ctx, bob, 1_900)
    large = await _work(ctx.db, outbox_page_statement(bob, None))
    # Then the page costs about the same (twenty times the posts read and sorted, before)
    assert large < small * 2, (small, large)
