"""Every contact the node makes with another host asks the trust policy first (node.contact,
federation.gate) — black-box, over real HTTP on loopback.

The node runs in-process on its own loopback port. `peer` and `other` are fake peers the policy
admits; `canary` is a listener that records every TCP connection it receives and that the
policy does not admit — unnamed in allowlist mode, or named `blocked` (in allowlist and in open
mode). "No connection" is what the canary's socket saw.
"""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from federation.addresses import AddressPolicy
from federation.gate import ContactRefused, Purpose
from node import accounts, contact, metrics, remote
from node.context import NodeContext
from node.delivery import handle_delivery
from node.inbox import handle_inbox
from node.outbox import DELIVER
from node.policy import PeerRule, Policy
from node.version import VERSION
from node.workers import JobWorker
from storage import jobs
from storage.db import Database
from storage.models import Account, AuditEntry, Follow, InboxEntry, Job, utcnow
from tests.factory import PASSWORD, free_port, node_context, running_node
from tests.federation.canary import Canary, running_canary
from tests.federation.fake_peer import FakePeer, rsa_key
from tests.federation.test_addresses import RecordingResolver
from tests.federation.test_fetch import _serve, _tls_pair

UNKNOWN_RULE = "mode = allowlist (unknown domain)"
# How the policy sees the canary: not named in allowlist mode, or named blocked in either mode.
CASES = ("allowlist, canary unnamed", "allowlist, canary blocked", "open, canary blocked")


# --- the peers ----------------------------------------------------------------------------


def jrd(peer: FakePeer, user: str, href: str) -> dict[str, object]:
    return {"subject": f"acct:{user}@{peer.domain}",
            "links": [{"rel": "self", "type": "application/activity+json", "href": href}]}


@dataclass
class Peer:
    """A fake peer that also answers WebFinger (a JRD, or a redirect), and serves a broken
    actor (500) and a garbled one (not JSON), to be pointed at."""

    fake: FakePeer
    webfinger: dict[str, dict[str, object] | str]  # user -> JRD, or a URL to redirect to

    def app(self) -> web.Application:
        app = self.fake.app()

        async def finger(request: web.Request) -> web.StreamResponse:
            user = request.query.get("resource", "").removeprefix("acct:").split("@", 1)[0]
            answer = self.webfinger.get(user)
            if answer is None:
                return web.json_response({"error": "no"}, status=404)
            if isinstance(answer, str):
                raise web.HTTPFound(answer)
            return web.json_response(answer, content_type="application/jrd+json")

        async def broken(request: web.Request) -> web.Response:
            return web.Response(status=500, text="down")

        async def garbled(request: web.Request) -> web.Response:
            return web.Response(text="{not json", content_type="application/activity+json")

        app.router.add_get("/.well-known/webfinger", finger)
        app.router.add_get("/broken/{name}", broken)
        app.router.add_get("/garbled/{name}", garbled)
        return app


@asynccontextmanager
async def running(peer: Peer) -> AsyncIterator[Peer]:
    runner = web.AppRunner(peer.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", peer.fake.port).start()
    try:
        yield peer
    finally:
        await runner.cleanup()


# --- the node -----------------------------------------------------------------------------


@dataclass
class Net:
    ctx: NodeContext
    peer: Peer
    other: Peer
    canary: Canary
    canary_rule: str  # the rule that refuses the canary
    resolver: RecordingResolver  # the node's resolver: answers nothing, records every name asked

    @property
    def base(self) -> str:
        return self.ctx.base_url

    async def refusals(self, host: str) -> list[AuditEntry]:
        async with self.ctx.db.reader() as s:
            return list(await s.scalars(
                select(AuditEntry).where(AuditEntry.peer == host, AuditEntry.decision == "refused").order_by(AuditEntry.id)
            ))

    async def accounts_on(self, host: str) -> int:
        async with self.ctx.db.reader() as s:
            return int(await s.scalar(select(func.count()).select_from(Account).where(Account.domain == host)) or 0)

    async def process_inbox(self) -> None:
        worker = JobWorker(self.ctx.db, {"inbox": lambda job: handle_inbox(self.ctx, job)})
        while await worker.run_once():
            pass

    async def inbox_outcome(self, activity_id: str) -> tuple[str, str | None]:
        async with self.ctx.db.reader() as s:
            entry = await s.scalar(select(InboxEntry).where(InboxEntry.activity_id == activity_id))
        assert entry is not None
        return entry.outcome, entry.reason

    async def jobs(self, queue: str) -> list[Job]:
        async with self.ctx.db.reader() as s:
            return list(await s.scalars(select(Job).where(Job.queue == queue).order_by(Job.id)))

    async def alice_follows(self, actor_uri: str) -> Account:
        followed = await remote.actor_by_uri(self.ctx, actor_uri)
        alice = await accounts.get_local(self.ctx, "alice")
        async with self.ctx.db.session() as s:
            s.add(Follow(follower_id=alice.id, target_id=followed.id, state="accepted", uri=f"{self.base}/follows/1"))
        return followed

    def assert_refused(self, entries: list[AuditEntry], purpose: Purpose) -> None:
        """One refusal of the canary for `purpose`, naming the rule that made it."""
        assert [(e.direction, e.rule) for e in entries] == [("out", self.canary_rule)], entries
        assert entries[0].reason.startswith(f"{purpose}: ") and self.canary.domain in entries[0].reason


def policy_for(case: str, peer: FakePeer, other: FakePeer, canary: Canary) -> tuple[Policy, str]:
    admitted = (PeerRule(peer.domain, "public"), PeerRule(other.domain, "partner"))
    blocked = PeerRule(canary.domain, "blocked")
    if case == "allowlist, canary unnamed":
        return Policy(mode="allowlist", peers=admitted), UNKNOWN_RULE
    if case == "allowlist, canary blocked":
        return Policy(mode="allowlist", peers=(*admitted, blocked)), f'peers."{canary.domain}"'
    return Policy(mode="open", default_trust="public", peers=(blocked,)), f'peers."{canary.domain}"'


@pytest.fixture(params=CASES)
async def net(request: pytest.FixtureRequest, db: Database) -> AsyncIterator[Net]:
    async with AsyncExitStack() as stack:
        peer = await stack.enter_async_context(running(Peer(FakePeer(free_port()), {})))
        other = await stack.enter_async_context(running(Peer(FakePeer(free_port()), {})))
        canary = await stack.enter_async_context(running_canary())
        peer.fake.add_actor("mallory")
        other.fake.add_actor("trudy", rsa_key(4))
        policy, rule = policy_for(request.param, peer.fake, other.fake, canary)
        resolver = RecordingResolver({})  # every peer here is an IP literal: no name is ever resolved
        # The sign-in page reads the node's own row.
        node = await stack.enter_async_context(
            running_node(db, policy=policy, resolver=resolver, instance=True, users=("alice",))
        )
        yield Net(node.ctx, peer, other, canary, rule, resolver)


@pytest.fixture
async def browser(net: Net) -> AsyncIterator[aiohttp.ClientSession]:
    """An anonymous visitor's HTTP client (keeps cookies, as a browser does)."""
    async with aiohttp.ClientSession(base_url=net.base, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield http


async def sign_in_ui(http: aiohttp.ClientSession, login: str = "alice") -> None:
    """Sign in through the web UI's own form, as a person would."""
    async with http.get("/signin") as r:
        page = await r.text()
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token is not None, page
    async with http.post("/signin", data={"login": login, "password": PASSWORD, "csrf": token.group(1)},
                         allow_redirects=False) as r:
        assert r.status == 303, await r.text()


async def api_token(http: aiohttp.ClientSession, login: str = "alice") -> dict[str, str]:
    async with http.post("/api/v1/apps", data={"client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                                "scopes": "read"}) as r:
        app = await r.json()
    async with http.post("/oauth/token", data={"grant_type": "password", "client_id": app["client_id"],
                                               "client_secret": app["client_secret"], "username": login,
                                               "password": PASSWORD, "scope": "read"}) as r:
        assert r.status == 200, await r.text()
        return {"Authorization": f"Bearer {(await r.json())['access_token']}"}


async def search(http: aiohttp.ClientSession, headers: dict[str, str], q: str) -> dict[str, list[object]]:
    async with http.get("/api/v2/search", params={"q": q, "resolve": "true"}, headers=headers) as r:
        assert r.status == 200, await r.text()
        body: dict[str, list[object]] = await r.json()
        return body


# --- the gate a node opens ---------------------------------------------------------------


async def test_a_nodes_gate_signs_names_resolves_and_trusts_as_it_was_told(db: Database) -> None:
    # Given a node whose gate is opened with a signer, a resolver and the CA of an https peer (as `atrium serve` opens it with the instance key and `federation.ca_file`)
    ca, server_tls = _tls_pair("peer.test")
    async for peer in _serve(server_tls):
        ctx = node_context(db, "eng.acme.test", policy=Policy(mode="open"))
        resolver = RecordingResolver.of(peer_test="127.0.0.1")

        def signer(method: str, url: str, headers: object) -> dict[str, str]:
            return {"Signature": f"signed {method} {url}"}

        gate = contact.open_gate(ctx, AddressPolicy(allow_loopback=True), signer=signer, resolver=resolver,
                                 ssl_context=ssl.create_default_context(cadata=ca))
        assert ctx.gate is gate and ctx.fetcher is not None
        # When the node fetches a note from the peer, by name, over https
        url = peer.url("/note", scheme="https")
        document = await ctx.fetcher.fetch_object(url, purpose=Purpose.OBJECT)
        # Then the name was resolved by that resolver, the certificate checked against that CA,
        # and the request signed by that signer and named after the node
        assert document["id"] == url and resolver.asked == ["peer.test"]
        assert peer.seen[0]["Signature"] == f"signed GET {url}"
        assert peer.seen[0]["User-Agent"] == f"Atrium/{VERSION} (+https://eng.acme.test/)"
        # And closing it closes the session and leaves the context without a way out
        await contact.close_gate(ctx)
        assert gate.closed and ctx.gate is None and ctx.fetcher is None
        await contact.close_gate(ctx)  # closing twice is harmless
        plain = contact.open_gate(ctx, AddressPolicy(allow_loopback=True))
        try:
            assert plain.user_agent == f"Atrium/{VERSION} (+https://eng.acme.test/)"
        finally:
            await contact.close_gate(ctx)
        assert plain.closed


# --- (a) an anonymous visitor's lookup contacts no one ------------------------------------


async def test_an_anonymous_lookup_of_an_unknown_account_contacts_no_host(net: Net, browser: aiohttp.ClientSession) -> None:
    # Given an anonymous visitor of the node's web UI
    for host, server in ((net.canary.domain, None), (net.peer.fake.domain, net.peer)):
        # When they open /@someone@host for a host the policy refuses, and for one it admits
        for path in (f"/@someone@{host}", f"/@someone@{host}/followers", f"/@someone@{host}/following"):
            async with browser.get(path, allow_redirects=False) as r:
                status, page = r.status, await r.text()
            # Then the answer is a 404 page with a link to sign in (and come back), not a lookup
            assert status == 404, page
            assert f"someone@{host} is not known on this node" in page
            assert f'href="/signin?next={quote(path, safe="/")}"' in page
        assert server is None or server.fake.requests == []
    # And no connection reached the canary, nor anything reached the admitted peer
    assert net.canary.connections == []
    assert await net.accounts_on(net.canary.domain) == 0 and await net.refusals(net.canary.domain) == []


async def test_an_anonymous_lookup_shows_what_the_node_already_stores(net: Net, browser: aiohttp.ClientSession) -> None:
    # Given mallory, stored here long ago (a copy a signed-in lookup would refresh)
    mallory = await remote.actor_by_uri(net.ctx, net.peer.fake.actor("mallory"))
    async with net.ctx.db.session() as s:
        row = await s.get(Account, mallory.id)
        assert row is not None
        row.fetched_at = utcnow() - timedelta(days=30)
    net.peer.fake.requests.clear()
    # When an anonymous visitor opens her profile
    async with browser.get(f"/@mallory@{net.peer.fake.domain}") as r:
        status, page = r.status, await r.text()
    # Then the stored account is shown, and the peer was not asked again
    assert status == 200 and "Mallory" in page and f"mallory@{net.peer.fake.domain}" in page
    assert net.peer.fake.requests == []


async def test_a_signed_in_lookup_in_the_web_ui_goes_through_the_gate(net: Net, browser: aiohttp.ClientSession) -> None:
    # Given alice, signed in to the web UI
    await sign_in_ui(browser)
    # When she opens the profile of someone on the canary's host, and of mallory on the peer
    async with browser.get(f"/@someone@{net.canary.domain}") as r:
        refused_status, refused_page = r.status, await r.text()
    async with browser.get(f"/@mallory@{net.peer.fake.domain}") as r:
        found_status, found_page = r.status, await r.text()
    # Then the canary's host is refused at the gate — a page saying so, an audit entry, no
    # connection — while the admitted peer is looked up by WebFinger and shown
    assert refused_status == 403 and "refused by this node&#39;s policy" in refused_page, refused_page
    assert net.canary.connections == []
    net.assert_refused(await net.refusals(net.canary.domain), Purpose.WEBFINGER)
    assert found_status == 404  # the peer answers WebFinger for no one yet
    net.peer.webfinger["mallory"] = jrd(net.peer.fake, "mallory", net.peer.fake.actor("mallory"))
    async with browser.get(f"/@mallory@{net.peer.fake.domain}") as r:
        found_status, found_page = r.status, await r.text()
    assert found_status == 200 and "Mallory" in found_page, found_page
    assert ("GET", "/.well-known/webfinger") in net.peer.fake.requests


# --- (b) a signed-in search asks the policy, and the audit trail says so ------------------


async def test_a_signed_in_search_for_a_handle_on_a_refused_host_contacts_nothing(net: Net, browser: aiohttp.ClientSession) -> None:
    # Given alice, signed in through the client API
    headers = await api_token(browser)
    # When she searches a handle, and then a URL, on the canary's host with resolve=true
    by_handle = await search(browser, headers, f"someone@{net.canary.domain}")
    by_url = await search(browser, headers, f"{net.canary.base}/users/someone")
    # Then nothing is found, nothing is stored, no connection is made
    assert by_handle["accounts"] == [] and by_url["accounts"] == [] and by_url["statuses"] == []
    assert net.canary.connections == []
    assert await net.accounts_on(net.canary.domain) == 0
    # And the audit trail records both refused contacts, each with its rule and its purpose
    entries = await net.refusals(net.canary.domain)
    assert [(e.rule, e.reason.split(":", 1)[0]) for e in entries] == [
        (net.canary_rule, "webfinger"), (net.canary_rule, "lookup")]
    assert entries[0].object.startswith(f"{net.canary.base}/.well-known/webfinger?resource=")


# --- (c) the host a WebFinger answer or redirect leads to is asked about again ------------


async def test_a_webfinger_href_to_an_unadmitted_origin_is_not_followed(net: Net, browser: aiohttp.ClientSession) -> None:
    # Given an admitted peer whose WebFinger answer for mallory points at the canary's origin
    net.peer.webfinger["mallory"] = jrd(net.peer.fake, "mallory", f"{net.canary.base}/users/mallory")
    headers = await api_token(browser)
    # When alice looks mallory up
    found = await search(browser, headers, f"mallory@{net.peer.fake.domain}")
    # Then the peer was asked, the origin it named was not contacted, and nothing was stored
    assert found["accounts"] == []
    assert ("GET", "/.well-known/webfinger") in net.peer.fake.requests
    assert net.canary.connections == []
    assert await net.accounts_on(net.canary.domain) == 0 and await net.accounts_on(net.peer.fake.domain) == 0
    net.assert_refused(await net.refusals(net.canary.domain), Purpose.ACTOR)


async def test_a_webfinger_redirect_is_followed_only_to_an_admitted_host(net: Net, browser: aiohttp.ClientSession) -> None:
    # Given an admitted peer that sends WebFinger for eve to the canary's host, and for trudy
    # to another admitted peer, which knows her
    other = net.other.fake
    net.peer.webfinger["eve"] = f"{net.canary.base}/.well-known/webfinger?resource=acct:eve@{net.peer.fake.domain}"
    net.peer.webfinger["trudy"] = f"{other.base}/.well-known/webfinger?resource=acct:trudy@{net.peer.fake.domain}"
    net.other.webfinger["trudy"] = jrd(other, "trudy", other.actor("trudy"))
    headers = await api_token(browser)
    # When alice looks both up
    eve = await search(browser, headers, f"eve@{net.peer.fake.domain}")
    trudy = await search(browser, headers, f"trudy@{net.peer.fake.domain}")
    # Then the redirect to the canary's host is refused before any connection, and audited
    assert eve["accounts"] == [] and net.canary.connections == []
    net.assert_refused(await net.refusals(net.canary.domain), Purpose.WEBFINGER)
    # And the one to an admitted host is followed: each hop asked, each admitted
    assert [a["acct"] for a in trudy["accounts"]] == [f"trudy@{other.domain}"]  # type: ignore[index]
    assert ("GET", "/.well-known/webfinger") in other.requests and ("GET", "/users/trudy") in other.requests


# --- (d) a Move's target: the policy first, and a failure is an outcome, not a retry ------


async def move(net: Net, target: str, n: int) -> str:
    mallory = net.peer.fake.actor("mallory")
    activity: dict[str, object] = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{mallory}/moves/{n}", "type": "Move",
                "actor": mallory, "object": mallory, "target": target}
    status, body = await net.peer.fake.post(f"{net.base}/inbox", activity, as_actor="mallory")
    assert status == 202, body
    return str(activity["id"])


async def test_a_move_to_a_refused_host_is_refused_before_any_connection(net: Net) -> None:
    # Given alice follows mallory, who announces a move to an account on the canary's host
    await net.alice_follows(net.peer.fake.actor("mallory"))
    moved = await move(net, f"{net.canary.base}/users/mallory", 1)
    # When the inbox worker handles it
    await net.process_inbox()
    # Then the target was never contacted, the activity is refused with the reason, and the
    # job is done — not waiting for a retry
    assert net.canary.connections == []
    outcome, reason = await net.inbox_outcome(moved)
    assert outcome == "refused" and reason is not None and "move-check refused" in reason and net.canary_rule in reason
    assert [(j.status, j.attempts) for j in await net.jobs("inbox")] == [("done", 1)]
    net.assert_refused(await net.refusals(net.canary.domain), Purpose.MOVE_CHECK)


@pytest.mark.parametrize("path", ["broken", "garbled"])
async def test_a_move_whose_target_cannot_be_fetched_is_refused_not_retried(net: Net, path: str) -> None:
    # Given mallory announces a move to an admitted peer that answers 500, or garbage
    await net.alice_follows(net.peer.fake.actor("mallory"))
    target = f"{net.other.fake.base}/{path}/mallory"
    moved = await move(net, target, 2)
    # When the inbox worker handles it
    await net.process_inbox()
    # Then the target was asked once, and the activity is refused with the reason, not retried
    assert net.other.fake.requests == [("GET", f"/{path}/mallory")]
    outcome, reason = await net.inbox_outcome(moved)
    assert outcome == "refused" and reason is not None and target in reason
    assert [(j.status, j.attempts) for j in await net.jobs("inbox")] == [("done", 1)]


# --- (e) keys, reply parents and boosted posts: the gate holds for each -------------------


async def test_a_key_on_a_refused_host_is_not_fetched(net: Net) -> None:
    # Given a key id on the canary's host (the inbox refuses such a signer before any fetch;
    # this asks the layer below, as any other caller would)
    key_id = f"{net.canary.base}/users/x#main-key"
    # When the node is asked for the key's owner
    with pytest.raises(ContactRefused) as refused:
        await remote.actor_by_key_id(net.ctx, key_id)
    # Then the gate refuses it before any connection, with the rule, audits and counts it
    assert refused.value.status == 403 and refused.value.rule == net.canary_rule
    assert (refused.value.host, refused.value.purpose) == (net.canary.domain, Purpose.KEY)
    assert net.canary.connections == []
    net.assert_refused(await net.refusals(net.canary.domain), Purpose.KEY)
    counted = metrics.of(net.ctx).registry.get_sample_value(
        "atrium_policy_decisions_total", {"direction": "out", "decision": "refused"})
    assert counted == 1


async def test_a_reply_to_a_post_on_a_refused_host_fetches_no_parent(net: Net) -> None:
    # Given alice follows mallory, who replies to a post on the canary's host
    await net.alice_follows(net.peer.fake.actor("mallory"))
    note = net.peer.fake.note("mallory", 1, "a reply", inReplyTo=f"{net.canary.base}/users/x/notes/1")
    status, _ = await net.peer.fake.post(f"{net.base}/inbox", net.peer.fake.create("mallory", note), as_actor="mallory")
    assert status == 202
    # When the inbox worker handles it
    await net.process_inbox()
    # Then the reply is stored, its parent was not fetched, and the refusal is audited
    assert await net.inbox_outcome(f"{note['id']}/activity") == ("done", None)
    assert net.canary.connections == []
    net.assert_refused(await net.refusals(net.canary.domain), Purpose.REPLY_FETCH)


async def test_a_boost_of_a_post_on_a_refused_host_fetches_nothing(net: Net) -> None:
    # Given alice follows mallory, who boosts a post on the canary's host
    await net.alice_follows(net.peer.fake.actor("mallory"))
    mallory = net.peer.fake.actor("mallory")
    boost: dict[str, object] = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{mallory}/boosts/1", "type": "Announce",
             "actor": mallory, "object": f"{net.canary.base}/users/x/notes/2",
             "to": ["https://www.w3.org/ns/activitystreams#Public"]}
    status, _ = await net.peer.fake.post(f"{net.base}/inbox", boost, as_actor="mallory")
    assert status == 202
    # When the inbox worker handles it
    await net.process_inbox()
    # Then the boosted post was not fetched, and the refusal is audited
    outcome, _ = await net.inbox_outcome(str(boost["id"]))
    assert outcome == "ignored" and net.canary.connections == []
    net.assert_refused(await net.refusals(net.canary.domain), Purpose.BOOST_FETCH)


async def test_a_host_with_no_canonical_form_is_refused_before_it_is_resolved(net: Net) -> None:
    # Given URLs whose host the address rules accept but that have no canonical form (no
    # policy rule could name them, so none could admit them)
    hosts = ("bad_name.test", "bad_name.test:8080", "a" * 64 + ".test")
    for host in hosts:
        # When the node is asked to fetch an actor there
        with pytest.raises(ContactRefused) as refused:
            await remote.actor_by_uri(net.ctx, f"http://{host}/users/x")
        # Then the gate refuses it, in every mode, naming why
        assert refused.value.rule == contact.NO_CANONICAL_FORM and refused.value.host == host
    # And nothing was resolved, and each refusal is audited under the host as written
    assert net.resolver.asked == []
    for host in hosts:
        [entry] = await net.refusals(host)
        assert (entry.direction, entry.rule, entry.object) == ("out", "canonical host name", f"http://{host}/users/x")
        assert entry.reason.startswith(f"actor: {host} has no canonical form: not a domain")


# --- (f) deliveries go through the gate: one audit entry per refused delivery -------------


async def queue_delivery(net: Net, domain: str, inbox: str, n: int) -> None:
    alice = await accounts.get_local(net.ctx, "alice")
    obj = f"{net.base}/users/alice/statuses/{n}"
    payload = {"inbox": inbox, "domain": domain, "signer": alice.id, "object": obj,
               "body": json.dumps({"id": f"{obj}/activity", "type": "Create", "actor": f"{net.base}/users/alice"})}
    await jobs.enqueue(net.ctx.db, DELIVER, json.dumps(payload).encode(), ordering_key=f"{obj} {inbox}", target=domain)


async def deliver_all(net: Net) -> None:
    worker = JobWorker(net.ctx.db, {DELIVER: lambda job: handle_delivery(net.ctx, job)}, concurrent=frozenset({DELIVER}))
    while await worker.run_once():
        pass


async def test_a_delivery_to_a_refused_host_makes_no_connection_and_one_audit_entry(net: Net) -> None:
    # Given a delivery queued to an inbox on the canary's host — under the canary's own domain
    # (as if queued before the policy changed), and under an admitted peer's domain
    await queue_delivery(net, net.canary.domain, f"{net.canary.base}/inbox", 1)
    await queue_delivery(net, net.peer.fake.domain, f"{net.canary.base}/users/mallory/inbox", 2)
    # When the delivery worker runs
    await deliver_all(net)
    # Then nothing reached the canary, and each delivery failed for good with one refusal each:
    # by the delivery's policy check for the first, by the gate for the second
    assert net.canary.connections == []
    assert [(j.status, j.attempts) for j in await net.jobs(DELIVER)] == [("failed", 1), ("failed", 1)]
    entries = await net.refusals(net.canary.domain)
    assert len(entries) == 2 and {e.rule for e in entries} == {net.canary_rule}
    assert sorted(e.object.split("/")[-1] for e in entries) == ["1", "inbox"]
    assert [e.reason.split(":", 1)[0] for e in entries if e.object.endswith("/inbox")] == ["delivery"]
    async with net.ctx.db.reader() as s:
        assert await s.scalar(select(func.count()).select_from(AuditEntry)) == 2
