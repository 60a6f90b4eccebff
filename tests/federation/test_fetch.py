"""Fetching from peers: signed GET, content type, id, redirects, size, deadline, budget, and
server-side request forgery, against a real aiohttp server on 127.0.0.1.

Host names come from `RecordingResolver` (peer.test → 127.0.0.1 unless a test says
otherwise); the autouse `net_guard` (test_addresses.guarded_network) makes any connect beyond
127.0.0.1 / ::1 fail and fails the test, so no test can leave loopback even with the code
under test broken.
"""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ipaddress
import json
import ssl
import tempfile
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from federation.addresses import AddressPolicy
from federation.fetch import ACCEPT_ACTIVITY, AS_PROFILE, FetchBudget, Fetcher, FetchError
from federation.gate import OutboundGate
from tests.federation.canary import admit_anyone
from tests.federation.test_addresses import (
    NetGuard,
    RecordingResolver,
    guarded_network,
    start_local_server,
)

MAX_BYTES = 10_000
ACTIVITY = "application/activity+json"
CONTENT_TYPES = {
    "ld-as": f'application/ld+json; profile="{AS_PROFILE}"',
    "json": "application/json",
    "ld": "application/ld+json",
    "ld-other": 'application/ld+json; profile="https://example.com/x"',
    "html": "text/html",
    "octets": "application/octet-stream",
    "latin1": "application/activity+json; charset=iso-8859-1",
}
DEV_POLICY = AddressPolicy(allow_loopback=True, allow_http=True)  # loopback admitted explicitly


@pytest.fixture(autouse=True)
def net_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetGuard]:
    yield from guarded_network(monkeypatch)


# --- the peer -----------------------------------------------------------------------------


def _self(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}{request.path}"


def _doc(request: web.Request, content_type: str = ACTIVITY, **fields: Any) -> web.Response:
    body = {"@context": AS_PROFILE, "id": _self(request), "type": "Note", "content": "hello"}
    body.update(fields)
    return web.Response(body=json.dumps(body).encode(), headers={"Content-Type": content_type})


_BOMB: list[bytes] = []


def gzip_bomb() -> bytes:
    """64 MiB of zeros, gzipped to about 64 KiB (made once)."""
    if not _BOMB:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        chunk = b"\0" * (1 << 20)
        _BOMB.append(b"".join(packer.compress(chunk) for _ in range(64)) + packer.flush())
    return _BOMB[0]


def peer_app(closing: asyncio.Event, seen: list[Mapping[str, str]]) -> web.Application:
    async def note(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return _doc(request)

    async def typed(request: web.Request) -> web.Response:
        return _doc(request, content_type=CONTENT_TYPES[request.match_info["kind"]])

    async def other_id(request: web.Request) -> web.Response:
        return _doc(request, id=f"http://{request.host}/objects/someone-elses")

    async def no_id(request: web.Request) -> web.Response:
        return _doc(request, id=None)

    async def raw(request: web.Request) -> web.Response:
        bodies = {
            "array": b"[1, 2]",
            "invalid": b"{not json",
            "nan": b'{"id": NaN}',
            "latin1": "é".encode("latin-1"),
            "deep": b"[" * 5000 + b"]" * 5000,
        }
        return web.Response(
            body=bodies[request.match_info["what"]], headers={"Content-Type": ACTIVITY}
        )

    async def deep_object(request: web.Request) -> web.Response:
        nested: Any = "bottom"
        for _ in range(100):
            nested = {"a": nested}
        return _doc(request, attachment=nested)

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def redirect_loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/redirect-loop")

    async def oversize(request: web.Request) -> web.Response:
        return _doc(request, content="x" * (5 * MAX_BYTES))

    async def oversize_chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": ACTIVITY})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b'{"id": "' + _self(request).encode() + b'", "content": "')
        for _ in range(100):
            await response.write(b"x" * 1000)
        await response.write(b'"}')
        return response

    async def slow(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": ACTIVITY, "Content-Length": "100000"}
        )
        await response.prepare(request)
        try:
            for _ in range(200):
                await response.write(b" ")
                if await _closing_within(closing, 0.05):
                    break
        except ConnectionError:
            pass
        return response

    async def announced(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": ACTIVITY, "Content-Length": "10000000"}
        )
        await response.prepare(request)
        await _closing_within(closing, 10)
        return response

    async def stall(request: web.Request) -> web.Response:
        await _closing_within(closing, 10)
        return _doc(request)

    async def gzip_note(request: web.Request) -> web.Response:
        body = gzip.compress(json.dumps({"id": _self(request), "type": "Note"}).encode())
        return web.Response(
            body=body, headers={"Content-Type": ACTIVITY, "Content-Encoding": "gzip"}
        )

    async def bomb(request: web.Request) -> web.Response:
        return web.Response(
            body=gzip_bomb(), headers={"Content-Type": ACTIVITY, "Content-Encoding": "gzip"}
        )

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="no")

    async def webfinger(request: web.Request) -> web.Response:
        body = {"subject": "acct:alice@peer.test", "links": []}
        return web.Response(
            body=json.dumps(body).encode(), headers={"Content-Type": "application/jrd+json"}
        )

    async def nodeinfo(request: web.Request) -> web.Response:
        ctype = 'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'
        return web.Response(body=b'{"version": "2.1"}', headers={"Content-Type": ctype})

    app = web.Application()
    for path, handler in [
        ("/note", note),
        ("/typed/{kind}", typed),
        ("/other-id", other_id),
        ("/no-id", no_id),
        ("/raw/{what}", raw),
        ("/deep-object", deep_object),
        ("/redirect", redirect),
        ("/redirect-loop", redirect_loop),
        ("/oversize", oversize),
        ("/oversize-chunked", oversize_chunked),
        ("/slow", slow),
        ("/stall", stall),
        ("/announced", announced),
        ("/gzip-note", gzip_note),
        ("/bomb", bomb),
        ("/status/{code}", status),
        ("/webfinger", webfinger),
        ("/nodeinfo", nodeinfo),
    ]:
        app.router.add_get(path, handler)
    return app


async def _closing_within(closing: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(closing.wait(), seconds)
    except TimeoutError:
        return False
    return True


@dataclass
class Peer:
    port: int
    hits: list[str]
    seen: list[Mapping[str, str]] = field(default_factory=list)

    def url(self, path: str, host: str = "peer.test", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


async def _serve(ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[Peer]:
    closing = asyncio.Event()
    seen: list[Mapping[str, str]] = []
    runner, server = await start_local_server(peer_app(closing, seen), ssl_context)
    try:
        yield Peer(server.port, server.hits, seen)
    finally:
        closing.set()
        await runner.cleanup()


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    async for p in _serve():
        yield p


@pytest.fixture
def resolver() -> RecordingResolver:
    return RecordingResolver.of(peer_test="127.0.0.1", other_test="127.0.0.1")


@pytest.fixture
async def fetcher(resolver: RecordingResolver) -> AsyncIterator[Fetcher]:
    async with OutboundGate(DEV_POLICY, admit_anyone, resolver=resolver) as gate:
        yield Fetcher(gate, None, max_bytes=MAX_BYTES, deadline=2.0)


async def refused(coro: Any) -> FetchError:
    with pytest.raises(FetchError) as failed:
        await coro
    return failed.value


# --- good fetches -------------------------------------------------------------------------


async def test_good_fetch(fetcher: Fetcher, peer: Peer) -> None:
    # Given a peer serving a Note as activity+json with its own id
    # When it is fetched
    document = await fetcher.fetch_object(peer.url("/note"))
    # Then the document comes back, asked for with the ActivityPub Accept header
    assert document["id"] == peer.url("/note") and document["type"] == "Note"
    assert peer.seen[0]["Accept"] == ACCEPT_ACTIVITY
    assert (
        ACCEPT_ACTIVITY
        == 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
    )


async def test_fragment_is_not_sent_and_not_compared(fetcher: Fetcher, peer: Peer) -> None:
    # Given a key id with a fragment, as actors publish them
    document = await fetcher.fetch_object(peer.url("/note#main-key"))
    # Then the document without the fragment is fetched and accepted
    assert document["id"] == peer.url("/note") and peer.hits == ["/note"]


async def test_ld_json_with_the_activitystreams_profile(fetcher: Fetcher, peer: Peer) -> None:
    document = await fetcher.fetch_object(peer.url("/typed/ld-as"))
    assert document["type"] == "Note"


async def test_gzip_is_understood(fetcher: Fetcher, peer: Peer) -> None:
    assert (await fetcher.fetch_object(peer.url("/gzip-note")))["type"] == "Note"


async def test_https_with_the_peers_name(net_guard: NetGuard) -> None:
    # Given a TLS peer whose certificate names peer.test, resolved to 127.0.0.1
    ca, server_context = _tls_pair("peer.test")
    async for tls_peer in _serve(server_context):
        client_context = ssl.create_default_context(cadata=ca)
        resolver = RecordingResolver.of(peer_test="127.0.0.1", wrong_test="127.0.0.1")
        async with OutboundGate(
            AddressPolicy(allow_loopback=True), admit_anyone, resolver=resolver, ssl_context=client_context
        ) as gate:
            fetcher = Fetcher(gate, None)
            # When it is fetched over https through the guarded connector
            document = await fetcher.fetch_object(tls_peer.url("/note", scheme="https"))
            # Then the certificate is checked against the name, not the address
            assert document["id"] == tls_peer.url("/note", scheme="https")
            failure = await refused(
                fetcher.fetch_object(tls_peer.url("/note", host="wrong.test", scheme="https"))
            )
            assert failure.status == 502


# --- refused answers ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["json", "ld", "ld-other", "html", "octets", "latin1"])
async def test_wrong_content_type(fetcher: Fetcher, peer: Peer, kind: str) -> None:
    # Given a peer that serves a document under a type that is not ActivityStreams (UTF-8)
    # When it is fetched as an object
    # Then it is refused as unusable
    failure = await refused(fetcher.fetch_object(peer.url(f"/typed/{kind}")))
    assert failure.status == 422


async def test_id_mismatch(fetcher: Fetcher, peer: Peer) -> None:
    # Given a peer that serves, at one URL, a document claiming another id
    # When it is fetched
    # Then it is refused: an object is only believed at its own address
    failure = await refused(fetcher.fetch_object(peer.url("/other-id")))
    assert failure.status == 422 and "someone-elses" in failure.reason


@pytest.mark.parametrize(
    "path",
    [
        "/no-id",
        "/raw/array",
        "/raw/invalid",
        "/raw/nan",
        "/raw/latin1",
        "/raw/deep",
        "/deep-object",
    ],
)
async def test_unusable_json(fetcher: Fetcher, peer: Peer, path: str) -> None:
    # Given a body without id, not an object, not JSON, not UTF-8, or nested absurdly deep
    # Then it is refused as unusable (never a crash, never None)
    failure = await refused(fetcher.fetch_object(peer.url(path)))
    assert failure.status == 422


@pytest.mark.parametrize(
    ("code", "status"), [(404, 404), (410, 410), (401, 502), (500, 502), (304, 502)]
)
async def test_peer_statuses(fetcher: Fetcher, peer: Peer, code: int, status: int) -> None:
    failure = await refused(fetcher.fetch_object(peer.url(f"/status/{code}")))
    assert failure.status == status


# --- redirects ----------------------------------------------------------------------------


async def test_same_origin_redirect_is_followed(fetcher: Fetcher, peer: Peer) -> None:
    # Given a peer that redirects within its origin
    # When the first URL is fetched
    document = await fetcher.fetch_object(peer.url("/redirect?to=/note"))
    # Then the target is fetched, and its id is checked against the final URL
    assert document["id"] == peer.url("/note")
    assert peer.hits == ["/redirect?to=/note", "/note"]


async def test_cross_origin_redirect_is_refused(
    fetcher: Fetcher, peer: Peer, resolver: RecordingResolver
) -> None:
    # Given a peer that redirects to another origin (other.test, which would answer)
    target = peer.url("/note", host="other.test")
    # When it is fetched
    failure = await refused(fetcher.fetch_object(peer.url(f"/redirect?to={target}")))
    # Then the redirect is refused before the other origin is asked anything
    assert failure.status == 403 and "another origin" in failure.reason
    assert peer.hits == [f"/redirect?to={target}"] and "other.test" not in resolver.asked


async def test_too_many_redirects(fetcher: Fetcher, peer: Peer) -> None:
    failure = await refused(fetcher.fetch_object(peer.url("/redirect-loop")))
    assert failure.status == 502 and len(peer.hits) == fetcher.max_redirects + 1


async def test_webfinger_may_follow_a_delegating_domain(fetcher: Fetcher, peer: Peer) -> None:
    target = peer.url("/webfinger", host="other.test")
    # Given fetch_json without cross-origin redirects: refused
    failure = await refused(fetcher.fetch_json(peer.url(f"/redirect?to={target}")))
    assert failure.status == 403
    # When the caller allows them (WebFinger delegation): followed, every hop still checked
    document = await fetcher.fetch_json(
        peer.url(f"/redirect?to={target}"), cross_origin_redirects=True
    )
    assert document["subject"] == "acct:alice@peer.test"


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("http://user:secret@other.test:{port}/webfinger", 400),
        ("gopher://other.test:{port}/webfinger", 400),
        ("http://0x7f.1:{port}/webfinger", 403),
    ],
)
async def test_every_redirect_hop_is_checked_like_a_first_url(
    peer: Peer, net_guard: NetGuard, target: str, status: int
) -> None:
    # Given a peer (public-looking, routed by the test guard to the local server) delegating
    # WebFinger to a URL with user-info, another scheme, or loopback in disguise
    net_guard.nat["203.0.113.7"] = "127.0.0.1"
    resolver = RecordingResolver.of(peer_test="203.0.113.7", other_test="203.0.113.7")
    policy = AddressPolicy([ipaddress.ip_network("203.0.113.7/32")], allow_http=True)
    first = f"/redirect?to={target.format(port=peer.port)}"
    async with OutboundGate(policy, admit_anyone, resolver=resolver) as gate:
        # When it is followed with cross-origin redirects allowed
        fetch = Fetcher(gate, None).fetch_json(peer.url(first), cross_origin_redirects=True)
        failure = await refused(fetch)
    # Then the hop is refused like a first URL would be, before it is requested
    assert failure.status == status and peer.hits == [first]


# --- size and time ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/oversize", "/oversize-chunked"])
async def test_oversize_body(fetcher: Fetcher, peer: Peer, path: str) -> None:
    # Given a body five or ten times the cap, announced or chunked
    # When it is fetched
    # Then it is refused as too large
    failure = await refused(fetcher.fetch_object(peer.url(path)))
    assert failure.status == 413


async def test_gzip_bomb_is_refused_without_inflating_it(
    resolver: RecordingResolver, peer: Peer
) -> None:
    # Given a 64 KiB gzip body that inflates to 64 MiB, under a 200 kB cap (so the compressed
    # body itself is within the cap)
    assert len(gzip_bomb()) < 200_000
    async with OutboundGate(DEV_POLICY, admit_anyone, resolver=resolver) as gate:
        fetcher = Fetcher(gate, None, max_bytes=200_000)
        # When it is fetched
        tracemalloc.start()
        try:
            failure = await refused(fetcher.fetch_object(peer.url("/bomb")))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # Then it is refused, and never much more than the cap was inflated
    assert failure.status == 413 and "larger than" in failure.reason
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes: the bomb was inflated"


async def test_announced_oversize_is_refused_before_reading(fetcher: Fetcher, peer: Peer) -> None:
    # Given a peer announcing a 10 MB body and then sending nothing
    # When it is fetched
    failure = await refused(fetcher.fetch_object(peer.url("/announced")))
    # Then it is refused at once on the announcement, not at the deadline
    assert failure.status == 413 and "announces" in failure.reason


@pytest.mark.parametrize("path", ["/slow", "/stall"])
async def test_slow_peer_hits_the_deadline(
    resolver: RecordingResolver, peer: Peer, path: str
) -> None:
    # Given a peer that drips its body a byte every 50 ms, or never answers
    async with OutboundGate(DEV_POLICY, admit_anyone, resolver=resolver) as gate:
        fetcher = Fetcher(gate, None, deadline=0.5)
        started = time.monotonic()
        # When it is fetched with a half-second deadline
        failure = await refused(fetcher.fetch_object(peer.url(path)))
    # Then the whole fetch gives up at the deadline
    assert failure.status == 504
    assert time.monotonic() - started < 2.0


# --- budget and signing -------------------------------------------------------------------


async def test_budget_exhausted(fetcher: Fetcher, peer: Peer) -> None:
    # Given a budget of two requests for one incoming activity
    budget = FetchBudget(2)
    await fetcher.fetch_object(peer.url("/note"), budget=budget)
    await fetcher.fetch_object(peer.url("/note"), budget=budget)
    # When a third fetch is attempted
    failure = await refused(fetcher.fetch_object(peer.url("/note"), budget=budget))
    # Then it is refused without a request
    assert failure.status == 429 and len(peer.hits) == 2 and budget.remaining == 0


async def test_redirects_spend_the_budget(fetcher: Fetcher, peer: Peer) -> None:
    budget = FetchBudget(1)
    failure = await refused(fetcher.fetch_object(peer.url("/redirect?to=/note"), budget=budget))
    assert failure.status == 429 and peer.hits == ["/redirect?to=/note"]


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_signer_is_called_and_its_headers_sent(
    resolver: RecordingResolver, peer: Peer, asynchronous: bool
) -> None:
    calls: list[tuple[str, str, dict[str, str]]] = []

    def sign(method: str, url: str, headers: Mapping[str, str]) -> Mapping[str, str]:
        calls.append((method, url, dict(headers)))
        return {
            "Signature": f'keyId="https://me.test/actor#main-key",signature="{len(calls)}"',
            "Date": "now",
        }

    async def sign_async(method: str, url: str, headers: Mapping[str, str]) -> Mapping[str, str]:
        return sign(method, url, headers)

    # Given a fetcher with a signer
    async with OutboundGate(DEV_POLICY, admit_anyone, resolver=resolver) as gate:
        fetcher = Fetcher(gate, sign_async if asynchronous else sign)
        # When an object behind a same-origin redirect is fetched
        await fetcher.fetch_object(peer.url("/redirect?to=/note"))
        # Then every request was signed for its own method and URL, with the headers sent
        assert [(m, u) for m, u, _ in calls] == [
            ("GET", peer.url("/redirect?to=/note")),
            ("GET", peer.url("/note")),
        ]
        assert (
            calls[1][2]["Accept"] == ACCEPT_ACTIVITY
            and calls[1][2]["Host"] == f"peer.test:{peer.port}"
        )
        assert peer.seen[0]["Signature"] == 'keyId="https://me.test/actor#main-key",signature="2"'
        assert peer.seen[0]["Date"] == "now" and peer.seen[0]["Host"] == f"peer.test:{peer.port}"
        # And fetch_json (WebFinger, NodeInfo) is not signed unless asked
        calls.clear()
        assert (await fetcher.fetch_json(peer.url("/webfinger")))[
            "subject"
        ] == "acct:alice@peer.test"
        assert calls == []


async def test_fetch_json_for_webfinger_and_nodeinfo(fetcher: Fetcher, peer: Peer) -> None:
    assert (await fetcher.fetch_json(peer.url("/nodeinfo")))["version"] == "2.1"
    failure = await refused(fetcher.fetch_json(peer.url("/typed/html")))
    assert failure.status == 422
    failure = await refused(fetcher.fetch_json(peer.url("/oversize")))
    assert failure.status == 413


async def test_fetcher_needs_the_outbound_gate() -> None:
    async with aiohttp.ClientSession() as plain:
        with pytest.raises(TypeError):
            Fetcher(plain, None)


# --- server-side request forgery ----------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "169.254.169.254",
        "::ffff:127.0.0.1",
        "127.0.0.1",
        "0.0.0.0",
        "fd00::1",
        "64:ff9b::7f00:1",
        "2002:7f00:1::1",
        "::ffff:169.254.169.254",
    ],
)
async def test_name_resolving_inside_is_refused_before_connect(
    address: str, peer: Peer, net_guard: NetGuard
) -> None:
    # Given evil.test resolving to an internal address, and a node that admits no loopback
    resolver = RecordingResolver.of(evil_test=address)
    async with OutboundGate(AddressPolicy(allow_http=True), admit_anyone, resolver=resolver) as gate:
        # When an object is fetched from it
        failure = await refused(
            Fetcher(gate, None).fetch_object(peer.url("/note", host="evil.test"))
        )
    # Then it is refused by the address policy before any socket connects anywhere
    assert failure.status == 403 and "evil.test" in failure.reason
    assert resolver.asked == ["evil.test"] and net_guard.connects == [] and peer.hits == []


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",
        "017700000001",
        "0177.0.0.1",
        "0x7f.0.0.1",
        "0x7f000001",
        "127.1",
        "[::ffff:127.0.0.1]",
        "[::1]",
        "0",
        "0.0.0.0",
        "[::]",
    ],
)
async def test_loopback_literals_in_any_form_are_refused(
    host: str, peer: Peer, net_guard: NetGuard
) -> None:
    # Given a node that admits no loopback, and a URL naming loopback as a decimal, octal, hex,
    # short or IPv6 literal
    resolver = RecordingResolver({})
    async with OutboundGate(AddressPolicy(allow_http=True), admit_anyone, resolver=resolver) as gate:
        # When it is fetched
        failure = await refused(
            Fetcher(gate, None).fetch_object(f"http://{host}:{peer.port}/note")
        )
    # Then it is refused: nothing resolved, nothing connected
    assert failure.status == 403
    assert resolver.asked == [] and net_guard.connects == [] and peer.hits == []


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "127.1", "0177.0.0.1"])
async def test_admitted_loopback_in_a_legacy_form_is_still_refused(
    host: str, fetcher: Fetcher, peer: Peer, net_guard: NetGuard
) -> None:
    failure = await refused(fetcher.fetch_object(f"http://{host}:{peer.port}/note"))
    assert failure.status == 400 and net_guard.connects == []


async def test_dns_rebinding_connects_only_to_the_checked_answer(
    peer: Peer, net_guard: NetGuard
) -> None:
    # Given rebind.test answering a public-looking address (admitted here) first and
    # 127.0.0.1 (not admitted) afterwards; the first is not routed: the test guard refuses it
    net_guard.expect_blocked = True
    resolver = RecordingResolver({"rebind.test": [["203.0.113.5"], ["127.0.0.1"]]})
    policy = AddressPolicy([ipaddress.ip_network("203.0.113.0/24")], allow_http=True)
    async with OutboundGate(policy, admit_anyone, resolver=resolver) as gate:
        # When an object is fetched from it
        failure = await refused(
            Fetcher(gate, None).fetch_object(peer.url("/note", host="rebind.test"))
        )
    # Then the connection went to the address that was checked, and loopback was never reached
    assert failure.status == 502
    assert net_guard.connects == [("203.0.113.5", peer.port)] and peer.hits == []


async def test_dns_rebinding_when_the_checked_answer_works(peer: Peer, net_guard: NetGuard) -> None:
    # Given rebind.test answering 203.0.113.7 (routed by the test guard to the local peer)
    # first, and 127.0.0.1 afterwards
    net_guard.nat["203.0.113.7"] = "127.0.0.1"
    resolver = RecordingResolver({"rebind.test": [["203.0.113.7"], ["127.0.0.1"]]})
    policy = AddressPolicy([ipaddress.ip_network("203.0.113.7/32")], allow_http=True)
    async with OutboundGate(policy, admit_anyone, resolver=resolver) as gate:
        document = await Fetcher(gate, None).fetch_object(peer.url("/note", host="rebind.test"))
    # Then the fetch used the checked answer only, never a second look-up's 127.0.0.1
    assert document["id"] == peer.url("/note", host="rebind.test")
    assert net_guard.connects == [("203.0.113.7", peer.port)]


async def test_an_answer_mixing_outside_and_inside_is_refused(
    peer: Peer, net_guard: NetGuard
) -> None:
    resolver = RecordingResolver({"mixed.test": [["203.0.113.5", "127.0.0.1"]]})
    policy = AddressPolicy([ipaddress.ip_network("203.0.113.0/24")], allow_http=True)
    async with OutboundGate(policy, admit_anyone, resolver=resolver) as gate:
        failure = await refused(
            Fetcher(gate, None).fetch_object(peer.url("/note", host="mixed.test"))
        )
    assert failure.status == 403 and net_guard.connects == [] and peer.hits == []


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/note",
        "http://2130706433:{port}/note",
        "http://[::1]:{port}/note",
        "/redirect?to=http://127.0.0.1:{port}/note",
    ],
)
async def test_redirect_to_loopback_from_an_admitted_peer_is_refused(
    target: str, peer: Peer, net_guard: NetGuard
) -> None:
    # Given an admitted peer on a public-looking address (routed by the test guard to the local
    # server) that redirects to loopback, and a node that admits no loopback
    net_guard.nat["203.0.113.7"] = "127.0.0.1"
    resolver = RecordingResolver.of(peer_test="203.0.113.7")
    policy = AddressPolicy([ipaddress.ip_network("203.0.113.7/32")], allow_http=True)
    first = f"/redirect?to={target.format(port=peer.port)}"
    async with OutboundGate(policy, admit_anyone, resolver=resolver) as gate:
        # When an object is fetched there
        failure = await refused(Fetcher(gate, None).fetch_object(peer.url(first)))
    # Then the redirect is refused: loopback is never connected to
    assert failure.status == 403
    assert set(net_guard.connects) == {("203.0.113.7", peer.port)}
    assert "/note" not in peer.hits


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://peer.test:70/",
        "https://u:p@peer.test/note",
        "ftp://peer.test/note",
    ],
)
async def test_other_schemes_and_userinfo_are_refused(
    url: str, fetcher: Fetcher, resolver: RecordingResolver, net_guard: NetGuard
) -> None:
    failure = await refused(fetcher.fetch_object(url))
    assert failure.status == 400 and resolver.asked == [] and net_guard.connects == []


async def test_plain_http_only_for_development_nodes(
    peer: Peer, resolver: RecordingResolver, net_guard: NetGuard
) -> None:
    # Given a production node that admits loopback (say, a sidecar) but not http
    async with OutboundGate(AddressPolicy(allow_loopback=True), admit_anyone, resolver=resolver) as gate:
        failure = await refused(Fetcher(gate, None).fetch_object(peer.url("/note")))
    # Then plain http is refused before anything is resolved
    assert failure.status == 403 and resolver.asked == [] and net_guard.connects == []


# --- TLS material for the https test (no extra dependency) --------------------------------


def _tls_pair(name: str) -> tuple[str, ssl.SSLContext]:
    """(a CA certificate in PEM, a server context with a certificate for `name` it signed)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Atrium test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.NamedTemporaryFile("wb", suffix=".pem") as chain:
        chain.write(cert.public_bytes(serialization.Encoding.PEM))
        chain.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        chain.flush()
        context.load_cert_chain(chain.name)
    return ca.public_bytes(serialization.Encoding.PEM).decode(), context
