"""Polls across two real `atrium serve` processes, driven by Mastodon.py as a person's app would:
alice on eng makes a poll, bob on sales (who follows her) sees it as a poll, votes from his
node; his vote reaches eng and is counted, eng's counts come back to sales in its
`Update(Question)`, and when the poll closes its final results and a `poll` notification arrive.
eng is SQLite; sales is PostgreSQL when the run includes it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import mastodon  # Mastodon.py, a test dependency (pyproject.toml)
import pytest
from sqlalchemy import select

from node.poll_closer import close_due
from node.poll_rows import options_of
from storage.models import Poll, Post, utcnow
from tests.conftest import ENGINES, drop_pg_database, recreate_pg_database, worker_tag
from tests.federation.nodes import NodeProcess, eventually
from tests.federation.test_multinode import follow_remote

SCOPES = ["read", "write", "follow"]


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    root: Path = tmp_path_factory.mktemp("polls_nodes")
    pg_name = f"atrium_polls_{worker_tag()}"
    on_pg = "postgresql" in ENGINES
    eng = NodeProcess("eng", root)
    sales = NodeProcess("sales", root, recreate_pg_database(pg_name) if on_pg else None)
    with ThreadPoolExecutor() as pool:
        list(pool.map(NodeProcess.init, (eng, sales)))
    eng.write_policy(f'mode = "allowlist"\n[peers."{sales.domain}"]\ntrust = "partner"\n')
    sales.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "partner"\n')
    eng.create_user("alice")
    sales.create_user("bob")
    try:
        with ThreadPoolExecutor() as pool:
            list(pool.map(NodeProcess.start, (eng, sales)))
        yield eng, sales
    finally:
        eng.stop()
        sales.stop()
        if on_pg and not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            drop_pg_database(pg_name)


def _client(node: NodeProcess, username: str) -> mastodon.Mastodon:
    client_id, client_secret = mastodon.Mastodon.create_app("polls test", scopes=SCOPES, api_base_url=node.base_url)
    client = mastodon.Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=node.base_url,
                               version_check_mode="none")
    client.log_in(username, f"{username}-password", scopes=SCOPES, allow_http=True)
    return client


async def _poll_at(node: NodeProcess, uri: str) -> tuple[Post, Poll] | None:
    async with node.act() as ctx, ctx.db.reader() as s:
        post = await s.scalar(select(Post).where(Post.uri == uri))
        poll = await s.get(Poll, post.id) if post is not None else None
        return (post, poll) if post is not None and poll is not None else None


async def test_a_poll_made_with_mastodon_py_is_voted_from_another_node_and_counts_come_back(
    nodes: tuple[NodeProcess, NodeProcess],
) -> None:
    eng, sales = nodes
    alice, bob = _client(eng, "alice"), _client(sales, "bob")
    # Given bob on sales follows alice on eng
    await follow_remote(sales, "bob", f"alice@{eng.domain}")

    async def accepted() -> bool:
        found = bob.search_v2(f"alice@{eng.domain}", resolve=True, result_type="accounts").accounts
        return bool(found) and bool(bob.account_relationships(found[0].id)[0].following)

    await eventually(accepted, timeout=60, what="eng to accept bob's follow")
    # When alice posts a poll with Mastodon.py
    status = alice.status_post("Offsite: where?", poll=alice.make_poll(["Lisbon", "Oslo", "Rome"], expires_in=3600))
    assert [o.title for o in status.poll.options] == ["Lisbon", "Oslo", "Rome"]

    # Then it reaches bob's home on sales as a poll (a Question on the wire)
    async def in_bobs_home() -> list[object]:
        return [s for s in bob.timeline_home() if s.uri == status.uri]

    copy = (await eventually(in_bobs_home, timeout=60, what="alice's poll in bob's home"))[0]
    assert copy.poll is not None and [o.title for o in copy.poll.options] == ["Lisbon", "Oslo", "Rome"]
    assert copy.poll.expired is False and copy.poll.voted is False
    # When bob votes for Oslo from sales
    voted = bob.poll_vote(copy.poll.id, [1])
    assert voted.voted is True and voted.own_votes == [1] and voted.options[1].votes_count == 1

    # Then eng counts his vote (a vote note, not stored as a post)
    async def counted_on_eng() -> bool:
        return alice.poll(status.poll.id).options[1].votes_count == 1

    await eventually(counted_on_eng, timeout=60, what="bob's vote counted on eng")
    assert alice.status_context(status.id).descendants == []
    # When alice votes for Rome on eng
    alice.poll_vote(status.poll.id, [2])

    # Then eng's counts come back to sales in an Update(Question): Rome's vote is there too
    async def counts_on_sales() -> list[int]:
        got = bob.poll(copy.poll.id)
        return [o.votes_count for o in got.options] if got.votes_count == 2 else []

    assert await eventually(counts_on_sales, timeout=60, what="eng's counts on sales") == [0, 1, 1]
    # When the poll's time is up on eng (its closer, with the clock moved on)
    async with eng.act() as ctx:
        assert await close_due(ctx, now=utcnow() + timedelta(hours=2)) == 1

    # Then sales learns it closed, with the final results, and bob is told (a `poll` notification)
    async def closed_on_sales() -> bool:
        found = await _poll_at(sales, status.uri)
        return found is not None and found[1].closed_at is not None

    await eventually(closed_on_sales, timeout=60, what="the closed poll on sales")
    final = bob.poll(copy.poll.id)
    assert final.expired is True and [o.votes_count for o in final.options] == [0, 1, 1]
    assert [n.status.id for n in bob.notifications(types=["poll"])] == [copy.id]
    assert [n.status.id for n in alice.notifications(types=["poll"])] == [status.id]
    found = await _poll_at(eng, status.uri)
    assert found is not None and [v for _, v in options_of(found[1])] == [0, 1, 1] and found[1].voters_count == 2
