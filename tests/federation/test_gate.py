"""The outbound gate (federation/gate.py) below the node: every request — each redirect hop,
each delivery — asks `admit` first, with its purpose, and nothing connects to a refused host.

A peer on loopback answers; a canary (tests/federation/canary.py) records every connection
it gets; `RecordingAdmit` stands in for the node's policy question and records what it was
asked.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.addresses import AddressPolicy, FetchError
from federation.delivery import deliver
from federation.fetch import Fetcher
from federation.gate import ContactRefused, OutboundGate, Purpose
from federation.vocab import AP_CONTENT_TYPE
from tests.federation.canary import Canary, RecordingAdmit, running_canary
from tests.federation.fake_peer import rsa_key

DEV = AddressPolicy(allow_loopback=True, allow_http=True)


class Peer:
    """Serves a note at /note, redirects /go?to=URL there, WebFinger-redirects to ?to=URL, and
    takes POSTs at /inbox; records every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.port = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def app(self) -> web.Application:
        @web.middleware
        async def record(request: web.Request, handler):  # type: ignore[no-untyped-def]
            self.requests.append((request.method, request.path))
            return await handler(request)

        async def note(request: web.Request) -> web.Response:
            body = {"id": self.url("/note"), "type": "Note", "content": "hi"}
            return web.Response(text=json.dumps(body), content_type=AP_CONTENT_TYPE)

        async def go(request: web.Request) -> web.Response:
            raise web.HTTPFound(request.query["to"])

        async def inbox(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(status=202)

        async def gzipped(request: web.Request) -> web.Response:
            return web.Response(body=gzip.compress(b"inflated"), headers={"Content-Encoding": "gzip"})

        async def slow(request: web.Request) -> web.Response:
            await asyncio.sleep(2.0)
            return web.Response(text="late")

        app = web.Application(middlewares=[record])
        app.router.add_get("/note", note)
        app.router.add_get("/go", go)
        app.router.add_post("/inbox", inbox)
        app.router.add_get("/slow", slow)
        app.router.add_get("/gzip", gzipped)
        return app


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    p = Peer()
    runner = web.AppRunner(p.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    p.port = int(runner.addresses[0][1])
    yield p
    await runner.cleanup()


@pytest.fixture
async def canary() -> AsyncIterator[Canary]:
    async with running_canary() as c:
        yield c


@pytest.fixture
def admit(canary: Canary) -> RecordingAdmit:
    """Admits every host but the canary's."""
    return RecordingAdmit(refuse={canary.domain})


@pytest.fixture
async def gate(admit: RecordingAdmit) -> AsyncIterator[OutboundGate]:
    async with OutboundGate(DEV, admit) as g:
        yield g


@pytest.fixture
def key() -> rsa.RSAPrivateKey:
    return rsa_key()


async def test_every_request_asks_first_with_its_purpose(gate: OutboundGate, admit: RecordingAdmit, peer: Peer) -> None:
    # Given a fetcher on the gate
    fetcher = Fetcher(gate, None)
    # When it fetches a note for a reply, and the same note as an actor's key would be
    await fetcher.fetch_object(peer.url("/note"), purpose=Purpose.REPLY_FETCH)
    await fetcher.fetch_object(peer.url("/note"), purpose=Purpose.KEY)
    # Then each request was asked about, host and purpose, before it was made
    assert admit.asked == [(peer.host, Purpose.REPLY_FETCH), (peer.host, Purpose.KEY)]
    assert peer.requests == [("GET", "/note"), ("GET", "/note")]


async def test_a_refused_host_gets_no_connection(gate: OutboundGate, admit: RecordingAdmit, canary: Canary) -> None:
    # When the fetcher is asked for a document on a host admit refuses
    with pytest.raises(ContactRefused) as refused:
        await Fetcher(gate, None).fetch_object(f"{canary.base}/users/x", purpose=Purpose.ACTOR)
    # Then the refusal (403, naming the rule) came before any connection
    assert refused.value.status == 403 and refused.value.rule == "test" and refused.value.purpose is Purpose.ACTOR
    assert canary.connections == [] and admit.asked == [(canary.domain, Purpose.ACTOR)]


async def test_a_redirect_hop_is_asked_again(gate: OutboundGate, admit: RecordingAdmit, peer: Peer, canary: Canary) -> None:
    # Given an admitted peer whose WebFinger answer redirects to the canary's host
    first = peer.url(f"/go?to={canary.base}/.well-known/webfinger")
    # When WebFinger (which may follow a redirect to another host) asks the peer
    with pytest.raises(ContactRefused):
        await Fetcher(gate, None).fetch_json(first, purpose=Purpose.WEBFINGER, cross_origin_redirects=True)
    # Then the second hop was asked about in its turn, and refused before any connection
    assert admit.asked == [(peer.host, Purpose.WEBFINGER), (canary.domain, Purpose.WEBFINGER)]
    assert peer.requests == [("GET", "/go")] and canary.connections == []


async def test_the_gate_never_follows_a_redirect_itself(gate: OutboundGate, admit: RecordingAdmit, peer: Peer, canary: Canary) -> None:
    # When a request through the gate is answered with a redirect to the canary's host
    async with gate.request("GET", peer.url(f"/go?to={canary.base}/x"), purpose=Purpose.OBJECT) as response:
        status, location = response.status, response.headers.get("Location")
    # Then the answer is the redirect itself: following it is the caller's choice, through the gate
    assert (status, location) == (302, f"{canary.base}/x")
    assert canary.connections == [] and admit.asked == [(peer.host, Purpose.OBJECT)]


async def test_the_address_policy_is_checked_before_the_trust_policy(gate: OutboundGate, admit: RecordingAdmit) -> None:
    # When a URL the address policy refuses (an odd IPv4 form, user-info, another scheme) is asked for
    for url in ("http://2130706433/x", "http://user@127.0.0.1/x", "ftp://127.0.0.1/x"):
        with pytest.raises(FetchError) as refused:
            async with gate.request("GET", url, purpose=Purpose.OBJECT):
                pass
        # Then it is refused as an unusable URL, and the trust policy is not even asked
        assert refused.value.status == 400 and not isinstance(refused.value, ContactRefused)
    assert admit.asked == []


async def test_a_purpose_is_a_purpose_not_a_string(gate: OutboundGate, admit: RecordingAdmit, peer: Peer) -> None:
    with pytest.raises(TypeError, match="purpose must be a Purpose, not 'object'"):
        async with gate.request("GET", peer.url("/note"), purpose="object"):  # type: ignore[arg-type]
            pass
    assert admit.asked == [] and peer.requests == []


async def test_a_request_keeps_the_time_it_is_given(gate: OutboundGate, peer: Peer) -> None:
    # When a request with a short timeout meets a peer that takes long to answer
    with pytest.raises(TimeoutError):
        async with gate.request("GET", peer.url("/slow"), purpose=Purpose.OBJECT,
                                timeout=aiohttp.ClientTimeout(total=0.3)) as response:
            await response.read()
    # Then it gives up at that time; without one, the session's (longer) timeout applies
    async with gate.request("GET", peer.url("/slow"), purpose=Purpose.OBJECT) as response:
        assert (response.status, await response.text()) == (200, "late")


async def test_bodies_come_as_sent_never_inflated(gate: OutboundGate, peer: Peer) -> None:
    # A gzip body is handed over as gzip: whoever reads it bounds the inflation (federation.fetch)
    async with gate.request("GET", peer.url("/gzip"), purpose=Purpose.OBJECT) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(await response.read()) == b"inflated"


async def test_a_delivery_goes_through_the_gate(
    gate: OutboundGate, admit: RecordingAdmit, peer: Peer, canary: Canary, key: rsa.RSAPrivateKey
) -> None:
    body = json.dumps({"id": "https://eng.acme.test/a/1", "type": "Create"}).encode()
    # When an activity is delivered to an admitted inbox, and to one on the canary's host
    delivered = await deliver(gate, peer.url("/inbox"), body, "https://eng.acme.test/users/a#main-key", key)
    refused = await deliver(gate, f"{canary.base}/inbox", body, "https://eng.acme.test/users/a#main-key", key)
    # Then the first is delivered and the second refused at the gate — final, marked as already
    # audited ("refused"), with no connection
    assert delivered.kind == "delivered" and peer.requests == [("POST", "/inbox")]
    assert (refused.kind, refused.status) == ("refused", None) and "refused by the test" in refused.reason
    assert canary.connections == []
    assert admit.asked == [(peer.host, Purpose.DELIVERY), (canary.domain, Purpose.DELIVERY)]


async def test_a_delivery_to_an_unusable_inbox_url_is_final(gate: OutboundGate, key: rsa.RSAPrivateKey) -> None:
    # An inbox URL the node will never use is not retried sixteen times
    outcome = await deliver(gate, "http://2130706433/inbox", b"{}", "https://eng.acme.test/users/a#main-key", key)
    assert outcome.kind == "final"
