"""Nodes have names (issue #15, "Nodes have no names"): an admin names the node in the web UI,
the name is federated (instance actor `name`, NodeInfo `metadata.nodeName`) and every known
peer is told by an Update; a peer's name is learnt from its instance actor (and renamed by its
Update) or, when a person looks at one of its people, from its NodeInfo; people read the names.

The node runs in-process on a loopback port, its gate opened as `atrium serve` opens it
(tests/factory.py `running_node`); the peer is a fake node over real HTTP
(tests/federation/named_peer.py).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from sqlalchemy import select

from atrium.server import job_handlers
from node import accounts, audience_words, node_names, remote
from node.context import NodeContext
from node.policy import PeerRule, Policy
from node.posts import NewPost, create_post
from node.workers import JobWorker
from storage.models import AuditEntry, Post
from tests.conftest import StartNode
from tests.factory import PASSWORD, LocalNode
from tests.federation.named_peer import NamedPeer, running_named_peer


@dataclass
class Node:
    local: LocalNode  # its policy in force is `local.policy[0]`
    peer: NamedPeer
    texts: dict[str, str]

    @property
    def ctx(self) -> NodeContext:
        return self.local.ctx

    @property
    def base(self) -> str:
        return self.ctx.base_url

    def browser(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(base_url=self.base, cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def run_jobs(self) -> None:
        worker = JobWorker(self.ctx.db, job_handlers(self.ctx))
        while await worker.run_once():
            pass

    async def refusals(self) -> list[str]:
        """The purposes of the contacts with the peer that the policy refused, in order."""
        async with self.ctx.db.reader() as s:
            entries = await s.scalars(
                select(AuditEntry)
                .where(AuditEntry.peer == self.peer.domain, AuditEntry.decision == "refused")
                .order_by(AuditEntry.id)
            )
            return [e.reason.split(":", 1)[0] for e in entries]


@pytest.fixture
async def node(start_node: StartNode) -> AsyncIterator[Node]:
    texts = {k: f"{k}-{uuid.uuid4().hex[:8]}" for k in ("public", "unlisted", "followers", "forged")}
    async with running_named_peer(texts) as peer:
        policy = Policy(mode="allowlist", peers=(PeerRule(peer.domain, "partner"),))
        local = await start_node(policy=policy, serve_gate=True, users=("alice",), admins=("root",))
        yield Node(local, peer, texts)


async def csrf_of(http: aiohttp.ClientSession, path: str) -> str:
    async with http.get(path) as r:
        page = await r.text()
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token is not None, page
    return token.group(1)


async def sign_in(http: aiohttp.ClientSession, login: str) -> None:
    token = await csrf_of(http, "/signin")
    async with http.post(
        "/signin", data={"login": login, "password": PASSWORD, "csrf": token}, allow_redirects=False
    ) as r:
        assert r.status == 303, await r.text()


async def rename(http: aiohttp.ClientSession, name: str) -> tuple[int, str]:
    token = await csrf_of(http, "/")
    async with http.post("/admin/settings/name", data={"name": name, "csrf": token}, allow_redirects=False) as r:
        return r.status, await r.text()


async def text_of(http: aiohttp.ClientSession, path: str) -> str:
    async with http.get(path) as r:
        assert r.status == 200, (path, r.status)
        return await r.text()


# --- this node's name -------------------------------------------------------------------------


async def test_an_admin_names_the_node_and_the_name_is_federated_and_read(node: Node) -> None:
    # Given pat of the peer, known here (so the peer is one to tell), and the node unnamed
    await remote.resolve_handle(node.ctx, f"pat@{node.peer.domain}")
    async with node.browser() as anonymous:
        assert "<h1>Sign in to " + node.ctx.domain + "</h1>" in await text_of(anonymous, "/signin")
    async with node.browser() as root:
        await sign_in(root, "root")
        # When the admin names it on the node settings page
        form = await text_of(root, "/admin/settings")
        assert 'action="/admin/settings/name"' in form and "Name of this node" in form
        status, _ = await rename(root, "Acme Engineering")
        assert status == 303
        assert "The node's name is saved" in await text_of(root, "/admin/settings?done=name")
    # Then the sign-in page and every page's header say it, the address kept beside it
    async with node.browser() as anonymous:
        signin = await text_of(anonymous, "/signin")
        assert "<h1>Sign in to Acme Engineering</h1>" in signin and f"{node.ctx.domain}</p>" in signin
        assert '<span class="node">Acme Engineering</span>' in signin
        # And the instance actor and both NodeInfo versions carry it
        async with anonymous.get("/actor", headers={"Accept": "application/activity+json"}) as r:
            actor = json.loads(await r.text())
        assert actor["name"] == "Acme Engineering" and actor["preferredUsername"] == node.ctx.domain
        for version in ("2.0", "2.1"):
            async with anonymous.get(f"/nodeinfo/{version}") as r:
                assert json.loads(await r.text())["metadata"]["nodeName"] == "Acme Engineering"
    # And the audiences name it where they named the address
    words = {a.visibility: a.description for a in audience_words.audiences(node.ctx)}
    assert words["local"] == "Only people on Acme Engineering; it never leaves this node"
    assert "people on Acme Engineering" in words["organization"]
    # And the peer is told: an Update of the instance actor, carrying the name, to its inbox
    await node.run_jobs()
    updates = [a for a in node.peer.fake.received if a.get("type") == "Update"]
    assert [(u["actor"], u["object"]["type"], u["object"]["name"]) for u in updates] == [  # type: ignore[index]
        (f"{node.base}/actor", "Application", "Acme Engineering")
    ]


async def test_a_bad_name_or_a_non_admin_changes_nothing(node: Node) -> None:
    # Given the node named by its admin
    async with node.browser() as root:
        await sign_in(root, "root")
        assert (await rename(root, "Acme Engineering"))[0] == 303
        # When the admin gives a name with a control character, or one too long
        for bad, reason in (("Acme\u200bEng", "control or invisible"), ("x" * 101, "at most 100 characters")):
            status, page = await rename(root, bad)
            # Then the page says why (422), keeps what was typed, and the name stays
            assert status == 422 and reason in page, page
        assert f'value="{"x" * 101}"' in page
    async with node.browser() as alice:
        # And someone who is not an admin may neither see the page nor change the name
        await sign_in(alice, "alice")
        async with alice.get("/admin/settings") as r:
            assert r.status == 403
        assert (await rename(alice, "Alice's node"))[0] == 403
    node.ctx.own_name.read_at = float("-inf")  # read the name again as another process would
    assert await node_names.own_name(node.ctx) == "Acme Engineering"


# --- a peer's name ----------------------------------------------------------------------------


async def test_a_peer_is_named_by_its_instance_actor_and_renamed_by_its_update(node: Node) -> None:
    # Given the peer's instance actor, fetched as the signer of one of its requests would be
    await remote.actor_by_key_id(node.ctx, f"{node.peer.instance_actor}#main-key")
    assert await node_names.peer_name(node.ctx, node.peer.domain) == "Partner Co."
    # When the peer renames itself and says so with an Update of its instance actor
    status, body = await node.peer.update_name("Partner Company Ltd", f"{node.base}/inbox")
    assert status == 202, body
    await node.run_jobs()
    # Then the node knows it by its new name
    assert await node_names.peer_name(node.ctx, node.peer.domain) == "Partner Company Ltd"
    # And alice reads it in the note beside her organisation post, which the peer does not get
    alice = await accounts.get_local(node.ctx, "alice")
    await create_post(node.ctx, alice, NewPost(text="inside only", visibility="organization"))
    async with node.browser() as http:
        await sign_in(http, "alice")
        home = await text_of(http, "/")
    assert f'Partner Company Ltd <span class="peer">({node.peer.domain})</span>' in home, home


async def test_a_peer_unnamed_by_its_actor_is_named_by_its_nodeinfo_when_a_person_looks(node: Node) -> None:
    # Given pat of the peer, whose node's name is not known here
    await remote.resolve_handle(node.ctx, f"pat@{node.peer.domain}")
    assert await node_names.peer_name(node.ctx, node.peer.domain) is None
    node.peer.fake.requests.clear()
    # When alice opens pat's profile
    async with node.browser() as http:
        await sign_in(http, "alice")
        page = await text_of(http, f"/@pat@{node.peer.domain}")
    # Then the node read the peer's NodeInfo (through the gate, as any contact) and names it
    assert ("GET", "/.well-known/nodeinfo") in node.peer.fake.requests
    assert ("GET", "/nodeinfo/2.1") in node.peer.fake.requests
    assert await node_names.peer_name(node.ctx, node.peer.domain) == "Partner Co."
    assert "on Partner Co.</span>" in page and f"@pat@{node.peer.domain}" in page


async def test_a_note_naming_a_peer_asks_its_nodeinfo_once(node: Node) -> None:
    # Given alice's organisation post, which the partner peer does not get, and the peer's name
    # not known here
    alice = await accounts.get_local(node.ctx, "alice")
    await create_post(node.ctx, alice, NewPost(text="inside only", visibility="organization"))
    async with node.browser() as http:
        await sign_in(http, "alice")
        # When she reads her home timeline
        home = await text_of(http, "/")
        # Then the note beside the post names the peer as its NodeInfo does, read through the gate
        assert f'Partner Co. <span class="peer">({node.peer.domain})</span>' in home, home
        assert node.peer.fake.requests == [("GET", "/.well-known/nodeinfo"), ("GET", "/nodeinfo/2.1")]
        # And the next page asks nothing again
        node.peer.fake.requests.clear()
        assert "Partner Co." in await text_of(http, "/")
        assert node.peer.fake.requests == []


# --- a remote person's profile ----------------------------------------------------------------


async def test_a_remote_profile_shows_their_recent_public_posts_and_counts(node: Node) -> None:
    # Given pat of the peer, known here but followed by no one: no post of his has come
    await remote.resolve_handle(node.ctx, f"pat@{node.peer.domain}")
    async with node.browser() as http:
        await sign_in(http, "alice")
        # When alice opens his profile
        page = await text_of(http, f"/@pat@{node.peer.domain}")
        # Then it shows his public and unlisted posts, read from his outbox, and nothing narrower
        # nor anything his outbox claims someone else wrote
        assert node.texts["public"] in page and node.texts["unlisted"] in page
        assert node.texts["followers"] not in page and node.texts["forged"] not in page
        # And his bio, and the counts his node gives, and a Follow button
        assert "Partnerships at Partner Co." in page
        counts = re.sub(
            r"\s+", " ", re.sub(r"<[^>]+>", " ", page.split('class="profile-counts"', 1)[1].split("</ul>")[0])
        )
        assert "42 posts" in counts and "3 following" in counts and "7 followers" in counts, counts
        assert '<button class="follow" type="submit">Follow</button>' in page
        # And the node asked his node only for what a profile needs, and the followers-only note
        # was never stored
        asked = [p for _, p in node.peer.fake.requests]
        assert "/users/pat/outbox" in asked and "/users/pat/followers" in asked and "/users/pat/following" in asked
        async with node.ctx.db.reader() as s:
            stored = set(await s.scalars(select(Post.uri).where(Post.uri.like(f"{node.peer.fake.base}/%"))))
        assert stored == {node.peer.fake.actor("pat") + "/notes/1", node.peer.fake.actor("pat") + "/notes/2"}
        # And a second visit reads nothing from his node again
        node.peer.fake.requests.clear()
        page = await text_of(http, f"/@pat@{node.peer.domain}")
        assert node.texts["public"] in page and node.peer.fake.requests == []


async def test_a_remote_profile_on_a_host_the_policy_now_refuses_is_not_read(node: Node) -> None:
    # Given pat, known here, and then the peer blocked by the policy
    await remote.resolve_handle(node.ctx, f"pat@{node.peer.domain}")
    node.local.policy[0] = Policy(mode="allowlist", peers=(PeerRule(node.peer.domain, "blocked"),))
    node.peer.fake.requests.clear()
    async with node.browser() as http:
        await sign_in(http, "alice")
        # When alice opens his profile
        async with http.get(f"/@pat@{node.peer.domain}") as r:
            page = await r.text()
    # Then nothing reached his node: the gate refused the actor's read, audited (his node's
    # name is not even asked for: the policy refuses contact, and a page must not audit a
    # refusal each time it is shown)
    assert node.peer.fake.requests == []
    assert await node.refusals() == ["actor"]
    assert node.texts["public"] not in page
