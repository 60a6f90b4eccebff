"""A blocked peer gets nothing in and nothing out: every request it signs is refused with 403
before any key is fetched, and each refusal is in the audit trail with its rule.

docs/policy.md promises it for `blocked` (and, in allowlist mode, for every domain the file
does not name). The node runs in-process on loopback; the blocked peer and a stranger (a
domain the allowlist does not name) are real HTTP servers that record every request they get,
so "no key fetched" is what crossed the wire: nothing. The signed reads are swept over every
GET route the node's router serves (derived from it: a new route is swept without a line
here), the deliveries over every inbox and several kinds of activity.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from federation.signatures import sign_request, sign_request_rfc9421
from federation.vocab import AP_CONTENT_TYPE, PUBLIC
from node import accounts, audit, posts
from node.admission import NO_CANONICAL_HOST
from node.policy import PeerRule, Policy
from node.posts import NewPost
from storage.media_store import LocalStore
from storage.models import Account, AuditEntry, Follow, InboxEntry, Post
from tests.factory import LocalNode, fake_peer
from tests.federation.fake_peer import FakePeer
from tests.media_files import stored_media
from tests.security.conftest import post_signed, sign_in
from web.app import create_app


@pytest.fixture
async def blocked() -> AsyncIterator[FakePeer]:
    async with fake_peer("mallory", keys={"mallory": 5}) as p:
        yield p


@pytest.fixture
async def stranger() -> AsyncIterator[FakePeer]:
    """A server the allowlist does not name."""
    async with fake_peer("sybil", keys={"sybil": 6}) as p:
        yield p


@pytest.fixture
def policy(node: LocalNode, peer: FakePeer, other_peer: FakePeer, blocked: FakePeer) -> Policy:
    """Allowlist: `peer` and `other_peer` admitted (public), `blocked` named as blocked."""
    node.policy[0] = Policy(mode="allowlist", peers=(
        PeerRule(peer.domain, "public"), PeerRule(blocked.domain, "blocked"), PeerRule(other_peer.domain, "public")))
    return node.policy[0]


@pytest.fixture
async def public_post(node: LocalNode) -> Post:
    alice = await accounts.get_local(node.ctx, "alice")
    return await posts.create_post(node.ctx, alice, NewPost("a public post anyone may read"))


@pytest.fixture
async def public_picture(node: LocalNode, public_post: Post, tmp_path: Path) -> str:
    """The storage key of a picture attached to the public post (anyone may load it)."""
    if node.ctx.media is None:
        node.ctx.media = LocalStore(tmp_path / "media")
    alice = await accounts.get_local(node.ctx, "alice")
    return (await stored_media(node.ctx, alice, post=public_post)).storage_key or ""


def get_paths(node: LocalNode, post: Post, alice_id: int, media_key: str) -> list[str]:
    """One path for every GET route of the node's router, its parameters filled in."""
    values = {"username": "alice", "handle": "alice", "post_id": str(post.id), "account_id": str(alice_id), "key": media_key}
    paths = []
    for resource in create_app(node.ctx).router.resources():
        if not any(route.method == "GET" for route in resource):
            continue
        info = resource.get_info()
        if "prefix" in info:  # static files
            paths.append(f"{info['prefix']}/app.css")
            continue
        paths.append(re.sub(r"\{(\w+)[^}]*\}", lambda m: values.get(m.group(1), "1"), resource.canonical))
    return paths


async def signed_get(node: LocalNode, path: str, key_id: str, key: rsa.RSAPrivateKey, *, rfc9421: bool = False) -> tuple[int, str]:
    url = f"{node.ctx.base_url}{path}"
    sign = sign_request_rfc9421 if rfc9421 else sign_request
    headers = sign("GET", url, {"Accept": AP_CONTENT_TYPE}, None, key_id, key)
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers, allow_redirects=False) as r:
        return r.status, await r.text()


async def refusals(node: LocalNode) -> list[AuditEntry]:
    return [e async for e in audit.entries(node.ctx.db, decision="refused")]


async def test_a_blocked_peers_signed_reads_of_every_route_are_refused_before_any_key_is_fetched(
    node: LocalNode, policy: Policy, blocked: FakePeer, public_post: Post, public_picture: str
) -> None:
    # Given a public post anyone may read, with a picture, and mallory on a peer the policy blocks
    alice = await accounts.get_local(node.ctx, "alice")
    paths = get_paths(node, public_post, alice.id, public_picture)
    assert {"/users/alice", f"/users/alice/statuses/{public_post.id}", "/users/alice/outbox", "/users/alice/followers", f"/media/{public_picture}",
            "/users/alice/following", "/users/alice/collections/featured", "/actor", "/.well-known/webfinger",
            "/.well-known/nodeinfo", "/nodeinfo/2.1"} <= set(paths)
    # When she asks for each, signed (draft-cavage; RFC 9421 for a few)
    answers = {path: await signed_get(node, path, blocked.key_id("mallory"), blocked.keys["mallory"]) for path in paths}
    answers |= {f"{path} (rfc9421)": await signed_get(node, path, blocked.key_id("mallory"), blocked.keys["mallory"], rfc9421=True)
                for path in ("/users/alice", f"/users/alice/statuses/{public_post.id}")}
    # Then every one is refused with 403 and a reason, none served
    wrong = {path: status for path, (status, _) in answers.items() if status != 403}
    assert wrong == {}
    assert all(json.loads(text)["error"] == f"{blocked.domain} is not admitted by this node's policy" for _, text in answers.values())
    # and the node never asked her server for anything (no key fetched)
    assert blocked.requests == []
    # and each refusal is audited with the rule that made it
    entries = await refusals(node)
    assert len(entries) == len(answers)
    assert {(e.direction, e.peer, e.object, e.rule) for e in entries} == {
        ("in", blocked.domain, blocked.key_id("mallory"), f'peers."{blocked.domain}"')}
    assert f"signed GET /users/alice/statuses/{public_post.id}: {blocked.domain} is blocked" in {e.reason for e in entries}


async def test_a_domain_the_allowlist_does_not_name_is_refused_the_same_way(
    node: LocalNode, policy: Policy, stranger: FakePeer, public_post: Post
) -> None:
    # Given sybil's server, which the allowlist does not name (so it is `blocked`)
    for path in ("/users/alice", f"/users/alice/statuses/{public_post.id}", "/users/alice/outbox?page=true",
                 "/.well-known/webfinger?resource=acct:alice@" + node.ctx.domain):
        # When she reads, signed, Then she is refused as a blocked peer is
        status, text = await signed_get(node, path, stranger.key_id("sybil"), stranger.keys["sybil"])
        assert (status, json.loads(text)["error"]) == (403, f"{stranger.domain} is not admitted by this node's policy"), path
    assert stranger.requests == []
    assert {(e.peer, e.rule) for e in await refusals(node)} == {(stranger.domain, "mode = allowlist (unknown domain)")}


async def test_unsigned_reads_and_admitted_peers_are_served_as_before(
    node: LocalNode, policy: Policy, peer: FakePeer, public_post: Post
) -> None:
    # An anonymous reader (the open web, trust `public`) and an admitted peer's signed read
    # get the public post and the actor; nothing is refused
    for path in ("/users/alice", f"/users/alice/statuses/{public_post.id}", "/users/alice/outbox?page=true"):
        async with aiohttp.ClientSession() as s, s.get(f"{node.ctx.base_url}{path}", headers={"Accept": AP_CONTENT_TYPE}) as r:
            assert r.status == 200, path
        status, _ = await signed_get(node, path, peer.key_id("mallory"), peer.keys["mallory"])
        assert status == 200, path
    assert await refusals(node) == []


@pytest.mark.parametrize("inbox", ["/inbox", "/users/alice/inbox", "/actor/inbox"])
async def test_a_blocked_peers_follow_is_refused_before_any_fetch_and_audited(
    node: LocalNode, policy: Policy, blocked: FakePeer, inbox: str
) -> None:
    # When mallory, on a blocked peer, asks to follow alice
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{blocked.actor('mallory')}/follows/1",
              "type": "Follow", "actor": blocked.actor("mallory"), "object": node.ctx.actor_uri("alice")}
    status, body = await blocked.post(f"{node.ctx.base_url}{inbox}", follow, as_actor="mallory")
    # Then she is refused, her key never fetched, nothing queued, no follow made
    assert (status, json.loads(body)["error"]) == (403, f"{blocked.domain} is not admitted by this node's policy")
    assert await node.process() == 0
    assert blocked.requests == [] and blocked.received == []
    async with node.ctx.db.reader() as s:
        assert (await s.scalars(select(Follow))).all() == [] and (await s.scalars(select(InboxEntry))).all() == []
    # and the refusal is in the audit trail with the rule that made it
    assert [(e.direction, e.peer, e.object, e.rule, e.reason) for e in await refusals(node)] == [
        ("in", blocked.domain, blocked.key_id("mallory"), f'peers."{blocked.domain}"',
         f"signed POST {inbox}: {blocked.domain} is blocked")]


@pytest.mark.parametrize("kind", ["Create", "Like", "Announce", "Undo", "Block", "Flag", "Delete", "Update"])
async def test_every_kind_of_activity_from_a_blocked_peer_is_refused_and_audited(
    node: LocalNode, policy: Policy, blocked: FakePeer, public_post: Post, kind: str
) -> None:
    me = blocked.actor("mallory")
    objects: dict[str, object] = {
        "Create": blocked.note("mallory", 1, "hi"), "Update": blocked.actor_document("mallory"),
        "Undo": f"{me}/likes/1", "Block": node.ctx.actor_uri("alice"), "Flag": node.ctx.actor_uri("alice"),
    }
    activity = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{me}/{kind.lower()}/1", "type": kind,
                "actor": me, "object": objects.get(kind, public_post.uri), "to": [PUBLIC]}
    status, _ = await blocked.post(node.inbox, activity, as_actor="mallory")
    assert status == 403
    assert blocked.requests == []
    assert [(e.peer, e.rule) for e in await refusals(node)] == [(blocked.domain, f'peers."{blocked.domain}"')]


async def test_a_follow_taken_before_the_peer_was_blocked_is_refused_by_the_worker_and_audited(
    node: LocalNode, policy: Policy, peer: FakePeer
) -> None:
    # Given mallory's Follow of alice accepted at the inbox (202), not processed yet
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer.actor('mallory')}/follows/2",
              "type": "Follow", "actor": peer.actor("mallory"), "object": node.ctx.actor_uri("alice")}
    assert (await peer.post(node.inbox, follow, as_actor="mallory"))[0] == 202
    # When the operator blocks her server before the inbox worker gets to it
    node.policy[0] = Policy(mode="allowlist", peers=(PeerRule(peer.domain, "blocked"),))
    await node.process()
    # Then the worker refuses it: no follow, no Accept queued for her, and the refusal audited
    async with node.ctx.db.reader() as s:
        assert (await s.scalars(select(Follow))).all() == []
        assert await s.scalar(select(InboxEntry.outcome).where(InboxEntry.activity_id == follow["id"])) == "refused"
    assert ("Follow", "refused", f"{peer.domain} is blocked (since the inbox took it)") in await node.outcomes()
    assert [(e.peer, e.object, e.rule) for e in await refusals(node)] == [
        (peer.domain, follow["id"], f'peers."{peer.domain}"')]


@pytest.mark.parametrize("key_id", [
    "http://xn--zz.example/users/mallory#main-key",  # an invalid A-label: no canonical form
    "http://127.0.0.1:99999/users/mallory#main-key",  # no such port
    "urn:key:mallory",  # names no host at all
])
async def test_a_key_id_without_a_canonical_host_is_refused_and_audited(
    node: LocalNode, policy: Policy, blocked: FakePeer, public_post: Post, key_id: str
) -> None:
    # A signed read and a delivery whose key id's host cannot be put in canonical form: no
    # rule can name it, so none admits it
    status, text = await signed_get(node, f"/users/alice/statuses/{public_post.id}", key_id, blocked.keys["mallory"])
    assert status == 403 and "names no host this node admits" in json.loads(text)["error"]
    answer = await post_signed(node.inbox, {"type": "Follow"}, key_id, blocked.keys["mallory"])
    assert answer.status == 403 and "names no host this node admits" in answer.error
    assert [e.rule for e in await refusals(node)] == [NO_CANONICAL_HOST] * 2



async def test_following_someone_on_a_blocked_peer_is_refused_and_audited(
    node: LocalNode, policy: Policy, blocked: FakePeer, http: aiohttp.ClientSession
) -> None:
    # Given mallory's account, known here from before her server was blocked
    async with node.ctx.db.session() as s:
        mallory = Account(username="mallory", domain=blocked.domain, actor_uri=blocked.actor("mallory"),
                          inbox_uri=f"{blocked.actor('mallory')}/inbox", shared_inbox_uri=f"{blocked.base}/inbox")
        s.add(mallory)
    # When alice asks (client API) to follow her
    auth = await sign_in(http, "alice")
    async with http.post(f"/api/v1/accounts/{mallory.id}/follow", headers=auth) as r:
        assert r.status == 403
    # Then nothing is sent, and the refusal is audited with its rule
    assert await node.process() == 0
    assert blocked.requests == [] and blocked.received == []
    assert [(e.direction, e.peer, e.object, e.rule, e.reason) for e in await refusals(node)] == [
        ("out", blocked.domain, blocked.actor("mallory"), f'peers."{blocked.domain}"', f"follow: {blocked.domain} is blocked")]
