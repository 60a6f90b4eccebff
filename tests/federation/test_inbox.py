"""The inbox against a fake peer over real HTTP: what is accepted, what is refused and why.

The node runs in-process on loopback (its own aiohttp app and database, both engines); the
peer is a real HTTP server that serves actor documents and records every request it gets.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from federation.parsing import parse_actor
from federation.vocab import PUBLIC
from node import remote
from node.policy import PeerRule, Policy
from node.workers import JobWorker
from storage.models import Account, Follow, Notification, Post
from tests.conftest import StartNode
from tests.factory import LocalNode, fake_peer
from tests.federation.fake_peer import FakePeer, rsa_key


@pytest.fixture
async def peer() -> AsyncIterator[FakePeer]:
    async with fake_peer("mallory", "eve", keys={"eve": 1}) as p:
        yield p


@pytest.fixture
async def node(peer: FakePeer, start_node: StartNode) -> LocalNode:
    return await start_node(policy=Policy(mode="allowlist", peers=(PeerRule(peer.domain, "public"),)))


@pytest.fixture
async def alice_follows_mallory(node: LocalNode, peer: FakePeer) -> Account:
    """A local user who follows the peer's mallory, so mallory's posts are wanted here."""
    mallory = await remote.actor_by_uri(node.ctx, peer.actor("mallory"))
    async with node.ctx.db.session() as s:
        alice = Account(username="alice", domain=None, display_name="Alice")
        s.add(alice)
        await s.flush()
        s.add(Follow(follower_id=alice.id, target_id=mallory.id, state="accepted", uri=f"{node.ctx.base_url}/follows/1"))
    return alice


async def test_a_signed_create_is_accepted_then_stored(node: LocalNode, peer: FakePeer, alice_follows_mallory: Account) -> None:
    note = peer.note("mallory", 1, "<p>hello <script>x()</script>world</p>")
    status, _ = await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory")
    assert status == 202
    assert await node.process() == 1
    stored = await node.post(str(note["id"]))
    assert stored is not None and stored.visibility == "public"
    assert "<script" not in stored.content_html and "hello" in stored.content_html
    assert await node.outcomes() == [("Create", "done", None)]


async def test_unsigned_requests_are_refused(node: LocalNode, peer: FakePeer) -> None:
    status, body = await peer.post(node.inbox, peer.create("mallory", peer.note("mallory", 2, "hi")), as_actor="mallory", sign=False)
    assert status == 401 and "signature" in json.loads(body)["error"]
    assert await node.outcomes() == []


async def test_signer_must_be_the_actor(node: LocalNode, peer: FakePeer) -> None:
    # eve signs an activity claiming to be mallory's
    activity = peer.create("mallory", peer.note("mallory", 3, "it was mallory, honest"))
    status, body = await peer.post(node.inbox, activity, as_actor="eve")
    assert status == 403 and "not the activity's actor" in json.loads(body)["error"]
    assert await node.outcomes() == []


async def test_objects_on_another_origin_are_refused(node: LocalNode, peer: FakePeer) -> None:
    note = peer.note("mallory", 4, "forged")
    note["id"] = "http://127.0.0.1:1/users/victim/notes/1"
    status, body = await peer.post(node.inbox, peer.create("mallory", note) | {"id": f"{peer.actor('mallory')}/a/4"}, as_actor="mallory")
    assert status == 403 and "origin" in json.loads(body)["error"]


async def test_a_blocked_peer_is_refused_before_any_fetch(node: LocalNode, peer: FakePeer) -> None:
    node.policy[0] = Policy(mode="allowlist")  # the peer is no longer admitted
    status, _ = await peer.post(node.inbox, peer.create("mallory", peer.note("mallory", 5, "hi")), as_actor="mallory")
    assert status == 403
    assert peer.requests == []  # the node never asked the peer for its key


async def test_a_replayed_activity_has_one_effect(node: LocalNode, peer: FakePeer, alice_follows_mallory: Account) -> None:
    activity = peer.create("mallory", peer.note("mallory", 6, "once"))
    first = await peer.post(node.inbox, activity, as_actor="mallory")
    again = await peer.post(node.inbox, activity, as_actor="mallory")
    assert first[0] == again[0] == 202 and json.loads(again[1])["status"] == "duplicate"
    assert await node.process() == 1


@pytest.mark.parametrize(
    "tamper, reason",
    [
        ({"Signature": 'keyId="K",algorithm="hmac-sha256",headers="(request-target) host date digest",signature="AAAA"'}, "signature"),
        ({"Date": "Wed, 25 Nov 2020 10:00:00 GMT"}, "signature"),
        ({"Digest": "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}, "signature"),
    ],
)
async def test_signature_tricks_are_refused(node: LocalNode, peer: FakePeer, tamper: dict[str, str], reason: str) -> None:
    tamper = dict(tamper)  # parameters are shared between runs: never change them in place
    if "keyId" in tamper.get("Signature", ""):
        tamper["Signature"] = tamper["Signature"].replace('"K"', f'"{peer.key_id("mallory")}"')
    status, body = await peer.post(node.inbox, peer.create("mallory", peer.note("mallory", 7, "x")), as_actor="mallory", headers=tamper)
    assert status == 401 and reason in json.loads(body)["error"]


async def test_a_rotated_key_is_fetched_again(node: LocalNode, peer: FakePeer, alice_follows_mallory: Account) -> None:
    # Given the node has mallory's old key cached (the fixture fetched it), mallory rotates it
    peer.keys["mallory"] = rsa_key(7)
    # When she signs with the new key, the node re-fetches once and accepts
    status, _ = await peer.post(node.inbox, peer.create("mallory", peer.note("mallory", 8, "new key")), as_actor="mallory")
    assert status == 202


async def test_requests_signed_with_a_rotated_key_at_once_are_all_accepted_with_one_fetch(
    node: LocalNode, peer: FakePeer, alice_follows_mallory: Account
) -> None:
    # Given the node has mallory's old key cached, and mallory rotates it; her server is slow
    # to serve her actor, so the requests below arrive while the first re-fetch is under way
    peer.keys["mallory"] = rsa_key(7)
    peer.actor_delay = 0.5
    fetched_before = peer.requests.count(("GET", "/users/mallory"))
    # When three activities signed with the new key arrive together
    statuses = await asyncio.gather(*(
        peer.post(node.inbox, peer.create("mallory", peer.note("mallory", 20 + n, f"new key {n}")), as_actor="mallory")
        for n in range(3)))
    # Then all are accepted, and the key was fetched once for them all
    assert [status for status, _ in statuses] == [202, 202, 202]
    assert peer.requests.count(("GET", "/users/mallory")) - fetched_before == 1


async def test_oversized_bodies_are_refused(node: LocalNode, peer: FakePeer) -> None:
    big = peer.note("mallory", 9, "x" * (1024 * 1024 + 10))
    status, _ = await peer.post(node.inbox, peer.create("mallory", big), as_actor="mallory")
    assert status == 413


async def test_garbage_is_a_clear_400(node: LocalNode, peer: FakePeer) -> None:
    for body in (b"not json", b"[1,2,3]", b'{"type": "Create"}', b"[" * 5000 + b"]" * 5000):
        status, text = await peer.post(node.inbox, body, as_actor="mallory")
        assert 400 <= status < 500 and "error" in json.loads(text), body[:20]


async def test_a_delete_that_arrives_first_wins(node: LocalNode, peer: FakePeer, alice_follows_mallory: Account) -> None:
    note = peer.note("mallory", 10, "regret")
    delete = {"id": f"{note['id']}#delete", "type": "Delete", "actor": peer.actor("mallory"), "object": note["id"], "to": [PUBLIC]}
    assert (await peer.post(node.inbox, delete, as_actor="mallory"))[0] == 202
    await node.process()
    assert (await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory"))[0] == 202
    await node.process()
    assert await node.post(str(note["id"])) is None


async def test_updates_and_deletes_of_others_objects_are_refused(node: LocalNode, peer: FakePeer, alice_follows_mallory: Account) -> None:
    note = peer.note("mallory", 11, "mine")
    await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory")
    await node.process()
    # eve (same server, other actor) tries to delete mallory's note
    delete = {"id": f"{peer.actor('eve')}/d/1", "type": "Delete", "actor": peer.actor("eve"), "object": note["id"]}
    assert (await peer.post(node.inbox, delete, as_actor="eve"))[0] == 202
    await node.process()
    assert await node.post(str(note["id"])) is not None
    assert ("Delete", "refused", "an actor may delete only its own objects") in await node.outcomes()


async def test_unknown_types_are_recorded_as_ignored(node: LocalNode, peer: FakePeer) -> None:
    activity = {"id": f"{peer.actor('mallory')}/x/1", "type": "EmojiReact", "actor": peer.actor("mallory"), "object": "http://x/1"}
    assert (await peer.post(node.inbox, activity, as_actor="mallory"))[0] == 202
    await node.process()
    assert await node.outcomes() == [("EmojiReact", "ignored", "unsupported type EmojiReact")]


async def test_an_outsiders_organization_claim_is_narrowed(node: LocalNode, peer: FakePeer, alice_follows_mallory: Account) -> None:
    note = peer.note("mallory", 12, "pretending to be internal", to=[f"{peer.actor('mallory')}/followers"], cc=[], audience_scope="organization")
    await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory")
    await node.process()
    stored = await node.post(str(note["id"]))
    assert stored is not None and stored.visibility == "followers"


async def test_a_remote_block_ends_follows_both_ways(node: LocalNode, peer: FakePeer, alice_follows_mallory: Account) -> None:
    block = {"id": f"{peer.actor('mallory')}/blocks/1", "type": "Block", "actor": peer.actor("mallory"),
             "object": node.ctx.actor_uri("alice")}
    assert (await peer.post(node.inbox, block, as_actor="mallory"))[0] == 202
    await node.process()
    async with node.ctx.db.reader() as s:
        assert (await s.scalars(select(Follow))).all() == []


async def test_a_flag_becomes_a_report_for_moderators(node: LocalNode, peer: FakePeer, alice_follows_mallory: Account) -> None:
    from node import posts
    from node.posts import NewPost
    from storage.models import Report

    offending = await posts.create_post(node.ctx, alice_follows_mallory, NewPost("something regrettable"))
    flag = {"id": f"{peer.actor('mallory')}/flags/1", "type": "Flag", "actor": peer.actor("mallory"),
            "object": [node.ctx.actor_uri("alice"), offending.uri], "content": "please look at this"}
    assert (await peer.post(node.inbox, flag, as_actor="mallory"))[0] == 202
    await node.process()
    async with node.ctx.db.reader() as s:
        reports = (await s.scalars(select(Report))).all()
    assert [(r.number, r.target_id, json.loads(r.post_ids), r.comment) for r in reports] == [
        (1, alice_follows_mallory.id, [offending.id], "please look at this")
    ]


async def test_a_verified_move_moves_local_followers(node: LocalNode, peer: FakePeer, alice_follows_mallory: Account) -> None:
    # Given mallory's new account lists the old one
    peer.add_actor("mallory2", rsa_key(2))
    peer.also_known_as["mallory2"] = [peer.actor("mallory")]
    move = {"id": f"{peer.actor('mallory')}/moves/1", "type": "Move", "actor": peer.actor("mallory"),
            "object": peer.actor("mallory"), "target": peer.actor("mallory2")}
    assert (await peer.post(node.inbox, move, as_actor="mallory"))[0] == 202
    await node.process()
    # Then alice now follows (has asked to follow) the new account and no longer the old one
    async with node.ctx.db.reader() as s:
        rows = (await s.execute(select(Account.actor_uri).join(Follow, Follow.target_id == Account.id))).scalars().all()
    assert rows == [peer.actor("mallory2")]
    # and a Follow for the new account, then an Undo for the old one, are queued to the peer
    from storage.models import Job

    async with node.ctx.db.reader() as s:
        queued = [json.loads(json.loads(j.payload)["body"]) for j in (await s.scalars(select(Job).where(Job.queue == "deliver").order_by(Job.id))).all()]
    assert [(a["type"], a["object"] if a["type"] == "Follow" else a["object"]["object"]) for a in queued] == [
        ("Follow", peer.actor("mallory2")),
        ("Undo", peer.actor("mallory")),
    ]


async def test_an_unverified_move_is_refused(node: LocalNode, peer: FakePeer, alice_follows_mallory: Account) -> None:
    peer.add_actor("impostor", rsa_key(3))  # does not list mallory in alsoKnownAs
    move = {"id": f"{peer.actor('mallory')}/moves/2", "type": "Move", "actor": peer.actor("mallory"),
            "object": peer.actor("mallory"), "target": peer.actor("impostor")}
    await peer.post(node.inbox, move, as_actor="mallory")
    await node.process()
    assert ("Move", "refused", "the new account does not list the old one in alsoKnownAs") in await node.outcomes()


async def test_unknown_parents_are_fetched_within_a_budget(node: LocalNode, peer: FakePeer, alice_follows_mallory: Account) -> None:
    # Given eve's thread on the peer: a root and a reply (public, served by the peer)
    root = peer.note("eve", 20, "root of the thread")
    middle = peer.note("eve", 21, "middle", inReplyTo=root["id"])
    peer.objects = {str(root["id"]): root, str(middle["id"]): middle}
    # When mallory (followed here) replies to the middle note
    reply = peer.note("mallory", 22, "a reply", inReplyTo=middle["id"])
    await peer.post(node.inbox, peer.create("mallory", reply), as_actor="mallory")
    await node.process()
    # Then the thread is fetched and threaded
    stored_reply, stored_middle, stored_root = [await node.post(str(n["id"])) for n in (reply, middle, root)]
    assert stored_reply is not None and stored_middle is not None and stored_root is not None
    assert stored_reply.in_reply_to_id == stored_middle.id and stored_middle.in_reply_to_id == stored_root.id
    assert stored_reply.thread_id == stored_root.id


async def test_a_reply_cycle_ends(node: LocalNode, peer: FakePeer, alice_follows_mallory: Account) -> None:
    a = peer.note("eve", 30, "a", inReplyTo=f"{peer.actor('eve')}/notes/31")
    b = peer.note("eve", 31, "b", inReplyTo=f"{peer.actor('eve')}/notes/30")
    peer.objects = {str(a["id"]): a, str(b["id"]): b}
    reply = peer.note("mallory", 32, "into the loop", inReplyTo=a["id"])
    await peer.post(node.inbox, peer.create("mallory", reply), as_actor="mallory")
    await node.process()
    assert await node.post(str(reply["id"])) is not None
    assert await node.outcomes() == [("Create", "done", None)]


async def test_disabling_a_local_account_tells_its_remote_followers(node: LocalNode, peer: FakePeer) -> None:
    from node import accounts
    from node.outbox import handle_fanout
    from storage.models import Job

    # Given mallory (remote) follows local dora
    dora = await accounts.create_user(node.ctx, "dora", "dora-password")
    mallory = await remote.actor_by_uri(node.ctx, peer.actor("mallory"))
    async with node.ctx.db.session() as s:
        s.add(Follow(follower_id=mallory.id, target_id=dora.id, state="accepted"))
    # When an operator disables dora and the fan-out runs
    await accounts.disable(node.ctx, "dora")
    await JobWorker(node.ctx.db, {"fanout": lambda job: handle_fanout(node.ctx, job)}).run_once()
    # Then an Update of her actor, marked suspended, is queued to mallory's server
    async with node.ctx.db.reader() as s:
        queued = [json.loads(j.payload) for j in (await s.scalars(select(Job).where(Job.queue == "deliver"))).all()]
    assert [q["inbox"] for q in queued] == [f"{peer.base}/inbox"]
    update = json.loads(queued[0]["body"])
    assert update["type"] == "Update" and update["object"]["suspended"] is True


async def test_a_peer_suspending_its_account_disables_it_here(node: LocalNode, peer: FakePeer, alice_follows_mallory: Account) -> None:
    # (as Mastodon sends it: `suspended` defined in the context, toot:suspended)
    doc = peer.actor_document("mallory") | {"suspended": True}
    doc["@context"] = [*doc["@context"], {"toot": "http://joinmastodon.org/ns#", "suspended": "toot:suspended"}]  # type: ignore[misc]
    update = {"@context": doc.pop("@context"), "id": f"{peer.actor('mallory')}#updates/1", "type": "Update",
              "actor": peer.actor("mallory"), "object": doc}
    assert (await peer.post(node.inbox, update, as_actor="mallory"))[0] == 202
    await node.process()
    mallory = await remote.actor_by_uri(node.ctx, peer.actor("mallory"), fetch=False)
    assert mallory.disabled


async def test_a_planted_javascript_url_is_not_kept(node: LocalNode, peer: FakePeer, alice_follows_mallory: Account) -> None:
    note = peer.note("mallory", 40, "click me", url="javascript:alert(document.cookie)")
    await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory")
    await node.process()
    stored = await node.post(str(note["id"]))
    assert stored is not None and stored.url == note["id"]


async def test_a_remote_bio_is_sanitised(node: LocalNode, peer: FakePeer) -> None:
    doc = peer.actor_document("eve") | {"summary": '<p>hi<script>steal()</script><img src=x onerror="y()"></p>'}
    account = await remote.upsert_actor(node.ctx, parse_actor(doc))
    assert "<script" not in account.bio and "onerror" not in account.bio and "hi" in account.bio


# A peer's actor Delete (node/inbox/notes.py -> node/account_deletion.py forget_remote_account): honoured
# only from the actor itself, and the actor id stays refused afterwards, even while its node serves it again.


@pytest.fixture
async def alice_and_mallory(node: LocalNode, peer: FakePeer, alice_follows_mallory: Account) -> Account:
    """alice follows mallory and is followed back, with a post of mallory's stored."""
    mallory = await remote.actor_by_uri(node.ctx, peer.actor("mallory"))
    async with node.ctx.db.session() as s:
        s.add(Follow(follower_id=mallory.id, target_id=alice_follows_mallory.id, state="accepted",
                     uri=f"{peer.actor('mallory')}/f/1"))
    note = peer.note("mallory", 1, "<p>hello from mallory</p>")
    assert (await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory"))[0] == 202
    await node.process()
    assert await node.post(str(note["id"])) is not None
    return alice_follows_mallory


def _actor_delete(peer: FakePeer, actor: str, obj: str, n: int) -> dict[str, object]:
    return {"id": f"{peer.actor(actor)}#delete-{n}", "type": "Delete", "actor": peer.actor(actor), "object": obj,
            "to": ["https://www.w3.org/ns/activitystreams#Public"]}


async def _rows(node: LocalNode, model: type, *where: object) -> int:
    async with node.ctx.db.reader() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _mallory(node: LocalNode, peer: FakePeer) -> Account:
    async with node.ctx.db.reader() as s:
        row = await s.scalar(select(Account).where(Account.actor_uri == peer.actor("mallory")))
    assert row is not None
    return row


async def test_an_actor_delete_removes_the_account_here_and_its_later_creates_are_refused(
    node: LocalNode, peer: FakePeer, alice_and_mallory: Account
) -> None:
    mallory = await _mallory(node, peer)
    # When mallory's node sends mallory's actor Delete, signed by mallory
    delete = _actor_delete(peer, "mallory", peer.actor("mallory"), 1)
    assert (await peer.post(node.inbox, delete, as_actor="mallory"))[0] == 202
    await node.process()
    # Then her posts, follows both ways and notifications are gone here, and the row is marked
    assert ("Delete", "done", "account deleted") in await node.outcomes()
    assert await _rows(node, Post, Post.account_id == mallory.id) == 0
    assert await _rows(node, Follow, (Follow.follower_id == mallory.id) | (Follow.target_id == mallory.id)) == 0
    assert await _rows(node, Notification, Notification.from_account_id == mallory.id) == 0
    row = await _mallory(node, peer)
    assert row.deleted_at is not None and row.display_name == ""
    # When the peer still serves her actor, and it is looked up again, and she sends a Create
    await remote.fetch_actor(node.ctx, peer.actor("mallory"))
    assert (await _mallory(node, peer)).deleted_at is not None
    note = peer.note("mallory", 2, "<p>back from the dead</p>")
    assert (await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory"))[0] == 202
    await node.process()
    # Then it is refused, with its reason in the inbox log, and nothing is stored
    assert await node.post(str(note["id"])) is None
    assert (await node.outcomes())[-1] == ("Create", "refused", f"mallory@{peer.domain} was deleted by its own node")


async def test_an_actor_delete_signed_by_another_actor_deletes_nobody(
    node: LocalNode, peer: FakePeer, alice_and_mallory: Account
) -> None:
    # When eve (same server) signs a Delete claiming to be mallory's
    status, body = await peer.post(node.inbox, _actor_delete(peer, "mallory", peer.actor("mallory"), 2), as_actor="eve")
    # Then the inbox refuses it: the signer is not the actor
    assert status == 403 and "not the activity's actor" in json.loads(body)["error"]
    # When eve deletes mallory's actor id as her own object
    assert (await peer.post(node.inbox, _actor_delete(peer, "eve", peer.actor("mallory"), 3), as_actor="eve"))[0] == 202
    await node.process()
    # Then mallory is untouched: still here, with her post and follows
    mallory = await _mallory(node, peer)
    assert mallory.deleted_at is None and not mallory.disabled
    assert await _rows(node, Post, Post.account_id == mallory.id) == 1
    assert await _rows(node, Follow, Follow.target_id == mallory.id) == 1
