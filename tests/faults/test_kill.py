"""SIGKILL in the middle of work: a real node is killed while deliveries are in flight and while
its inbox worker is storing activities; after a restart nothing accepted or queued is lost.

Delivery is at least once (receivers deduplicate by activity id); inbox processing stores each
accepted activity exactly once. A killed worker's claims stay leased until the lease runs out;
the tests let that time pass by moving the leases (see harness.time_passes), not by waiting.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from node import posts
from node.inbound import INBOX
from node.outbox import DELIVER
from node.posts import NewPost
from tests.faults.harness import (
    FaultPeer,
    Traffic,
    deliveries,
    fault_peers,
    follow_alice,
    kill,
    queue_counts,
    start_node,
    stored_uris,
    time_passes,
)
from tests.federation.nodes import NodeProcess, eventually

POSTS = 12


def create_objects(peer: FaultPeer) -> set[str]:
    return {str(a["object"]["id"]) for a in peer.received_of("Create")}  # type: ignore[index]


async def test_a_node_killed_mid_delivery_makes_every_queued_delivery_after_restart(
    tmp_path: Path, node_database: str | None
) -> None:
    async with fault_peers(2) as (slow, quick):
        node = start_node(tmp_path, [slow, quick], node_database)
        try:
            await follow_alice(node, slow)
            await follow_alice(node, quick)
            # Given deliveries in flight: one peer answers, the other holds every request open
            slow.hanging = True
            async with node.act() as ctx:
                author = await node.user(ctx, "alice")
                uris = {(await posts.create_post(ctx, author, NewPost(f"post {i}"))).uri for i in range(POSTS)}
            await eventually(lambda: _at_least(slow, "held", 1), timeout=60, what="a delivery held open")
            await eventually(lambda: _some_creates(quick), timeout=60, what="a delivery made")
            # When the node is killed mid-batch
            kill(node)
            slow.release()
            assert (await deliveries(node, slow.domain)).get("running", 0) >= 1, "nothing was in flight"
            # And restarts after its workers' leases have run out
            await time_passes(node, timedelta(minutes=5))
            node.start()

            # Then every post reaches both peers (at least once) and the queue is drained
            async def all_delivered() -> bool:
                return create_objects(slow) >= uris and create_objects(quick) >= uris

            await eventually(all_delivered, timeout=120, what="every Create at both peers")

            async def drained() -> dict[str, int] | None:
                counts = (await queue_counts(node)).get(DELIVER, {})
                return counts if set(counts) == {"done"} else None

            await eventually(drained, timeout=60, what="no delivery left pending or failed")
        finally:
            node.stop()


async def _at_least(peer: FaultPeer, attr: str, n: int) -> bool:
    return int(getattr(peer, attr)) >= n


async def _some_creates(peer: FaultPeer) -> bool:
    return bool(peer.received_of("Create"))


async def test_a_node_killed_mid_inbox_processing_stores_every_accepted_activity_once(
    tmp_path: Path, node_database: str | None
) -> None:
    async with fault_peers(3) as senders:
        node = start_node(tmp_path, senders, node_database)
        traffic = Traffic(node, senders, limit=40, streams=4)
        try:
            # Given three peers sending signed Creates faster than the inbox worker stores them
            traffic.start()
            await eventually(lambda: _backlog(node, traffic), timeout=90, what="the inbox worker storing, behind")
            # When the node is killed while requests arrive and the worker is mid-batch
            kill(node)
            await traffic.stop()
            assert len(await stored_uris(node)) < len(traffic.accepted), "no backlog when killed"
            # And restarts after the killed worker's leases have run out
            await time_passes(node, timedelta(minutes=5))
            node.start()

            # Then every accepted activity is stored, and stored once
            async def all_stored() -> bool:
                return set(await stored_uris(node)) >= traffic.accepted

            await eventually(all_stored, timeout=120, what="every accepted note stored")

            async def drained() -> dict[str, int] | None:
                counts = (await queue_counts(node)).get(INBOX, {})
                return counts if set(counts) == {"done"} else None

            await eventually(drained, timeout=60, what="the inbox queue drained")
            uris = await stored_uris(node)
            assert len(uris) == len(set(uris))
            assert set(uris) <= set(traffic.answers)
        finally:
            await traffic.stop()
            node.stop()


async def _backlog(node: NodeProcess, traffic: Traffic) -> bool:
    """Some accepted activities are stored, and at least ten still wait for the worker."""
    stored = len(await stored_uris(node))
    return stored >= 1 and len(traffic.accepted) - stored >= 10
