"""The inbound matrix: every trust level × every kind of activity a peer sends, judged by what
the node answered over HTTP and what it then stored, with the expected outcome of each cell
written out by hand.

One node runs in-process with real HTTP on loopback; six fake peer servers stand for the six
trust columns (the sixth, `unknown`, is a domain the allowlist does not name). An actor on
each peer — followed by a local user, so its posts are wanted — signs and POSTs each activity
to the node's shared inbox; the node fetches its key over HTTP (only from peers it admits),
the inbox and delivery workers run, and the tests read the outcome. Once per database engine.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from federation.vocab import CONTEXT, PUBLIC
from node import communities, posts, timelines
from node.pagination import Page
from node.posts import NewPost
from storage.models import Account, AuditEntry, Follow, InboxEntry, Like, Post
from tests.conftest import ENGINES
from tests.policy.harness import TRUSTS, Net, database_url, network

Y, N = True, False
KINDS = ("create_public", "create_organization", "follow", "like_public", "like_organization",
         "announce_public", "announce_organization", "join_organization", "join_public", "write_organization")

# (trust, kind) -> outcome, by hand from docs/policy.md ("Trust levels", "Audiences across the boundary")
# and docs/architecture.md ("The life of an inbound activity").
# Creates: (HTTP status, inbox outcome, stored as, in the federated timeline, in the organization timeline)
# Follow of a local (unlocked) account: (HTTP status, inbox outcome, follow state, an Accept crossed back)
# Like / Announce of a local post: (HTTP status, inbox outcome, the like / the boost is stored)
# A refused request (403) leaves no inbox entry: its outcome is None.
# fmt: off
INBOUND: dict[tuple[str, str], tuple[object, ...]] = {
    ("organization", "create_public"):         (202, "done", "public", Y, Y),
    ("partner", "create_public"):              (202, "done", "public", Y, N),
    ("public", "create_public"):               (202, "done", "public", Y, N),
    ("limited", "create_public"):              (202, "done", "public", N, N),  # kept out of shared timelines
    ("blocked", "create_public"):              (403, None, None, N, N),
    ("unknown", "create_public"):              (403, None, None, N, N),

    ("organization", "create_organization"):   (202, "done", "organization", N, Y),
    ("partner", "create_organization"):        (202, "done", "followers", N, N),  # narrowed
    ("public", "create_organization"):         (202, "done", "followers", N, N),  # narrowed
    ("limited", "create_organization"):        (202, "done", "followers", N, N),  # narrowed
    ("blocked", "create_organization"):        (403, None, None, N, N),
    ("unknown", "create_organization"):        (403, None, None, N, N),

    ("organization", "follow"):                (202, "done", "accepted", Y),
    ("partner", "follow"):                     (202, "done", "accepted", Y),
    ("public", "follow"):                      (202, "done", "accepted", Y),
    ("limited", "follow"):                     (202, "done", "pending", N),  # needs approval
    ("blocked", "follow"):                     (403, None, None, N),
    ("unknown", "follow"):                     (403, None, None, N),

    ("organization", "like_public"):           (202, "done", Y),
    ("partner", "like_public"):                (202, "done", Y),
    ("public", "like_public"):                 (202, "done", Y),
    ("limited", "like_public"):                (202, "done", Y),
    ("blocked", "like_public"):                (403, None, N),
    ("unknown", "like_public"):                (403, None, N),

    ("organization", "like_organization"):     (202, "done", Y),
    ("partner", "like_organization"):          (202, "refused", N),  # cannot see it
    ("public", "like_organization"):           (202, "refused", N),
    ("limited", "like_organization"):          (202, "refused", N),
    ("blocked", "like_organization"):          (403, None, N),
    ("unknown", "like_organization"):          (403, None, N),

    ("organization", "announce_public"):       (202, "done", Y),
    ("partner", "announce_public"):            (202, "done", Y),
    ("public", "announce_public"):             (202, "done", Y),
    ("limited", "announce_public"):            (202, "done", Y),
    ("blocked", "announce_public"):            (403, None, N),
    ("unknown", "announce_public"):            (403, None, N),

    ("organization", "announce_organization"): (202, "done", Y),
    ("partner", "announce_organization"):      (202, "refused", N),  # no boosts from outside
    ("public", "announce_organization"):       (202, "refused", N),
    ("limited", "announce_organization"):      (202, "refused", N),
    ("blocked", "announce_organization"):      (403, None, N),
    ("unknown", "announce_organization"):      (403, None, N),

    # The community column. A Follow of an open community of this node (node/communities.py
    # `join_decision`): (HTTP status, inbox outcome, membership, the answer that crossed back).
    ("organization", "join_organization"):     (202, "done", "accepted", "Accept"),
    ("partner", "join_organization"):          (202, "refused", None, "Reject"),  # invisible to it
    ("public", "join_organization"):           (202, "refused", None, "Reject"),
    ("limited", "join_organization"):          (202, "refused", None, "Reject"),
    ("blocked", "join_organization"):          (403, None, None, None),
    ("unknown", "join_organization"):          (403, None, None, None),

    ("organization", "join_public"):           (202, "done", "accepted", "Accept"),
    ("partner", "join_public"):                (202, "done", "accepted", "Accept"),
    ("public", "join_public"):                 (202, "done", "accepted", "Accept"),
    ("limited", "join_public"):                (202, "done", "pending", None),  # needs approval
    ("blocked", "join_public"):                (403, None, None, None),
    ("unknown", "join_public"):                (403, None, None, None),

    # A post written to an organisation community by a member on the peer (each is a member,
    # as if trusted more when it joined): (HTTP status, inbox outcome, stored as, re-shared).
    ("organization", "write_organization"):    (202, "done", "organization", Y),
    ("partner", "write_organization"):         (202, "refused", None, N),
    ("public", "write_organization"):          (202, "refused", None, N),
    ("limited", "write_organization"):         (202, "refused", None, N),
    ("blocked", "write_organization"):         (403, None, None, N),
    ("unknown", "write_organization"):         (403, None, None, N),
}
# fmt: on

# Cells where the node does not do what the table says, each with why. The test fails when a
# cell here starts to match (remove it then) or when any other cell does not.
KNOWN_GAPS: dict[tuple[str, str], str] = {}


@dataclass
class Record:
    outcome: dict[tuple[str, str], tuple[object, ...]] = field(default_factory=dict)
    requests: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # trust -> what the node asked of that peer
    rewritten: set[str] = field(default_factory=set)  # peers whose organization claim was narrowed (audit trail)


def _activities(net: Net, trust: str, lena: str, public_post: str, org_post: str) -> dict[str, dict[str, object]]:
    peer = net.peers[trust]
    me = peer.actor("mallory")
    written = net.ctx.actor_uri("written")
    n3 = peer.note("mallory", 3, f"<p>to the community, from {trust}</p>", to=[f"{me}/followers", written], cc=[],
                   audience=written, audience_scope="organization")
    n1 = peer.note("mallory", 1, f"<p>hello from {trust}</p>")
    n2 = peer.note("mallory", 2, f"<p>for the organisation, from {trust}</p>", to=[f"{me}/followers"], cc=[],
                   audience_scope="organization")

    def act(kind: str, type_: str, obj: object) -> dict[str, object]:
        return {"@context": CONTEXT, "id": f"{me}/activities/{kind}", "type": type_, "actor": me, "object": obj,
                "to": [PUBLIC]}

    # Every peer speaks as an Atrium node does (its JSON-LD context defines `audience_scope`):
    # the worst case, an outsider that claims the organization scope in proper form.
    return {
        "create_public": peer.create("mallory", n1) | {"@context": CONTEXT},
        "create_organization": peer.create("mallory", n2) | {"@context": CONTEXT},
        "follow": act("follow", "Follow", lena),
        "like_public": act("like_public", "Like", public_post),
        "like_organization": act("like_organization", "Like", org_post),
        "announce_public": act("announce_public", "Announce", public_post),
        "announce_organization": act("announce_organization", "Announce", org_post),
        "join_organization": act("join_organization", "Follow", net.ctx.actor_uri("inner")),
        "join_public": act("join_public", "Follow", net.ctx.actor_uri("opened")),
        "write_organization": peer.create("mallory", n3) | {"@context": CONTEXT},
    }


async def run_matrix(database: str) -> Record:
    async with network(database) as net:
        ctx = net.ctx
        alice = await net.local("alice")
        lena = await net.local("lena")
        mallory: dict[str, Account] = {}
        for trust in TRUSTS:
            # Known to the node (alice follows her) but without her key: the node must fetch it,
            # and may do so only from a peer it admits.
            mallory[trust] = await net.remote(trust, "mallory", with_key=False)
            async with ctx.db.session() as s:
                s.add(Follow(follower_id=alice.id, target_id=mallory[trust].id, state="accepted"))
        inner = await communities.create_community(ctx, "inner", audience="organization", creator=alice)
        opened = await communities.create_community(ctx, "opened", audience="public", creator=alice)
        written = await communities.create_community(ctx, "written", audience="organization", creator=alice)
        async with ctx.db.session() as s:
            for trust in TRUSTS:
                s.add(Follow(follower_id=mallory[trust].id, target_id=written.id, state="accepted"))
        public_post = await posts.create_post(ctx, alice, NewPost("a public post"))
        org_post = await posts.create_post(ctx, alice, NewPost("an organization post", visibility="organization"))
        await net.drain()  # (their fan-out: nobody remote follows alice, nothing is sent)

        sent: dict[tuple[str, str], dict[str, object]] = {}
        status: dict[tuple[str, str], int] = {}
        for trust in TRUSTS:
            acts = _activities(net, trust, ctx.actor_uri("lena"), public_post.uri or "", org_post.uri or "")
            for kind in KINDS:
                sent[trust, kind] = acts[kind]
                status[trust, kind], _ = await net.peers[trust].post(net.inbox, acts[kind], as_actor="mallory")
        await net.drain()

        record = Record()
        federated = {p.uri for p in await timelines.federated(ctx, alice, Page(limit=40))}
        organization = {p.uri for p in await timelines.organization(ctx, alice, Page(limit=40))}
        async with ctx.db.reader() as s:
            outcomes = dict((await s.execute(select(InboxEntry.activity_id, InboxEntry.outcome))).all())
            for trust in TRUSTS:
                peer, me = net.peers[trust], mallory[trust]
                for kind in KINDS:
                    activity = sent[trust, kind]
                    head = (status[trust, kind], outcomes.get(str(activity["id"])))
                    if kind.startswith("create"):
                        uri = str(activity["object"]["id"])  # type: ignore[index]
                        stored = await s.scalar(select(Post.visibility).where(Post.uri == uri))
                        record.outcome[trust, kind] = (*head, stored, uri in federated, uri in organization)
                    elif kind == "write_organization":
                        uri = str(activity["object"]["id"])  # type: ignore[index]
                        post = await s.scalar(select(Post).where(Post.uri == uri))
                        shared = post is not None and await s.scalar(select(Post.id).where(
                            Post.account_id == written.id, Post.reblog_of_id == post.id)) is not None
                        record.outcome[trust, kind] = (*head, post.visibility if post else None, shared)
                    elif kind.startswith("join"):
                        group = inner if kind == "join_organization" else opened
                        state = await s.scalar(select(Follow.state).where(Follow.follower_id == me.id,
                                                                          Follow.target_id == group.id))
                        answers = [str(a.get("type")) for a in peer.received if isinstance(a.get("object"), dict)
                                   and a["object"].get("id") == activity["id"]]  # type: ignore[union-attr]
                        record.outcome[trust, kind] = (*head, state, answers[0] if answers else None)
                    elif kind == "follow":
                        state = await s.scalar(select(Follow.state).where(Follow.follower_id == me.id, Follow.target_id == lena.id))
                        accepted = any(a.get("type") == "Accept" and isinstance(a.get("object"), dict)
                                       and a["object"].get("id") == activity["id"] for a in peer.received)  # type: ignore[union-attr]
                        record.outcome[trust, kind] = (*head, state, accepted)
                    elif kind.startswith("like"):
                        target = public_post if kind == "like_public" else org_post
                        liked = await s.scalar(select(Like.id).where(Like.account_id == me.id, Like.post_id == target.id))
                        record.outcome[trust, kind] = (*head, liked is not None)
                    else:
                        boost = await s.scalar(select(Post.id).where(Post.uri == activity["id"]))
                        record.outcome[trust, kind] = (*head, boost is not None)
            rewritten = (await s.scalars(select(AuditEntry.peer).where(
                AuditEntry.direction == "in", AuditEntry.decision == "rewritten"))).all()
        by_domain = {peer.domain: trust for trust, peer in net.peers.items()}
        record.rewritten = {by_domain[d] for d in rewritten}
        record.requests = {trust: list(peer.requests) for trust, peer in net.peers.items()}
        return record


@pytest.fixture(scope="module", params=ENGINES)
def record(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Record:
    return asyncio.run(run_matrix(database_url(str(request.param), request, tmp_path_factory)))


def test_each_activity_from_each_peer_has_the_outcome_the_table_says(record: Record) -> None:
    # Keep this test first: it reads every cell (mutation testing credits the scenario to it).
    assert set(record.outcome) == set(INBOUND)
    wrong = {cell for cell in INBOUND if record.outcome[cell] != INBOUND[cell]}
    lines = [f"{trust:12} {kind:22}: table says {INBOUND[trust, kind]}, got {record.outcome[trust, kind]}"
             for trust, kind in sorted(wrong - set(KNOWN_GAPS))]
    lines += [f"{trust:12} {kind:22}: now matches the table; remove it from KNOWN_GAPS"
              for trust, kind in sorted(set(KNOWN_GAPS) - wrong)]
    assert not lines, "\n".join(lines)


def test_blocked_and_unknown_peers_are_refused_before_any_fetch(record: Record) -> None:
    assert record.requests["blocked"] == []
    assert record.requests["unknown"] == []


def test_admitted_peers_keys_are_fetched_once(record: Record) -> None:
    for trust in ("organization", "partner", "public", "limited"):
        assert record.requests[trust].count(("GET", "/users/mallory")) == 1, trust


def test_narrowed_organization_claims_are_in_the_audit_trail(record: Record) -> None:
    assert record.rewritten == {"partner", "public", "limited"}
