"""Polls at the boundary, against fake peers over real HTTP that record what they get (both
engines): an `organization` poll, its Update(Question) and the votes on it reach the
organisation's peer and never a partner; a peer's vote note is counted once, refused after the
poll ended, for an option it does not have, from someone who may not see it; a local vote on a
peer's poll goes to the poll's author only, as a Note."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from node import polls, posts, remote
from node.delivery import handle_delivery
from node.outbox import handle_fanout
from node.policy import PeerRule, Policy
from node.poll_closer import close_due
from node.posts import NewPoll, NewPost
from node.queues import DELIVER, FANOUT
from node.workers import JobWorker
from storage.errors import Invalid
from storage.models import Account, Follow, Job, Post, utcnow
from tests.conftest import StartNode
from tests.factory import LocalNode, fake_peer
from tests.federation.fake_peer import FakePeer

Peers = tuple[FakePeer, FakePeer]
MASTODON_CONTEXT = ["https://www.w3.org/ns/activitystreams",
                    {"toot": "http://joinmastodon.org/ns#", "votersCount": "toot:votersCount"}]


@pytest.fixture
async def peers() -> AsyncIterator[Peers]:
    async with fake_peer("olga") as org, fake_peer("pat") as partner:
        yield org, partner


@pytest.fixture
async def node(peers: Peers, start_node: StartNode) -> LocalNode:
    org, partner = peers
    policy = Policy(mode="allowlist", peers=(PeerRule(org.domain, "organization"), PeerRule(partner.domain, "partner")))
    node = await start_node(policy=policy, instance=True, users=("alice",))
    # olga (organisation) and pat (partner) follow alice
    for peer, name in ((org, "olga"), (partner, "pat")):
        follower = await remote.actor_by_uri(node.ctx, peer.actor(name))
        async with node.ctx.db.session() as s:
            alice = await _alice(s)
            s.add(Follow(follower_id=follower.id, target_id=alice.id, state="accepted", uri=f"{peer.actor(name)}#f"))
    return node


async def _alice(s: AsyncSession) -> Account:
    found = await s.scalar(select(Account).where(Account.username == "alice", Account.domain.is_(None)))
    assert found is not None
    return found


async def send_all(node: LocalNode) -> None:
    """Run the fan-out and delivery jobs due now until none is left."""
    worker = JobWorker(node.ctx.db, {FANOUT: lambda job: handle_fanout(node.ctx, job),
                                     DELIVER: lambda job: handle_delivery(node.ctx, job)})
    while await worker.run_once():
        pass


async def alices_poll(node: LocalNode, visibility: str, *, multiple: bool = False) -> Post:
    async with node.ctx.db.reader() as s:
        alice = await _alice(s)
    return await posts.create_post(node.ctx, alice, NewPost("Team lunch?", visibility=visibility,
                                                             poll=NewPoll(("Tacos", "Ramen"), 3600, multiple)))


def vote_note(peer: FakePeer, name: str, n: int, question: str, choice: str) -> dict[str, object]:
    note = {"id": f"{peer.actor(name)}#votes/{n}", "type": "Note", "name": choice, "attributedTo": peer.actor(name),
            "inReplyTo": question, "to": [question.split("/statuses/")[0]]}
    return peer.create(name, note)


def of_type(peer: FakePeer, kind: str, obj_type: str) -> list[dict[str, object]]:
    return [a for a in peer.received if a.get("type") == kind
            and isinstance(a.get("object"), dict) and a["object"].get("type") == obj_type]  # type: ignore[union-attr]


async def counts(node: LocalNode, post: Post) -> list[int]:
    view = await polls.get_poll(node.ctx, None if post.visibility == "public" else await _author(node), post.id)
    return [v for _, v in view.options]


async def _author(node: LocalNode) -> Account:
    async with node.ctx.db.reader() as s:
        return await _alice(s)


async def test_an_organization_poll_its_votes_and_counts_never_reach_a_partner(node: LocalNode, peers: Peers) -> None:
    org, partner = peers
    # Given alice's poll to the organisation, sent out
    post = await alices_poll(node, "organization")
    await send_all(node)
    # Then the organisation's peer got it as a Question, and the partner nothing at all
    [create] = of_type(org, "Create", "Question")
    question = create["object"]
    assert isinstance(question, dict)
    assert [o["name"] for o in question["oneOf"]] == ["Tacos", "Ramen"] and "endTime" in question
    assert partner.received == []
    # When olga (organisation) votes Ramen
    assert (await org.post(node.inbox, vote_note(org, "olga", 1, str(post.uri), "Ramen"), as_actor="olga"))[0] == 202
    # and pat (partner, who cannot see it) votes Tacos
    assert (await partner.post(node.inbox, vote_note(partner, "pat", 1, str(post.uri), "Tacos"),
                               as_actor="pat"))[0] == 202
    await node.process()
    # Then olga's vote is counted and pat's refused, with the reason in the inbox log
    assert await counts(node, post) == [0, 1]
    outcomes = [(o, r) for t, o, r in await node.outcomes() if t == "Create"]
    assert ("done", "vote counted") in outcomes and ("refused", "the voter may not see this poll") in outcomes
    # And neither is stored as a post
    async with node.ctx.db.reader() as s:
        assert (await s.scalars(select(Post.id).where(Post.in_reply_to_id == post.id))).all() == []
    # When the counts go out
    await send_all(node)
    # Then the organisation's peer gets the Update(Question) with them; the partner still nothing
    [update] = of_type(org, "Update", "Question")
    assert [o["replies"]["totalItems"] for o in update["object"]["oneOf"]] == [0, 1]  # type: ignore[index]
    assert update["object"]["votersCount"] == 1  # type: ignore[index]
    assert partner.received == []
    # And when the poll closes, the final Update (closed) goes to the organisation only
    assert await close_due(node.ctx, now=utcnow() + timedelta(hours=2)) == 1
    await send_all(node)
    final = of_type(org, "Update", "Question")[-1]["object"]
    assert isinstance(final, dict) and "closed" in final
    assert partner.received == []


async def test_a_peers_vote_is_counted_once_in_range_and_in_time(node: LocalNode, peers: Peers) -> None:
    org, _ = peers
    # Given alice's public poll
    post = await alices_poll(node, "public")
    uri = str(post.uri)
    # When olga votes, then votes again (another note), votes for an option that does not exist,
    # sends the same vote note again, and votes in someone else's name
    sent = [
        vote_note(org, "olga", 1, uri, "Tacos"),
        vote_note(org, "olga", 2, uri, "Ramen"),
        vote_note(org, "olga", 3, uri, "Pizza"),
        vote_note(org, "olga", 1, uri, "Tacos"),
    ]
    forged = vote_note(org, "olga", 4, uri, "Ramen")
    forged["object"]["attributedTo"] = org.actor("someone")  # type: ignore[index]
    for activity in sent:
        assert (await org.post(node.inbox, activity, as_actor="olga"))[0] == 202
    # (the one in someone else's name is refused at the door: its object is not the signer's)
    assert (await org.post(node.inbox, forged, as_actor="olga"))[0] == 403
    await node.process()
    # Then only the first is counted, each other one refused (or ignored) with its reason
    assert await counts(node, post) == [1, 0]
    log = [(o, r) for t, o, r in await node.outcomes() if t == "Create"]
    assert log[0] == ("done", "vote counted")
    assert ("refused", "already voted") in log
    assert ("refused", "the poll has no such option") in log
    # When the poll has ended, a vote from someone new is refused
    assert await close_due(node.ctx, now=utcnow() + timedelta(hours=2)) == 1
    async with fake_peer("late") as other:
        node.policy[0] = Policy(mode="allowlist", peers=(*node.policy[0].peers, PeerRule(other.domain, "public")))
        assert (await other.post(node.inbox, vote_note(other, "late", 1, uri, "Ramen"), as_actor="late"))[0] == 202
        await node.process()
    assert (await node.outcomes())[-1][1:] == ("refused", "the poll has ended")
    assert await counts(node, post) == [1, 0]


async def test_counts_updates_are_spaced_out(node: LocalNode, peers: Peers) -> None:
    # Given alice's public multiple-choice poll
    post = await alices_poll(node, "public", multiple=True)
    # When three votes arrive at once (olga's two choices, one note each, and pat's)
    org, partner = peers
    for peer, name, n, choice in ((org, "olga", 1, "Tacos"), (org, "olga", 2, "Ramen"), (partner, "pat", 1, "Tacos")):
        status, body = await peer.post(node.inbox, vote_note(peer, name, n, str(post.uri), choice), as_actor=name)
        assert status == 202, body
    await node.process()
    assert await counts(node, post) == [2, 1]
    # Then one Update is due now and one a few seconds later (carrying whatever came in between)
    async with node.ctx.db.reader() as s:
        jobs = [j for j in (await s.scalars(select(Job).where(Job.queue == FANOUT))).all()
                if json.loads(j.payload).get("kind") == "PollUpdate"]
    assert len(jobs) == 2
    gap = abs((jobs[1].run_at - jobs[0].run_at).total_seconds())
    assert 2.5 <= gap <= 3.5


async def test_a_local_vote_on_a_peers_poll_goes_to_its_author_only(
    node: LocalNode, peers: Peers, start_node: StartNode
) -> None:
    org, partner = peers
    # Given alice follows olga, whose followers-only poll arrived
    olga = await remote.actor_by_uri(node.ctx, org.actor("olga"))
    async with node.ctx.db.session() as s:
        alice = await _alice(s)
        s.add(Follow(follower_id=alice.id, target_id=olga.id, state="accepted", uri=f"{node.ctx.base_url}/follows/9"))
    question = org.note("olga", 7, "<p>Which sprint name?</p>", to=[org.actor("olga") + "/followers"], cc=[],
                        type="Question", endTime="2099-01-01T00:00:00Z",
                        oneOf=[{"type": "Note", "name": "Apollo", "replies": {"type": "Collection", "totalItems": 3}},
                               {"type": "Note", "name": "Gemini", "replies": {"type": "Collection", "totalItems": 1}}],
                        votersCount=4)
    # As Mastodon sends it: votersCount is a term of its own context
    create = {**org.create("olga", question), "@context": MASTODON_CONTEXT}
    assert (await org.post(node.inbox, create, as_actor="olga"))[0] == 202
    await node.process()
    stored = await node.post(str(question["id"]))
    assert stored is not None and stored.visibility == "followers"
    view = await polls.get_poll(node.ctx, alice, stored.id)
    assert [v for _, v in view.options] == [3, 1] and view.voters_count == 4
    # When alice votes Gemini
    voted = await polls.vote(node.ctx, alice, stored.id, [1])
    assert [v for _, v in voted.options] == [3, 2] and voted.own_votes == (1,)
    await send_all(node)
    # Then olga's node got one Create(Note) naming the option, in reply to the Question, to olga only
    [vote] = of_type(org, "Create", "Note")
    note = vote["object"]
    assert isinstance(note, dict)
    assert (note["name"], note["inReplyTo"], note["to"]) == ("Gemini", question["id"], [org.actor("olga")])
    assert "content" not in note
    assert partner.received == []
    # And a second vote is refused here
    with pytest.raises(Invalid, match="already voted"):
        await polls.vote(node.ctx, alice, stored.id, [0])
    # When olga's node says the new counts (an Update of the Question, no edit)
    updated = {**question, "oneOf": [{"type": "Note", "name": "Apollo", "replies": {"totalItems": 3}},
                                     {"type": "Note", "name": "Gemini", "replies": {"totalItems": 5}}],
               "votersCount": 8}
    activity = {**org.create("olga", updated), "type": "Update", "id": f"{question['id']}#update-1",
                "@context": MASTODON_CONTEXT}
    assert (await org.post(node.inbox, activity, as_actor="olga"))[0] == 202
    await node.process()
    # Then the counts are hers, and no version was added to the post's history
    view = await polls.get_poll(node.ctx, alice, stored.id)
    assert [v for _, v in view.options] == [3, 5] and view.voters_count == 8
    assert (await node.outcomes())[-1][1:] == ("done", "poll counts")


async def test_a_question_with_too_many_options_is_refused(node: LocalNode, peers: Peers) -> None:
    org, _ = peers
    olga = await remote.actor_by_uri(node.ctx, org.actor("olga"))
    async with node.ctx.db.session() as s:
        alice = await _alice(s)
        s.add(Follow(follower_id=alice.id, target_id=olga.id, state="accepted", uri=f"{node.ctx.base_url}/follows/8"))
    question = org.note("olga", 8, "<p>Pick</p>", type="Question",
                        anyOf=[{"type": "Note", "name": f"o{i}"} for i in range(10_000)])
    # Refused at the door (too big to read), or by the handler: never stored
    assert (await org.post(node.inbox, org.create("olga", question), as_actor="olga"))[0] in (202, 400, 413)
    await node.process()
    assert await node.post(str(question["id"])) is None


# The poll row of the trust matrix, by hand from docs/policy.md ("Audiences across the boundary"):
# visibility -> whether the Question (and, after olga's vote, its Update) reaches
# (the organisation's peer, the partner). Both peers' people follow alice.
POLL_ROW = {
    "public": (True, True),
    "unlisted": (True, True),
    "followers": (True, True),
    "organization": (True, False),
    "local": (False, False),
}


@pytest.mark.parametrize("visibility", list(POLL_ROW))
async def test_the_poll_row_of_the_trust_matrix(node: LocalNode, peers: Peers, visibility: str) -> None:
    org, partner = peers
    # Given alice's poll with this audience, sent out
    post = await alices_poll(node, visibility)
    await send_all(node)
    # When olga (organisation) votes, and the counts go out
    await org.post(node.inbox, vote_note(org, "olga", 1, str(post.uri), "Tacos"), as_actor="olga")
    await node.process()
    await send_all(node)
    # Then the Question, and the Update with the counts, crossed to exactly the peers the row says
    crossed = tuple(bool(of_type(p, "Create", "Question")) for p in (org, partner))
    updated = tuple(bool(of_type(p, "Update", "Question")) for p in (org, partner))
    assert crossed == POLL_ROW[visibility]
    assert updated == POLL_ROW[visibility]
    # And olga's vote counted exactly where she may see the poll
    view = await polls.get_poll(node.ctx, await _author(node), post.id)
    assert [v for _, v in view.options] == ([1, 0] if POLL_ROW[visibility][0] else [0, 0])
