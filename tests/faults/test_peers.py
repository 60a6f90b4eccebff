"""Peers that go away, at process level: a real node delivering over real HTTP to fake peers.

Hours of downtime are simulated by moving the node's queue and breaker timestamps into the
past (harness.time_passes): the node's own workers then see them as due, as they would after
that time had passed.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from node import peers, posts
from node.posts import NewPost
from storage.models import Peer
from tests.faults.harness import FaultPeer, deliveries, fault_peers, follow_alice, start_node, time_passes
from tests.federation.nodes import NodeProcess, eventually


def object_of(activity: dict[str, object]) -> str:
    obj = activity.get("object")
    return str(obj.get("id") if isinstance(obj, dict) else obj)


def arrival_order(peer: FaultPeer, uri: str) -> list[str]:
    """The types of the activities about `uri` the peer got, first arrivals only, in order."""
    seen: list[str] = []
    for activity in peer.received:
        kind = str(activity.get("type"))
        if object_of(activity) == uri and kind not in seen:
            seen.append(kind)
    return seen


async def peer_row(node: NodeProcess, domain: str) -> Peer | None:
    async with node.act() as ctx, ctx.db.reader() as s:
        return await s.scalar(select(Peer).where(Peer.domain == domain))


async def failures(node: NodeProcess, domain: str) -> int:
    row = await peer_row(node, domain)
    return row.consecutive_failures if row is not None else 0


async def test_a_peer_down_for_hours_gets_its_backlog_in_order_per_object(
    tmp_path: Path, node_database: str | None
) -> None:
    async with fault_peers(1) as (away,):
        node = start_node(tmp_path, [away], node_database)
        try:
            await follow_alice(node, away)
            # Given the peer is down while alice posts, edits one post and deletes two
            await away.stop()
            done_before = (await deliveries(node, away.domain)).get("done", 0)  # the Accept
            async with node.act() as ctx:
                me = await node.user(ctx, "alice")
                made = [await posts.create_post(ctx, me, NewPost(f"written while away {i}")) for i in range(3)]

            async def queued(n: int) -> bool:
                return sum((await deliveries(node, away.domain)).values()) - done_before >= n

            await eventually(lambda: queued(3), timeout=60, what="the Creates queued")
            async with node.act() as ctx:
                me = await node.user(ctx, "alice")
                await posts.edit_post(ctx, me, made[0].id, "edited while away")
                for post in made[1:]:
                    await posts.delete_post(ctx, me, post.id)
            await eventually(lambda: queued(6), timeout=60, what="the Update and Deletes queued")
            # And hours pass with every retry failing, until the peer's breaker opens
            while (seen := await failures(node, away.domain)) < peers.BREAKER_AFTER:
                await time_passes(node, timedelta(hours=1))
                await eventually(lambda s=seen: _more_failures(node, away.domain, s), timeout=60,
                                 what="another failed retry")
            row = await peer_row(node, away.domain)
            assert row is not None and row.breaker_until is not None
            assert (await deliveries(node, away.domain)).get("done", 0) == done_before
            # When the peer is back and more hours have passed (it never talks to the node first)
            await away.start()
            await time_passes(node, timedelta(hours=6))

            # Then it gets the whole backlog, and per object never a Delete or Update first
            async def backlog() -> bool:
                return all(len(arrival_order(away, str(p.uri))) == 2 for p in made)

            await eventually(backlog, timeout=120, what="the backlog at the returned peer")
            assert arrival_order(away, str(made[0].uri)) == ["Create", "Update"]
            assert arrival_order(away, str(made[1].uri)) == ["Create", "Delete"]
            assert arrival_order(away, str(made[2].uri)) == ["Create", "Delete"]
        finally:
            node.stop()


async def _more_failures(node: NodeProcess, domain: str, than: int) -> bool:
    return await failures(node, domain) > than


async def test_a_peer_that_never_answers_does_not_hold_up_deliveries_to_live_ones(
    tmp_path: Path, node_database: str | None
) -> None:
    async with fault_peers(2) as (live, stuck):
        node = start_node(tmp_path, [live, stuck], node_database)
        try:
            await follow_alice(node, live)
            await follow_alice(node, stuck)
            # Given a peer that accepts connections and never answers (each delivery to it waits
            # for the sender's 30 s timeout)
            stuck.hanging = True
            # When alice posts more than a worker batch of posts
            count = 35  # more than a worker claims at once (20)
            async with node.act() as ctx:
                me = await node.user(ctx, "alice")
                made = {(await posts.create_post(ctx, me, NewPost(f"post {i}"))).uri for i in range(count)}

            # Then the live peer gets every one while the stuck peer's first deliveries are
            # still waiting: none of them had to time out before the live peer was served
            async def all_at_live() -> bool:
                return {object_of(a) for a in live.received if a.get("type") == "Create"} >= made

            await eventually(all_at_live, timeout=120, what="every post at the live peer")
            assert stuck.held >= 1
            assert stuck.aborted == 0, "a live delivery waited for a stuck one to time out"
        finally:
            stuck.release()
            node.stop()
