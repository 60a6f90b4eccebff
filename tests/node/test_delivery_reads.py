"""The reads a batch of deliveries makes before it is sent (node.delivery_check.read_many):
each delivery's ordering check — exactly what `jobs.earlier_unfinished` answers for it — and
the post it is judged on again, for the whole batch in one statement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from node.delivery_check import Asked, PostNow, read_many
from storage import jobs
from storage.db import Database
from storage.models import Account, Post


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements the database's readers run meanwhile (other than opening and
    closing their transaction)."""
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append(statement)

    engine = db.read_engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_a_batch_reads_its_orders_and_its_posts_in_one_statement(db: Database) -> None:
    # Given two posts (one edited), and deliveries on keys A (the first still pending) and B
    async with db.session() as s:
        author = Account(username="ada", domain=None)
        s.add(author)
        await s.flush()
        kept = Post(account_id=author.id, source="as written", content_html="<p>as written</p>", visibility="organization")
        remote = Post(account_id=author.id, local=False, source="", content_html="<p>from <b>elsewhere</b></p>",
                      visibility="followers")
        s.add_all([kept, remote])
    a1 = await jobs.enqueue(db, "deliver", b"a1", ordering_key="A")
    a2 = await jobs.enqueue(db, "deliver", b"a2", ordering_key="A")
    b1 = await jobs.enqueue(db, "deliver", b"b1", ordering_key="B")
    asked = [Asked(a1, "A", kept.id), Asked(a2, "A", remote.id), Asked(b1, "B", 999), Asked(b1 + 1, None, None)]
    # When they are read together
    with statements(db) as seen:
        found = await read_many(db, asked)
    # Then one statement answered every ordering check as the one-by-one check does ...
    assert len(seen) == 1
    assert [f.earlier_unfinished for f in found] == [await jobs.earlier_unfinished(db, a.job_id, a.ordering_key)
                                                     if a.ordering_key else False for a in asked] == [False, True, False, False]
    # ... and read each post as it is now (none for a post gone, or for no post asked)
    assert [f.post for f in found] == [PostNow("organization", "as written", "<p>as written</p>", None),
                                       PostNow("followers", "", "<p>from <b>elsewhere</b></p>", None), None, None]
    assert found[1].post is not None and found[1].post.text() == "from elsewhere"
    # And a batch with only orders, or only posts, is one statement too
    for only in ([Asked(a2, "A", None)], [Asked(a2, None, kept.id)]):
        with statements(db) as seen:
            await read_many(db, only)
        assert len(seen) == 1
