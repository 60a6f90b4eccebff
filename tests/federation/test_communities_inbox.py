"""Communities from peers (FEP-1b12) against fake peers over real HTTP: a peer's community
re-sharing into members' homes here, what is refused of what it announces (and which hosts
are never contacted), and peers joining and writing to a community of this node."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from federation.vocab import PUBLIC
from node import communities, posts, remote, timelines
from node.outbox import handle_fanout
from node.pagination import Page
from node.policy import PeerRule, Policy
from node.posts import NewPost
from node.workers import JobWorker
from storage.models import Account, AuditEntry, Follow, Job, Post
from tests.conftest import StartNode
from tests.factory import LocalNode, fake_peer
from tests.federation.fake_peer import FakePeer


@pytest.fixture
async def lemmy() -> AsyncIterator[FakePeer]:
    """A Lemmy-like server: a community `club` (a Group) and a person, mallory."""
    async with fake_peer("club", "mallory", keys={"mallory": 1}) as p:
        p.actor_extra["club"] = {"type": "Group"}
        yield p


@pytest.fixture
async def other() -> AsyncIterator[FakePeer]:
    """Another server, where eve writes."""
    async with fake_peer("eve", keys={"eve": 2}) as p:
        yield p


def policy(lemmy: FakePeer, other: FakePeer, other_trust: str = "public") -> Policy:
    return Policy(mode="allowlist", peers=(PeerRule(lemmy.domain, "public"), PeerRule(other.domain, other_trust)))


@pytest.fixture
async def node(lemmy: FakePeer, other: FakePeer, start_node: StartNode) -> LocalNode:
    return await start_node(policy=policy(lemmy, other))


async def _alice_joins_club(node: LocalNode, lemmy: FakePeer) -> tuple[Account, Account]:
    club = await remote.actor_by_uri(node.ctx, lemmy.actor("club"))
    async with node.ctx.db.session() as s:
        alice = Account(username="alice", domain=None, display_name="Alice")
        s.add(alice)
        await s.flush()
        s.add(Follow(follower_id=alice.id, target_id=club.id, state="accepted", uri=f"{node.ctx.base_url}/follows/1"))
    return alice, club


@pytest.fixture
async def alice_in_club(node: LocalNode, lemmy: FakePeer) -> tuple[Account, Account]:
    return await _alice_joins_club(node, lemmy)


def announce(lemmy: FakePeer, n: int, obj: object) -> dict[str, object]:
    club = lemmy.actor("club")
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{club}/activities/announce/{n}",
            "type": "Announce", "actor": club, "to": [PUBLIC], "cc": [f"{club}/followers"], "object": obj}


def create_of(peer: FakePeer, name: str, note: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in peer.create(name, note).items() if k != "@context"}


async def home_of(node: LocalNode, account: Account) -> list[Post]:
    return await timelines.home(node.ctx, account, Page(limit=40))


async def test_a_peers_community_reshares_a_post_into_members_homes(node: LocalNode, lemmy: FakePeer, other: FakePeer,
                                                                     alice_in_club: tuple[Account, Account]) -> None:
    alice, club = alice_in_club
    # Given eve (on another server) wrote to the club, and her server serves the note
    note = other.note("eve", 1, "<p>Anyone for the meetup?</p>", to=[PUBLIC, lemmy.actor("club")],
                      cc=[f"{other.actor('eve')}/followers"], audience=lemmy.actor("club"))
    other.objects[str(note["id"])] = note
    # When the club announces her Create, as Lemmy does
    status, _ = await lemmy.post(node.inbox, announce(lemmy, 1, create_of(other, "eve", note)), as_actor="club")
    assert status == 202
    await node.process()
    # Then the post is kept as the club's, re-shared by the club into alice's home
    stored = await node.post(str(note["id"]))
    assert stored is not None and stored.community_id == club.id and "meetup" in stored.content_html
    assert [(p.account_id, p.reblog_of_id) for p in await home_of(node, alice)] == [(club.id, stored.id)]
    # And the note was read from its own server, not believed from the club's copy
    assert ("GET", "/users/eve/notes/1") in other.requests
    assert (await node.outcomes())[-1][:2] == ("Announce", "done")


async def test_an_announce_by_reference_is_fetched_from_the_posts_origin(
        node: LocalNode, lemmy: FakePeer, other: FakePeer, alice_in_club: tuple[Account, Account]) -> None:
    alice, club = alice_in_club
    note = other.note("eve", 2, "by id", to=[PUBLIC], cc=[lemmy.actor("club")])
    other.objects[str(note["id"])] = note
    await lemmy.post(node.inbox, announce(lemmy, 2, note["id"]), as_actor="club")
    await node.process()
    stored = await node.post(str(note["id"]))
    assert stored is not None and stored.community_id == club.id


async def test_a_group_announcing_a_post_never_sent_to_it_is_refused(
        node: LocalNode, lemmy: FakePeer, other: FakePeer, alice_in_club: tuple[Account, Account]) -> None:
    # Given eve's note, addressed to her followers and the public but not to the club
    note = other.note("eve", 3, "my own thoughts", to=[PUBLIC])
    other.objects[str(note["id"])] = note
    # When the club announces it, its embedded copy claiming it was sent to the club
    lie = {**note, "cc": [lemmy.actor("club")], "audience": lemmy.actor("club")}
    await lemmy.post(node.inbox, announce(lemmy, 3, create_of(other, "eve", lie)), as_actor="club")
    await node.process()
    # Then the origin's copy decides: refused, nothing stored, nobody's home changed
    assert await node.post(str(note["id"])) is None
    outcome = (await node.outcomes())[-1]
    assert outcome[:2] == ("Announce", "refused") and "never sent to it" in (outcome[2] or "")
    assert await home_of(node, alice_in_club[0]) == []


async def test_a_group_announcing_its_own_servers_post_not_sent_to_it_is_refused(
        node: LocalNode, lemmy: FakePeer, alice_in_club: tuple[Account, Account]) -> None:
    # mallory is on the club's own server: the signed Announce speaks for her note, which was
    # not written to the club
    note = lemmy.note("mallory", 1, "not for the club", to=[PUBLIC])
    await lemmy.post(node.inbox, announce(lemmy, 4, create_of(lemmy, "mallory", note)), as_actor="club")
    await node.process()
    assert await node.post(str(note["id"])) is None
    assert "never sent to it" in ((await node.outcomes())[-1][2] or "")


async def test_an_announce_of_a_blocked_actors_post_is_refused_and_its_host_never_contacted(
        lemmy: FakePeer, other: FakePeer, start_node: StartNode) -> None:
    # Given a node that blocks eve's server, and a member of the club
    node = await start_node(policy=policy(lemmy, other, other_trust="blocked"))
    alice, _ = await _alice_joins_club(node, lemmy)
    note = other.note("eve", 4, "from a blocked server", to=[PUBLIC, lemmy.actor("club")])
    other.objects[str(note["id"])] = note
    # When the club announces her post, embedded and then by id
    await lemmy.post(node.inbox, announce(lemmy, 5, create_of(other, "eve", note)), as_actor="club")
    await lemmy.post(node.inbox, announce(lemmy, 6, note["id"]), as_actor="club")
    await node.process()
    # Then both are refused, audited, and eve's server never heard from this node
    assert await node.post(str(note["id"])) is None
    assert [o[:2] for o in (await node.outcomes())[-2:]] == [("Announce", "refused")] * 2
    assert other.requests == []
    async with node.ctx.db.reader() as s:
        rules = (await s.scalars(select(AuditEntry.rule).where(AuditEntry.rule == "community:announce"))).all()
    assert len(rules) == 2
    assert await home_of(node, alice) == []


async def test_a_post_removed_at_its_origin_leaves_with_the_groups_delete(
        node: LocalNode, lemmy: FakePeer, other: FakePeer, alice_in_club: tuple[Account, Account]) -> None:
    alice, club = alice_in_club
    note = other.note("eve", 5, "soon gone", to=[PUBLIC, lemmy.actor("club")])
    other.objects[str(note["id"])] = note
    await lemmy.post(node.inbox, announce(lemmy, 7, create_of(other, "eve", note)), as_actor="club")
    await node.process()
    assert await node.post(str(note["id"])) is not None
    # A Delete the origin does not confirm: only the club's re-share goes
    delete = {"id": f"{note['id']}/delete", "type": "Delete", "actor": other.actor("eve"), "object": note["id"]}
    await lemmy.post(node.inbox, announce(lemmy, 8, delete), as_actor="club")
    await node.process()
    assert await node.post(str(note["id"])) is not None
    assert await home_of(node, alice) == []
    # Once the origin says it is gone, the post goes too
    del other.objects[str(note["id"])]
    await lemmy.post(node.inbox, announce(lemmy, 9, {**delete, "id": f"{note['id']}/delete2"}), as_actor="club")
    await node.process()
    assert await node.post(str(note["id"])) is None


async def test_nobody_a_member_means_nothing_is_fetched(node: LocalNode, lemmy: FakePeer, other: FakePeer) -> None:
    note = other.note("eve", 6, "unsolicited", to=[PUBLIC, lemmy.actor("club")])
    other.objects[str(note["id"])] = note
    await remote.actor_by_uri(node.ctx, lemmy.actor("club"))
    await lemmy.post(node.inbox, announce(lemmy, 10, note["id"]), as_actor="club")
    await node.process()
    assert (await node.outcomes())[-1][1] == "ignored" and other.requests == []


# --- peers and a community of this node ------------------------------------------------------

async def _answers(node: LocalNode, domain: str) -> list[str]:
    """The types of the activities queued for delivery to `domain` (fan-outs run first)."""
    worker = JobWorker(node.ctx.db, {"fanout": lambda job: handle_fanout(node.ctx, job)})
    while await worker.run_once():
        pass
    async with node.ctx.db.reader() as s:
        rows = (await s.scalars(select(Job).where(Job.queue == "deliver", Job.target == domain))).all()
    bodies = [r.payload.decode() if isinstance(r.payload, bytes) else r.payload for r in rows]
    return [str(json.loads(json.loads(b)["body"])["type"]) for b in bodies]


def follow(lemmy: FakePeer, name: str, target: str, n: int) -> dict[str, object]:
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{lemmy.actor(name)}/follows/{n}",
            "type": "Follow", "actor": lemmy.actor(name), "object": target}


async def test_a_peers_follow_of_a_community_asks_the_join_rule(node: LocalNode, lemmy: FakePeer) -> None:
    # Given an organisation community and a public one needing approval (the peer is `public`)
    inner = await communities.create_community(node.ctx, "inner", audience="organization")
    asking = await communities.create_community(node.ctx, "asking", audience="public", mode="approval")
    opened = await communities.create_community(node.ctx, "opened", audience="public")
    # When mallory asks to join each
    for n, group in enumerate((inner, asking, opened)):
        await lemmy.post(node.inbox, follow(lemmy, "mallory", node.ctx.actor_uri(group.username), n), as_actor="mallory")
    await node.process()
    # Then the organisation community refuses (Reject, audited), the other waits, the open one accepts
    outcomes = [o[1] for o in await node.outcomes()]
    assert outcomes == ["refused", "done", "done"]
    assert sorted(await _answers(node, lemmy.domain)) == ["Accept", "Reject"]
    assert [a.username for a in await communities.pending(node.ctx, asking.id)] == ["mallory"]
    assert [a.username for a in await communities.members(node.ctx, opened.id)] == ["mallory"]
    assert await communities.members(node.ctx, inner.id) == []
    async with node.ctx.db.reader() as s:
        refused = (await s.scalars(select(AuditEntry).where(AuditEntry.rule == "community:organization"))).all()
    assert len(refused) == 1 and refused[0].decision == "refused"


async def test_a_peer_members_post_is_reshared_and_a_strangers_refused(node: LocalNode, lemmy: FakePeer,
                                                                       other: FakePeer) -> None:
    group = await communities.create_community(node.ctx, "opened", audience="public")
    group_uri = node.ctx.actor_uri("opened")
    await lemmy.post(node.inbox, follow(lemmy, "mallory", group_uri, 1), as_actor="mallory")
    await node.process()
    # When mallory, a member, writes to it, and eve, who is not, does too
    note = lemmy.note("mallory", 7, "hello community", to=[PUBLIC, group_uri], audience=group_uri)
    await lemmy.post(node.inbox, lemmy.create("mallory", note), as_actor="mallory")
    stranger = other.note("eve", 7, "let me in", to=[PUBLIC], cc=[group_uri])
    await other.post(node.inbox, other.create("eve", stranger), as_actor="eve")
    await node.process()
    # Then mallory's post is the community's, re-shared (its Announce goes to mallory's server)
    stored = await node.post(str(note["id"]))
    assert stored is not None and stored.community_id == group.id
    async with node.ctx.db.reader() as s:
        reshare = await s.scalar(select(Post).where(Post.account_id == group.id, Post.reblog_of_id == stored.id))
    assert reshare is not None
    assert "Announce" in await _answers(node, lemmy.domain)
    # And eve's is refused with the reason
    assert await node.post(str(stranger["id"])) is None
    last = (await node.outcomes())[-1]
    assert last[1] == "refused" and "only members" in (last[2] or "")


async def test_the_group_document_is_served_where_the_community_reaches(node: LocalNode) -> None:
    await communities.create_community(node.ctx, "opened", audience="public", description="All welcome")
    await communities.create_community(node.ctx, "inner", audience="organization")
    async with aiohttp.ClientSession(headers={"Accept": "application/activity+json"}) as http:
        async with http.get(f"{node.url}/users/opened") as r:
            doc = await r.json(content_type=None)
        assert r.status == 200 and doc["type"] == "Group" and doc["postingRestrictedToMods"] is False
        answers = []
        for name in ("inner", "nobody"):
            async with http.get(f"{node.url}/users/{name}") as r:
                answers.append((r.status, (await r.text()).replace(name, "X")))
        assert answers[0] == answers[1] and answers[0][0] == 404


async def test_a_post_written_to_a_peers_community_is_addressed_and_sent_to_it(
        node: LocalNode, lemmy: FakePeer, alice_in_club: tuple[Account, Account]) -> None:
    alice, club = alice_in_club
    # When alice (a member, nobody following her) writes to the club, then deletes the post
    post = await posts.create_post(node.ctx, alice, NewPost("hello club", community_id=club.id))
    created = await _deliveries(node, lemmy.domain)
    await posts.delete_post(node.ctx, alice, post.id)
    deleted = (await _deliveries(node, lemmy.domain))[len(created):]
    # Then the Create went to the club's server, naming the club in cc and as its audience,
    # and the Delete followed it there
    assert [a["type"] for a in created] == ["Create"]
    note = created[0]["object"]
    assert note["audience"] == club.actor_uri and club.actor_uri in note["cc"]
    assert [(a["type"], a["object"]["id"]) for a in deleted] == [("Delete", post.uri)]


async def _deliveries(node: LocalNode, domain: str) -> list[dict[str, Any]]:
    """The activities queued for delivery to `domain` (fan-outs run first), oldest first."""
    worker = JobWorker(node.ctx.db, {"fanout": lambda job: handle_fanout(node.ctx, job)})
    while await worker.run_once():
        pass
    async with node.ctx.db.reader() as s:
        rows = (await s.scalars(select(Job).where(Job.queue == "deliver", Job.target == domain).order_by(Job.id))).all()
    bodies = [r.payload.decode() if isinstance(r.payload, bytes) else r.payload for r in rows]
    return [json.loads(json.loads(b)["body"]) for b in bodies]


async def test_an_edit_the_group_announces_is_taken_from_the_posts_origin(
        node: LocalNode, lemmy: FakePeer, other: FakePeer, alice_in_club: tuple[Account, Account]) -> None:
    note = other.note("eve", 8, "first words", to=[PUBLIC, lemmy.actor("club")])
    other.objects[str(note["id"])] = note
    await lemmy.post(node.inbox, announce(lemmy, 11, create_of(other, "eve", note)), as_actor="club")
    await node.process()
    # When eve edits it at her server, and the club announces an Update whose copy says otherwise
    other.objects[str(note["id"])] = {**note, "content": "second words", "updated": "2026-11-25T11:00:00Z"}
    lie = {**note, "content": "words eve never wrote"}
    update = {"id": f"{note['id']}/update", "type": "Update", "actor": other.actor("eve"), "object": lie}
    await lemmy.post(node.inbox, announce(lemmy, 12, update), as_actor="club")
    await node.process()
    # Then the post says what her server says
    stored = await node.post(str(note["id"]))
    assert stored is not None and "second words" in stored.content_html
