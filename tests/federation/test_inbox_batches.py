"""The inbox worker's batches (node/workers.py `_in_batch`, storage/batches.py): many activities
in one transaction, a savepoint each, are the same code as one alone, and leave the same rows.

Two nodes on two databases of the engine under test get the same signed activities from the
same fake peer over real HTTP: one node's worker takes them fifty to a batch, the other's one
at a time. Their rows — posts, mentions, hashtags, home timelines, notifications, follows,
tombstones, the inbox log and the jobs queued — must be the same, with the nodes' own addresses
and the ids each made set aside. One activity in the set can only be handled with a fetch (a
reply to a note the node has not seen): in a batch it is put off and handled alone after the
commit, and both nodes end up fetching and storing the same thread.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from federation.gate import Purpose
from federation.vocab import PUBLIC
from node import posts, remote
from node.inbox import handle_inbox
from node.policy import PeerRule, Policy
from node.posts import NewPost
from node.workers import JobWorker
from storage import batches
from storage.db import Database
from storage.jobs import ClaimedJob
from storage.models import Account, Follow, Job, Notification, Post, TimelineEntry
from tests.conftest import StartNode, _migrated, drop_pg_database, recreate_pg_database, worker_tag
from tests.factory import LocalNode, fake_peer, running_node
from tests.federation.fake_peer import FakePeer


@pytest.fixture
def twin_database_url(engine_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second migrated, empty database of the engine under test."""
    if engine_name == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, tmp_path / "twin.db")
        yield f"sqlite+aiosqlite:///{tmp_path / 'twin.db'}"
        return
    name = f"atrium_t_{worker_tag()}_twin"
    url = recreate_pg_database(name)
    asyncio.run(_migrated(url))
    yield url
    drop_pg_database(name)


@pytest.fixture
async def peer() -> AsyncIterator[FakePeer]:
    async with fake_peer("mallory", "eve") as p:
        yield p


@pytest.fixture
async def two_nodes(db: Database, twin_database_url: str, peer: FakePeer) -> AsyncIterator[tuple[LocalNode, LocalNode]]:
    """Two nodes alike: alice follows mallory, bob follows alice, each admits the peer."""
    twin = Database(twin_database_url)
    policy = Policy(mode="allowlist", peers=(PeerRule(peer.domain, "public"),))
    try:
        async with AsyncExitStack() as stack:
            nodes = []
            for database in (db, twin):
                node = await stack.enter_async_context(running_node(database, policy=policy, users=("alice", "bob")))
                mallory = await remote.actor_by_uri(node.ctx, peer.actor("mallory"))
                await remote.actor_by_uri(node.ctx, peer.actor("eve"))
                async with node.ctx.db.session() as s:
                    alice = await _local(node, "alice")
                    bob = await _local(node, "bob")
                    s.add(Follow(follower_id=alice.id, target_id=mallory.id, state="accepted",
                                 uri=f"{node.url}/follows/1"))
                    s.add(Follow(follower_id=bob.id, target_id=alice.id, state="accepted", uri=f"{node.url}/follows/2"))
                nodes.append(node)
            yield nodes[0], nodes[1]
    finally:
        await twin.dispose()


async def _local(node: LocalNode, name: str) -> Account:
    from node.accounts import find_local

    async with node.ctx.db.reader() as s:
        account = await find_local(s, name)
    assert account is not None
    return account


def _activities(peer: FakePeer, node: LocalNode, alices_post: str) -> list[tuple[str, dict[str, Any]]]:
    """(signer, activity): what the peer sends each node, in this order."""
    alice = f"{node.url}/users/alice"
    mention = {"type": "Mention", "href": alice, "name": "@alice"}
    first = peer.note("mallory", 1, "<p>hello @alice #Batches</p>", cc=[alice, peer.actor("mallory") + "/followers"],
                      tag=[mention, {"type": "Hashtag", "name": "#Batches", "href": f"{peer.base}/tags/batches"}])
    second = peer.note("mallory", 2, "<p>a second note, deleted below</p>")
    reply = peer.note("eve", 3, "<p>@alice a reply to mallory</p>", inReplyTo=first["id"], cc=[alice], tag=[mention])
    # eve's reply to a note of hers the node has not seen: only a fetch brings in its parent
    parent = peer.note("eve", 4, "<p>the parent, fetched</p>")
    peer.objects[str(parent["id"])] = parent
    threaded = peer.note("eve", 5, "<p>@alice a reply to a note you never saw</p>", inReplyTo=parent["id"],
                         cc=[alice], tag=[mention])
    edited = dict(first, content="<p>hello again @alice #Batches</p>", updated="2026-11-25T11:00:00Z")
    # edited after the reply that needed a fetch: handled after it, never before (order holds)
    threaded_edited = dict(threaded, content="<p>@alice edited after the fetch</p>", updated="2026-11-25T11:00:00Z")
    m = peer.actor("mallory")
    return [
        ("mallory", peer.create("mallory", first)),
        ("mallory", peer.create("mallory", second)),
        ("eve", peer.create("eve", reply)),
        ("eve", peer.create("eve", threaded)),
        ("mallory", {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{m}/likes/1", "type": "Like",
                     "actor": m, "object": alices_post}),
        ("mallory", {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{m}/boosts/1", "type": "Announce",
                     "actor": m, "object": alices_post, "to": [PUBLIC], "cc": [f"{m}/followers"]}),
        ("mallory", {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{first['id']}/edit", "type": "Update",
                     "actor": m, "object": edited, "to": [PUBLIC]}),
        ("eve", {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{threaded['id']}/edit", "type": "Update",
                 "actor": peer.actor("eve"), "object": threaded_edited, "to": [PUBLIC]}),
        ("eve", {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer.actor('eve')}/follows/1",
                 "type": "Follow", "actor": peer.actor("eve"), "object": alice}),
        ("mallory", {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{second['id']}/delete",
                     "type": "Delete", "actor": m, "object": second["id"], "to": [PUBLIC]}),
        # refused by the worker after the tombstone was written in its transaction: nothing stays
        ("mallory", {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{m}/deletes/eve",
                     "type": "Delete", "actor": m, "object": reply["id"], "to": [PUBLIC]}),
    ]


ROWS = {
    "posts": """SELECT p.uri, a.username, a.domain, p.visibility, p.content_html, p.summary, p.in_reply_to_uri,
                       r.uri AS reblog_of, p.replies_count, p.likes_count, p.boosts_count, p.edited_at IS NOT NULL
                FROM posts p JOIN accounts a ON a.id = p.account_id LEFT JOIN posts r ON r.id = p.reblog_of_id""",
    "mentions": "SELECT p.uri, a.username FROM mentions m JOIN posts p ON p.id = m.post_id JOIN accounts a ON a.id = m.account_id",
    "tags": "SELECT p.uri, t.name FROM post_tags pt JOIN posts p ON p.id = pt.post_id JOIN tags t ON t.id = pt.tag_id",
    "home": """SELECT a.username, p.uri FROM home_entries h JOIN accounts a ON a.id = h.account_id
               JOIN posts p ON p.id = h.post_id""",
    "notifications": """SELECT r.username, n.type, f.username, p.uri FROM notifications n
                        JOIN accounts r ON r.id = n.account_id JOIN accounts f ON f.id = n.from_account_id
                        LEFT JOIN posts p ON p.id = n.post_id""",
    "follows": """SELECT f.username, t.username, x.state FROM follows x JOIN accounts f ON f.id = x.follower_id
                  JOIN accounts t ON t.id = x.target_id""",
    "tombstones": "SELECT uri, actor_uri FROM tombstones",
    "inbox log": "SELECT activity_id, type, outcome, reason FROM inbox_log",
    "jobs": "SELECT queue, status, target FROM jobs WHERE queue != 'inbox'",  # payloads hold ids each node made
    "favourites": "SELECT a.username, p.uri FROM likes f JOIN accounts a ON a.id = f.account_id JOIN posts p ON p.id = f.post_id",
}


async def _rows(node: LocalNode, masks: dict[str, str]) -> dict[str, list[tuple[str, ...]]]:
    """Every table the activities touch, as sorted rows with what differs by node alone (its
    address, the ids it made) masked."""
    out = {}
    masks = masks | {node.url: "NODE", node.ctx.domain: "NODE"}

    def masked(value: object) -> str:
        shown = str(value)
        for was, now in masks.items():
            shown = shown.replace(was, now)
        return shown

    async with node.ctx.db.reader() as s:
        for name, sql in ROWS.items():
            rows = (await s.execute(text(sql))).all()
            out[name] = sorted(tuple(masked(v) for v in row) for row in rows)
    return out


async def _drain(node: LocalNode, batch: int) -> int:
    worker = JobWorker(node.ctx.db, {"inbox": lambda job: handle_inbox(node.ctx, job)}, batch=batch)
    total = 0
    while n := await worker.run_once():
        total += n
    return total


async def test_a_batch_and_a_batch_of_one_leave_the_same_rows(
    two_nodes: tuple[LocalNode, LocalNode], peer: FakePeer
) -> None:
    batched, alone = two_nodes
    masks: list[dict[str, str]] = []
    # Given the same activities, accepted by both nodes' inboxes
    for node in two_nodes:
        author = await _local(node, "alice")
        post = await posts.create_post(node.ctx, author, NewPost("alice's own post"))
        masks.append({post.uri or "": "ALICES_POST", str(post.id): "ALICES_POST_ID"})
        for signer, activity in _activities(peer, node, post.uri or ""):
            status, body = await peer.post(node.inbox, activity, as_actor=signer)
            assert status == 202, body
    # When one node handles them fifty to a transaction and the other one by one
    assert await _drain(batched, 50) == await _drain(alone, 1) == 11
    # Then both hold the same rows
    rows = await _rows(batched, masks[0])
    assert rows == await _rows(alone, masks[1])
    # And the rows are the activities' effects (not the same nothing on both sides)
    assert ("alice", "mention", "mallory", f"{peer.base}/users/mallory/notes/1") in rows["notifications"]
    assert ("alice", "like", "mallory", "ALICES_POST") in rows["notifications"]
    assert ("alice", "boost", "mallory", "ALICES_POST") in rows["notifications"]
    assert any(p[0] == f"{peer.base}/users/eve/notes/4" for p in rows["posts"]), "the fetched parent is stored"
    assert any(p[0] == f"{peer.base}/users/eve/notes/5" and "edited after the fetch" in p[4] for p in rows["posts"])
    assert (f"{peer.base}/users/mallory/notes/2", peer.actor("mallory")) in rows["tombstones"]
    assert [o for o in rows["inbox log"] if o[2] == "refused"], "mallory's Delete of eve's note is refused"
    assert all(t[0] != f"{peer.base}/users/eve/notes/3" for t in rows["tombstones"])
    outcomes = {o[2] for o in rows["inbox log"]}
    assert outcomes == {"done", "refused"}, rows["inbox log"]


async def test_inside_a_batch_no_host_is_contacted(db: Database, peer: FakePeer) -> None:
    # Given a node whose gate admits the peer
    async with running_node(db, policy=Policy(mode="allowlist", peers=(PeerRule(peer.domain, "public"),))) as node:
        assert node.ctx.fetcher is not None
        # When code running inside a batch asks for a document
        with pytest.raises(batches.BatchDeferred):
            async with db.batch():
                await node.ctx.fetcher.fetch_object(peer.actor("mallory"), purpose=Purpose.ACTOR)
        # Then nothing crossed the wire; outside the batch the same fetch is made
        assert peer.requests == []
        await node.ctx.fetcher.fetch_object(peer.actor("mallory"), purpose=Purpose.ACTOR)
        assert peer.requests == [("GET", "/users/mallory")]


class Crash(BaseException):
    """The process dying mid-batch, as far as the batch can tell: nothing after it runs."""


async def test_a_crash_in_the_middle_of_a_batch_leaves_nothing_and_its_rerun_no_duplicate(
    start_node: StartNode, peer: FakePeer
) -> None:
    # Given six Creates mentioning alice, who follows their author, accepted by the inbox
    node = await start_node(policy=Policy(mode="allowlist", peers=(PeerRule(peer.domain, "public"),)), users=("alice",))
    alice = await _local(node, "alice")
    mallory = await remote.actor_by_uri(node.ctx, peer.actor("mallory"))
    async with node.ctx.db.session() as s:
        s.add(Follow(follower_id=alice.id, target_id=mallory.id, state="accepted", uri=f"{node.url}/follows/1"))
    mention = {"type": "Mention", "href": f"{node.url}/users/alice", "name": "@alice"}
    for n in range(6):
        note = peer.note("mallory", n, f"<p>@alice note {n}</p>", cc=[f"{node.url}/users/alice"], tag=[mention])
        assert (await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory"))[0] == 202
    handled = 0

    async def dies_at_the_fourth(job: ClaimedJob) -> object:
        nonlocal handled
        handled += 1
        if handled == 4:
            raise Crash()
        return await handle_inbox(node.ctx, job)

    # When the worker dies at the fourth activity of its batch
    with pytest.raises(Crash):
        await JobWorker(node.ctx.db, {"inbox": dies_at_the_fourth}, batch=10).run_once()
    # Then nothing of the batch is left: not the three activities handled before the crash
    assert await _counts(node, alice) == {"posts": 0, "home": 0, "notifications": 0, "done": 0}
    # And once the dead worker's leases run out, the batch runs again: each note once
    async with node.ctx.db.session() as s:
        for job in await s.scalars(select(Job).where(Job.status == "running")):
            job.lease_until = (job.lease_until or job.run_at) - timedelta(minutes=10)
    assert await _drain(node, 10) == 6
    assert await _counts(node, alice) == {"posts": 6, "home": 6, "notifications": 6, "done": 6}


async def _counts(node: LocalNode, alice: Account) -> dict[str, int]:
    """The peer's posts stored, alice's home entries and notifications, the jobs done."""
    async with node.ctx.db.reader() as s:
        return {
            "posts": await s.scalar(select(func.count()).select_from(Post).where(Post.local.is_(False))) or 0,
            "home": await s.scalar(select(func.count()).select_from(TimelineEntry)
                                   .where(TimelineEntry.account_id == alice.id)) or 0,
            "notifications": await s.scalar(select(func.count()).select_from(Notification)
                                            .where(Notification.account_id == alice.id)) or 0,
            "done": await s.scalar(select(func.count()).select_from(Job).where(Job.status == "done")) or 0,
        }
