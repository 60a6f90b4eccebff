"""Address policy: which IPs a node may connect to, and the guards that enforce it where the
connection is made (resolver answers, socket destinations).

No test here (or in test_fetch.py, which imports the guard) can send a packet beyond
loopback, even with the code under test broken: `net_guard` is autouse and makes every
`socket.connect` / `connect_ex` / `sendto` to anything but 127.0.0.1 or ::1 fail (recording
it, and failing the test unless the test expects it), and refuses DNS look-ups of anything but
loopback literals. Host names come from `RecordingResolver`, which never asks the network.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from hypothesis import given
from hypothesis import strategies as st

from federation.addresses import (
    AddressPolicy,
    AddressRefused,
    FetchError,
    GuardedResolver,
    address_category,
    guarded_socket_factory,
    make_session,
    parse_ip_literal,
    policy_of,
    refusal_in,
)

# --- the network guard, shared with test_fetch.py -----------------------------------------

LOOPBACK_DESTINATIONS = frozenset({"127.0.0.1", "::1"})


@dataclass
class NetGuard:
    """Records every connect; lets only 127.0.0.1 and ::1 through.

    `nat` maps a documentation address (never routed anywhere) to 127.0.0.1, so a test can
    have a peer that looks public to the code under test while every packet stays local.
    """

    connects: list[tuple[str, int]] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    nat: dict[str, str] = field(default_factory=dict)
    expect_blocked: bool = False

    def destination(self, address: Any) -> Any:
        if not isinstance(address, tuple):  # a Unix socket path: local by nature
            return address
        host, port = str(address[0]).split("%", 1)[0], int(address[1])
        self.connects.append((host, port))
        if host in self.nat:
            return (self.nat[host], port)
        if host in LOOPBACK_DESTINATIONS:
            return address
        self.blocked.append(host)
        raise PermissionError(errno.EACCES, f"test network guard: refusing to connect to {host}")

    def non_loopback_connects(self) -> list[tuple[str, int]]:
        return [c for c in self.connects if c[0] not in LOOPBACK_DESTINATIONS]


def guarded_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetGuard]:
    """The body of an autouse `net_guard` fixture (each test module declares its own)."""
    guard = NetGuard()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        return real_connect(self, guard.destination(address))

    def connect_ex(self: socket.socket, address: Any) -> int:
        return real_connect_ex(self, guard.destination(address))

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        address = args[-1]
        return real_sendto(self, data, *args[:-1], guard.destination(address))  # type: ignore[call-overload,no-any-return]

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in LOOPBACK_DESTINATIONS:
            guard.blocked.append(f"DNS {name}")
            raise socket.gaierror(
                socket.EAI_NONAME, f"test network guard: no DNS look-up of {name}"
            )
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket.socket, "sendto", sendto)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield guard
    assert guard.expect_blocked or not guard.blocked, (
        f"code under test tried to leave loopback: {guard.blocked}"
    )


@pytest.fixture(autouse=True)
def net_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetGuard]:
    yield from guarded_network(monkeypatch)


class RecordingResolver(AbstractResolver):
    """Answers test host names from a table, recording every question; never uses DNS.

    `answers[name]` is a list of successive answers (each a list of addresses); the last one
    repeats.
    """

    def __init__(self, answers: Mapping[str, Sequence[Sequence[str]]]) -> None:
        self._answers = {name: [list(a) for a in seq] for name, seq in answers.items()}
        self.asked: list[str] = []

    @classmethod
    def of(cls, **names: str | Sequence[str]) -> RecordingResolver:
        """`of(evil_test="10.0.0.1")`: one fixed answer per name (`_` stands for `.`)."""
        return cls(
            {
                k.replace("_", "."): [[v] if isinstance(v, str) else list(v)]
                for k, v in names.items()
            }
        )

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self._answers:
            raise OSError(errno.EHOSTUNREACH, f"test resolver knows no {host}")
        seq = self._answers[host]
        answer = seq.pop(0) if len(seq) > 1 else seq[0]
        return [
            ResolveResult(
                hostname=host,
                host=ip,
                port=port,
                family=socket.AF_INET6 if ":" in ip else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for ip in answer
        ]

    async def close(self) -> None:
        return None


@dataclass
class LocalServer:
    port: int
    hits: list[str]


async def start_local_server(
    app: web.Application, ssl_context: Any = None
) -> tuple[web.AppRunner, LocalServer]:
    hits: list[str] = []

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        hits.append(request.path_qs)
        return await handler(request)  # type: ignore[no-any-return]

    app.middlewares.append(record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = int(runner.addresses[0][1])
    return runner, LocalServer(port=port, hits=hits)


# --- the server for session-level tests ---------------------------------------------------


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.query["to"])


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    app = web.Application()
    app.router.add_get("/", _ok)
    app.router.add_get("/redirect", _redirect)
    runner, srv = await start_local_server(app)
    try:
        yield srv
    finally:
        await runner.cleanup()


# --- the guard guards ---------------------------------------------------------------------


def test_the_network_guard_refuses_to_leave_loopback(net_guard: NetGuard) -> None:
    # Given the test network guard
    net_guard.expect_blocked = True
    # When anything tries to reach a non-loopback address, or to resolve a name
    # Then it is refused before a packet is sent
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, pytest.raises(PermissionError):
        s.connect(("10.0.0.1", 80))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, pytest.raises(PermissionError):
        s.sendto(b"x", ("192.0.2.1", 53))
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("example.com", 443)
    assert net_guard.blocked == ["10.0.0.1", "192.0.2.1", "DNS example.com"]


# --- IP literals in every form ------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",
        "017700000001",
        "0x7f000001",
        "0177.0.0.1",
        "0x7f.0.0.1",
        "0x7F.1",
        "127.1",
        "127.0.1",
        "0177.0.0x1",
        "127.0.0.1.",
    ],
)
def test_every_form_of_127_0_0_1_is_read_as_loopback(host: str) -> None:
    # Given a host written in a legacy numeric form
    # When it is parsed
    # Then it is the address the C library would connect to
    assert parse_ip_literal(host) == ipaddress.IPv4Address("127.0.0.1")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("[fe80::1%25eth0]", "fe80::1"),
        ("0", "0.0.0.0"),
        ("10.1", "10.0.0.1"),
        ("169.254.43518", "169.254.169.254"),
        ("2852039166", "169.254.169.254"),
    ],
)
def test_other_literals(host: str, expected: str) -> None:
    assert parse_ip_literal(host) == ipaddress.ip_address(expected)


@pytest.mark.parametrize(
    "host", ["peer.test", "example.com", "xn--bcher-kva.example", "1.example", "a-1.b"]
)
def test_names_are_not_literals(host: str) -> None:
    assert parse_ip_literal(host) is None


@pytest.mark.parametrize(
    "host", ["1.2.3.4.5", "08.0.0.1", "256.0.0.1", "1.16777216", "a.1", "1..1", "[::g]", "::zz"]
)
def test_numeric_hosts_that_are_no_address_are_refused(host: str) -> None:
    # Given a host that ends in a number but is no valid address
    # Then it is neither an address nor a name (a resolver might still make one of it)
    with pytest.raises(ValueError):
        parse_ip_literal(host)


def _render(value: int, parts: int, bases: list[str]) -> str:
    sizes = [1] * (parts - 1) + [4 - (parts - 1)]
    numbers, shift = [], 32
    for size in sizes:
        shift -= 8 * size
        numbers.append((value >> shift) & ((1 << (8 * size)) - 1))
    rendered = []
    for n, base in zip(numbers, bases, strict=False):
        rendered.append({"d": str(n), "o": "0" + format(n, "o"), "x": hex(n)}[base])
    return ".".join(rendered)


@given(
    value=st.integers(min_value=0, max_value=2**32 - 1),
    parts=st.integers(min_value=1, max_value=4),
    bases=st.lists(st.sampled_from("dox"), min_size=4, max_size=4),
)
def test_literal_parsing_agrees_with_the_c_library(
    value: int, parts: int, bases: list[str]
) -> None:
    # Given any IPv4 address written with 1-4 parts in decimal, octal or hex
    host = _render(value, parts, bases)
    # When we and inet_aton (what getaddrinfo would use) read it
    # Then we read the same address, and the policy judges it like the dotted quad
    expected = ipaddress.IPv4Address(socket.inet_aton(host))
    assert parse_ip_literal(host) == expected == ipaddress.IPv4Address(value)
    policy = AddressPolicy()
    assert policy.admits(parse_ip_literal(host) or "") == policy.admits(str(expected))
    assert policy.admits(f"::ffff:{expected}") == policy.admits(str(expected))


# --- the policy ---------------------------------------------------------------------------

REFUSED = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "::1": "loopback",
    "10.0.0.1": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "fec0::1": "site-local",
    "169.254.169.254": "link-local",
    "fe80::1": "link-local",
    "fe80::1%eth0": "link-local",
    "100.64.0.1": "shared (carrier-grade NAT)",
    "0.0.0.0": "unspecified",
    "0.1.2.3": "unspecified",
    "::": "unspecified",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "ff02::1": "multicast",
    "255.255.255.255": "broadcast",
    "240.0.0.1": "reserved",
    "192.0.2.1": "documentation",
    "198.51.100.7": "documentation",
    "203.0.113.5": "documentation",
    "2001:db8::1": "documentation",
    "198.18.0.1": "benchmarking",
    "192.0.0.9": "IETF protocol assignment",
    "::ffff:127.0.0.1": "loopback",
    "::ffff:10.0.0.1": "private",
    "::ffff:169.254.169.254": "link-local",
    "::ffff:0.0.0.0": "unspecified",
    "64:ff9b::7f00:1": "loopback",
    "64:ff9b::a9fe:a9fe": "link-local",  # NAT64
    "2002:7f00:1::1": "loopback",
    "2002:a00:1::": "private",  # 6to4
    "2001:0:4136:e378:8000:63bf:3fff:fdd2": "IETF protocol assignment",  # Teredo
    "64:ff9b:1::a00:1": "local-use NAT64",
    "::127.0.0.1": "reserved",
    "100::1": "discard-only",
}


@pytest.mark.parametrize(("address", "category"), sorted(REFUSED.items()))
def test_non_public_addresses_are_refused_by_default(address: str, category: str) -> None:
    # Given a policy that admits nothing beyond public addresses
    policy = AddressPolicy()
    # When a non-public address, in any disguise, is checked
    # Then it is refused with a 403 that says what kind of address it is
    assert address_category(address) == category
    with pytest.raises(AddressRefused) as refused:
        policy.check(address)
    assert refused.value.status == 403 and category in refused.value.reason


@pytest.mark.parametrize(
    "address",
    [
        "1.1.1.1",
        "93.184.216.34",
        "2606:4700:4700::1111",
        "2a00:1450:4001::1",
        "::ffff:1.1.1.1",
        "64:ff9b::101:101",
        "2002:101:101::1",
    ],
)
def test_public_addresses_are_admitted(address: str) -> None:
    AddressPolicy().check(address)
    assert address_category(address) is None


def test_allowed_networks_admit_their_ranges_and_nothing_else() -> None:
    # Given an organisation whose nodes sit on 10.20.0.0/16 and fd00:20::/32
    policy = AddressPolicy(
        [ipaddress.ip_network("10.20.0.0/16"), ipaddress.ip_network("fd00:20::/32")]
    )
    # Then those ranges are reachable, also as IPv4-mapped addresses
    for ok in ["10.20.1.2", "::ffff:10.20.1.2", "fd00:20::5"]:
        policy.check(ok)
    # And neighbouring private ranges, loopback and the metadata service are not
    for bad in ["10.21.0.1", "192.168.0.1", "127.0.0.1", "169.254.169.254", "fd00:21::5", "::1"]:
        assert not policy.admits(bad), bad


def test_allow_loopback_admits_loopback_only() -> None:
    policy = AddressPolicy(allow_loopback=True)
    for ok in ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"]:
        policy.check(ok)
    for bad in ["10.0.0.1", "169.254.169.254", "192.168.1.1", "0.0.0.0", "::"]:
        assert not policy.admits(bad), bad


def test_unspecified_and_multicast_are_never_admitted() -> None:
    # Given a configuration that admits everything it can
    policy = AddressPolicy(
        [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")], allow_loopback=True
    )
    # Then 0.0.0.0 (which reaches the local host on Linux), multicast and broadcast stay out
    for bad in ["0.0.0.0", "::", "::ffff:0.0.0.0", "224.0.0.251", "ff02::fb", "255.255.255.255"]:
        assert not policy.admits(bad), bad
    policy.check("10.0.0.1")


def test_a_development_node_reaches_loopback_over_http() -> None:
    # Given a node created with --scheme http on a loopback domain
    for domain in ["127.0.0.1:8001", "localhost:8002", "[::1]:8003", "eng.localhost:8004"]:
        policy = AddressPolicy.for_node([], scheme="http", domain=domain)
        # Then it may reach loopback peers, over http, with no further configuration
        assert policy.allow_loopback and policy.allow_http, domain
        policy.check("127.0.0.1")
        # But not the private network
        assert not policy.admits("10.0.0.1")


def test_a_production_node_needs_explicit_networks() -> None:
    for scheme, domain in [
        ("https", "eng.acme.example"),
        ("https", "127.0.0.1"),
        ("http", "eng.acme.example"),
    ]:
        policy = AddressPolicy.for_node(
            ["10.20.0.0/16", " fd00::/8 "], scheme=scheme, domain=domain
        )
        assert not policy.allow_loopback and not policy.allow_http
        policy.check("10.20.3.4")
        policy.check("fd00::1")
        assert not policy.admits("127.0.0.1")
    with pytest.raises(ValueError, match="not a CIDR"):
        AddressPolicy.for_node(["10.0.0.0/33"], scheme="https", domain="a.example")


# --- URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("file:///etc/passwd", 400),
        ("gopher://peer.test/", 400),
        ("ftp://peer.test/x", 400),
        ("data:,x", 400),
        ("//peer.test/x", 400),
        ("https://user:pw@peer.test/x", 400),
        ("https://user@peer.test/x", 400),
        ("http://peer.test/x", 403),
        ("https:///x", 400),
        ("https://%31%32%37.0.0.1/", 400),
        ("https://2130706433/", 403),
        ("https://0x7f.1/", 403),
        ("https://[::ffff:127.0.0.1]/", 403),
        ("https://169.254.169.254/latest/meta-data/", 403),
        ("https://0/", 403),
        ("https://1.2.3.4.5/", 400),
    ],
)
def test_unusable_or_refused_urls(url: str, status: int) -> None:
    # Given a production policy
    # When a URL with a wrong scheme, user-info or a refused/odd host is checked
    # Then it is refused before anything is resolved or connected
    with pytest.raises(FetchError) as refused:
        AddressPolicy().check_url(url)
    assert refused.value.status == status


def test_admitted_literals_must_be_canonical() -> None:
    policy = AddressPolicy(allow_loopback=True, allow_http=True)
    assert (
        str(policy.check_url("http://127.0.0.1:8001/users/a#main-key"))
        == "http://127.0.0.1:8001/users/a"
    )
    assert policy.check_url("http://[::1]:8001/x").host == "::1"
    with pytest.raises(FetchError) as refused:
        policy.check_url("http://127.1:8001/users/a")
    assert refused.value.status == 400 and "non-canonical" in refused.value.reason


def test_https_names_pass_url_checks() -> None:
    assert (
        str(AddressPolicy().check_url("https://Mastodon.Example/users/alice"))
        == "https://mastodon.example/users/alice"
    )


# --- the guards in the connection path ----------------------------------------------------


async def test_guarded_resolver_refuses_a_whole_answer_with_any_refused_address() -> None:
    # Given a name that points both outside and inside the network
    inner = RecordingResolver(
        {"mixed.test": [["1.1.1.1", "10.0.0.1"]], "fine.test": [["1.1.1.1", "2606:4700::1"]]}
    )
    resolver = GuardedResolver(inner, AddressPolicy())
    # When the connector asks for it
    # Then the whole answer is refused, naming the host and the address
    with pytest.raises(AddressRefused) as refused:
        await resolver.resolve("mixed.test", 443)
    assert "mixed.test" in refused.value.reason and "10.0.0.1" in refused.value.reason
    # And a public answer passes unchanged
    answer = await resolver.resolve("fine.test", 443)
    assert [a["host"] for a in answer] == ["1.1.1.1", "2606:4700::1"]


def test_socket_factory_refuses_before_the_socket_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[Any] = []
    monkeypatch.setattr(socket, "socket", lambda *a, **k: created.append((a, k)))
    factory = guarded_socket_factory(AddressPolicy())
    for sockaddr, family in [
        (("10.0.0.1", 80), socket.AF_INET),
        (("::ffff:127.0.0.1", 80, 0, 0), socket.AF_INET6),
    ]:
        with pytest.raises(AddressRefused):
            factory((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
    assert created == []


def test_refusal_is_found_behind_aiohttp_wrappers() -> None:
    refused = AddressRefused("10.0.0.1", "10.0.0.1 is private")
    try:
        try:
            raise refused
        except OSError as exc:
            raise aiohttp.ClientConnectorError(
                aiohttp.client_reqrep.ConnectionKey("h", 80, False, True, None, None, None), exc
            ) from exc
    except aiohttp.ClientError as wrapped:
        assert refusal_in(wrapped) is refused
    assert refusal_in(ValueError("x")) is None


async def test_only_make_session_sessions_have_a_policy() -> None:
    async with aiohttp.ClientSession() as plain:
        with pytest.raises(TypeError):
            policy_of(plain)
    policy = AddressPolicy(allow_loopback=True)
    async with make_session(policy, RecordingResolver({})) as session:
        assert policy_of(session) is policy
        assert session.trust_env is False


@pytest.mark.parametrize("host", ["127.0.0.1", "[::ffff:127.0.0.1]", "[::1]"])
async def test_a_session_refuses_a_loopback_literal_at_the_socket(
    host: str, server: LocalServer, net_guard: NetGuard
) -> None:
    # Given a session whose policy does not admit loopback, and a server on loopback
    resolver = RecordingResolver({})
    async with make_session(AddressPolicy(allow_http=True), resolver) as session:
        # When it is asked for an IP-literal URL (which aiohttp connects to without a resolver)
        with pytest.raises(aiohttp.ClientConnectorError) as failed:
            await session.get(f"http://{host}:{server.port}/")
    # Then the socket factory refused it: no socket connected, the server saw nothing
    assert refusal_in(failed.value) is not None
    assert net_guard.connects == [] and server.hits == [] and resolver.asked == []


@pytest.mark.parametrize(
    "address", ["10.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "127.0.0.1", "fd00::1"]
)
async def test_a_session_refuses_a_name_that_resolves_inside(
    address: str, server: LocalServer, net_guard: NetGuard
) -> None:
    # Given a name that resolves to a non-public address
    resolver = RecordingResolver.of(evil_test=address)
    async with make_session(AddressPolicy(allow_http=True), resolver) as session:
        # When a plain session request is made to it
        with pytest.raises(aiohttp.ClientConnectorError) as failed:
            await session.get(f"http://evil.test:{server.port}/")
    # Then it is refused at resolve time, before any connect
    assert refusal_in(failed.value) is not None
    assert resolver.asked == ["evil.test"] and net_guard.connects == [] and server.hits == []


async def test_a_session_that_follows_redirects_still_refuses_loopback(
    server: LocalServer, net_guard: NetGuard
) -> None:
    # Given a peer on a public-looking address (routed, by the test guard, to the local server)
    # and a policy that admits that address but not loopback
    net_guard.nat["203.0.113.7"] = "127.0.0.1"
    policy = AddressPolicy([ipaddress.ip_network("203.0.113.7/32")], allow_http=True)
    resolver = RecordingResolver.of(peer_test="203.0.113.7")
    async with make_session(policy, resolver) as session:
        # When a caller lets aiohttp follow the peer's redirect to http://127.0.0.1/
        with pytest.raises(aiohttp.ClientConnectorError) as failed:
            await session.get(
                f"http://peer.test:{server.port}/redirect?to=http://127.0.0.1:{server.port}/"
            )
    # Then the redirect is refused at the socket: the server saw only the first request
    assert refusal_in(failed.value) is not None
    assert server.hits == [f"/redirect?to=http://127.0.0.1:{server.port}/"]
    assert net_guard.connects == [("203.0.113.7", server.port)]
