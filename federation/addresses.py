"""Which addresses a node may connect to, decided where the connection is made.

Server-side request forgery is the risk: a peer names a URL, and the node connects to
whatever that URL points at — the cloud metadata service, a database on the private network,
the node's own admin port. So:

* `AddressPolicy` decides which IP addresses are reachable. Public unicast addresses are;
  loopback, private, link-local, shared (CGNAT), documentation, benchmarking, reserved,
  multicast and unspecified ones are not — unless the node's configuration admits them
  (`federation.allowed_private_networks`, or a development node's loopback). Addresses that
  embed an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
  `2002::/16`) are judged by the address they embed.
* The check runs on the addresses actually connected to, never on a separate look-up that a
  DNS server could answer differently a moment later (DNS rebinding): `GuardedResolver` checks
  every answer the connector is given, and `guarded_socket_factory` checks the destination of
  every socket before it exists — which also covers IP-literal hosts, which aiohttp connects
  to without asking any resolver.
* Host names that are IP literals in a legacy form (`2130706433`, `0177.0.0.1`, `0x7f.1`,
  `127.1`) are read the way the C library would read them (`parse_ip_literal`) before any
  decision, and `AddressPolicy.check_url` refuses them outright.

`make_session` builds an aiohttp session wired with both guards; the caller owns and closes
it. Refusals are `AddressRefused`, a `FetchError` with status 403 that is also an `OSError`,
so aiohttp reports it like any other failure to connect; `refusal_in` digs it out again.
"""

from __future__ import annotations

import errno
import ipaddress
import re
import socket
import ssl
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from storage.errors import AtriumError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# (family, type, proto, canonname, sockaddr), as aiohttp and aiohappyeyeballs pass it.
AddrInfo = tuple[int, int, int, str, tuple[Any, ...]]


class FetchError(AtriumError):
    """An outbound request that could not be made or whose answer is unusable.

    `status` is HTTP-ish: 400 unusable URL, 403 refused by policy, 404/410 as the peer said,
    413 too large, 422 unusable content, 429 fetch budget spent, 502 the peer failed or
    misbehaved, 504 deadline passed.
    """

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason, status=status)
        self.args = (reason, status)  # so a copy or an unpickled one is built with both, as before

    def __str__(self) -> str:
        return f"{self.reason} ({self.status})"


class AddressRefused(FetchError, PermissionError):
    """The address policy refused a destination (status 403).

    Also a `PermissionError` (EACCES) so that aiohttp and aiohappyeyeballs treat it as a failed
    connection attempt, wrapping it in `aiohttp.ClientConnectorError`; see `refusal_in`.
    """

    def __init__(self, address: str, reason: str) -> None:
        PermissionError.__init__(self, errno.EACCES, reason)
        self.reason = reason
        self.status = 403
        self.address = address

    def __str__(self) -> str:
        return f"{self.reason} (403)"


def refusal_in(exc: BaseException) -> AddressRefused | None:
    """The `AddressRefused` behind an aiohttp connection error, if that is what it was."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, AddressRefused):
            return current
        todo.append(getattr(current, "os_error", None))
        todo.append(current.__cause__)
        todo.append(current.__context__)
    return None


# --- what an address is -------------------------------------------------------------------


def _nets(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# Never a destination, whatever the configuration says: connecting to 0.0.0.0 reaches the
# local host on Linux, and the others are not unicast.
_NEVER: tuple[tuple[str, tuple[IPNetwork, ...]], ...] = (
    ("unspecified", _nets("0.0.0.0/8", "::/128")),
    ("multicast", _nets("224.0.0.0/4", "ff00::/8")),
    ("broadcast", _nets("255.255.255.255/32")),
)
_LOOPBACK = _nets("127.0.0.0/8", "::1/128")
# IANA special-purpose registries (IPv4 and IPv6), spelled out rather than left to the
# `ipaddress` flags, whose lists differ between Python releases.
_SPECIAL: tuple[tuple[str, tuple[IPNetwork, ...]], ...] = (
    ("private", _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")),
    ("site-local", _nets("fec0::/10")),
    ("link-local", _nets("169.254.0.0/16", "fe80::/10")),
    ("shared (carrier-grade NAT)", _nets("100.64.0.0/10")),
    (
        "documentation",
        _nets("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20"),
    ),
    ("benchmarking", _nets("198.18.0.0/15")),
    ("IETF protocol assignment", _nets("192.0.0.0/24", "2001::/23")),
    ("6to4 relay anycast", _nets("192.88.99.0/24")),
    ("local-use NAT64", _nets("64:ff9b:1::/48")),
    ("discard-only", _nets("100::/64")),
    ("SRv6 SID", _nets("5f00::/16")),
    ("reserved", _nets("240.0.0.0/4")),
)
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _as_ip(address: IPAddress | str) -> IPAddress:
    if isinstance(address, str):
        # A resolver may answer a scoped IPv6 address (`fe80::1%eth0`); the scope does not
        # change what the address is.
        return ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return ipaddress.IPv6Address(str(address).split("%", 1)[0])
    return address


def effective_address(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), else itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour is not None:
            return ip.sixtofour
    return ip


def _in(ip: IPAddress, nets: Iterable[IPNetwork]) -> bool:
    return any(ip.version == net.version and ip in net for net in nets)


def _never_category(ip: IPAddress) -> str | None:
    for name, nets in _NEVER:
        if _in(ip, nets):
            return name
    return None


def address_category(address: IPAddress | str) -> str | None:
    """What kind of non-public address this is (`"loopback"`, `"private"`, …), or None."""
    return _judged(_as_ip(address))[2]


@lru_cache(maxsize=1024)
def _judged(ip: IPAddress) -> tuple[IPAddress, str | None, str | None]:
    """`ip`'s effective address, its never-a-destination category and its category: pure,
    and asked for every request to an IP literal and every new connection (the categories'
    network lists cost about 0.1 ms an address, a tenth of a delivery's work)."""
    eff = effective_address(ip)
    never = _never_category(ip) or _never_category(eff)
    return eff, never, never or _category(eff)


def _category(eff: IPAddress) -> str | None:
    if _in(eff, _LOOPBACK):
        return "loopback"
    for name, nets in _SPECIAL:
        if _in(eff, nets):
            return name
    if isinstance(eff, ipaddress.IPv6Address) and eff not in _GLOBAL_UNICAST_V6:
        return "reserved"
    if not eff.is_global or eff.is_reserved or eff.is_private:  # the standard library's view, too
        return "non-global"
    return None


# --- IP literals in every form ------------------------------------------------------------

_NUMBER_LABEL = re.compile(r"(?:[0-9]+|0[xX][0-9a-fA-F]*)\Z")


def _ipv4_number(part: str) -> int:
    if part[:2] in ("0x", "0X"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part[1:], 8)  # raises on 8 and 9, as the C library refuses them
    return int(part, 10)


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host name denotes if it is an IP literal in any form, else None.

    Follows the WHATWG URL host parser (which matches the C library's `inet_aton`): when the
    last label is a number (`127`, `0x7f`), the whole host must be an IPv4 address of one to
    four parts, each decimal, octal (leading 0) or hexadecimal (0x), the last filling the
    remaining bytes — `2130706433`, `0177.0.0.1`, `0x7f.1` and `127.1` are all 127.0.0.1.
    Raises ValueError for a host that looks numeric but is no address (`1.2.3.4.5`, `08.1`,
    `256.1.1.1`): such a name is not a host, and a resolver might still read it as one.
    """
    text = host
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
        if ":" not in text:
            raise ValueError(f"not an IP literal: {host!r}")
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text.split("%", 1)[0])
        except ValueError as exc:
            raise ValueError(f"malformed IPv6 literal: {host!r}") from exc
    text = text.removesuffix(".")
    parts = text.split(".")
    if not parts[-1].isascii() or not _NUMBER_LABEL.match(parts[-1]):
        return None
    if len(parts) > 4 or any(not p.isascii() or not _NUMBER_LABEL.match(p) for p in parts):
        raise ValueError(f"numeric host that is no IPv4 address: {host!r}")
    try:
        numbers = [_ipv4_number(p) for p in parts]
    except ValueError as exc:
        raise ValueError(f"numeric host that is no IPv4 address: {host!r}") from exc
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise ValueError(f"numeric host out of range: {host!r}")
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def _is_loopback_host(host: str) -> bool:
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ip = parse_ip_literal(name)
    except ValueError:
        return False
    return ip is not None and _in(effective_address(ip), _LOOPBACK)


def _host_of_domain(domain: str) -> str:
    if domain.startswith("["):
        return domain[: domain.find("]") + 1]
    return domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain


# --- the policy ---------------------------------------------------------------------------

ALLOWED_SCHEMES = frozenset({"https", "http"})


@dataclass(frozen=True)
class AddressPolicy:
    """Which destinations this node may connect to.

    `allowed_networks` admits non-public ranges the configuration names (an organisation's
    nodes often sit on private networks); `allow_loopback` admits 127.0.0.0/8 and ::1;
    `allow_http` admits plain-http URLs. Unspecified, multicast and broadcast addresses are
    never admitted.
    """

    allowed_networks: Sequence[IPNetwork] = ()
    allow_loopback: bool = False
    allow_http: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_networks", tuple(self.allowed_networks))

    @classmethod
    def for_node(
        cls, allowed_private_networks: Iterable[str], *, scheme: str, domain: str
    ) -> AddressPolicy:
        """The policy of a node from its settings.

        A node served over http on a loopback domain (`atrium init --scheme http --domain
        127.0.0.1:8001`) is a development node: it may reach loopback peers, over http,
        with no further configuration, so that several nodes on one machine just work.
        Everything else speaks https and reaches non-public addresses only through
        `federation.allowed_private_networks`.
        """
        networks: list[IPNetwork] = []
        for cidr in allowed_private_networks:
            try:
                networks.append(ipaddress.ip_network(str(cidr).strip(), strict=False))
            except ValueError as exc:
                raise ValueError(
                    f"federation.allowed_private_networks: not a CIDR range: {cidr!r}"
                ) from exc
        development = scheme == "http" and _is_loopback_host(_host_of_domain(domain))
        return cls(
            allowed_networks=tuple(networks), allow_loopback=development, allow_http=development
        )

    def admits(self, address: IPAddress | str) -> bool:
        try:
            self.check(address)
        except AddressRefused:
            return False
        return True

    def check(self, address: IPAddress | str) -> None:
        """Return if the node may connect to `address`; raise `AddressRefused` (403) if not."""
        try:
            ip = _as_ip(address)
        except ValueError as exc:
            raise AddressRefused(str(address), f"{address!r} is not an IP address") from exc
        eff, never, category = _judged(ip)
        if never:
            raise AddressRefused(str(ip), f"{ip} is a {never} address, never a destination")
        if _in(ip, self.allowed_networks) or _in(eff, self.allowed_networks):
            return
        if category is None or (category == "loopback" and self.allow_loopback):
            return
        raise AddressRefused(
            str(ip), f"{ip} is a {category} address, not admitted by this node's address policy"
        )

    def check_url(self, url: str | URL) -> URL:
        """The URL, parsed, if this node may request it; raises FetchError otherwise.

        https always, http only when the policy allows it; no user-info; a host that is a
        name or a canonical IP literal the policy admits. The fragment is dropped (it is
        never sent). Names are checked later, on what they resolve to.
        """
        try:
            parsed = url if isinstance(url, URL) else URL(url)
        except (ValueError, TypeError) as exc:
            raise FetchError(f"unusable URL {str(url)!r}: {exc}", 400) from exc
        scheme = parsed.scheme.lower()
        if scheme not in ALLOWED_SCHEMES:
            raise FetchError(
                f"refusing {scheme or 'scheme-less'} URL {str(url)!r}: only https", 400
            )
        if scheme == "http" and not self.allow_http:
            raise FetchError(
                f"refusing plain-http URL {str(url)!r}: only development nodes use http", 403
            )
        if parsed.raw_user is not None or parsed.raw_password is not None:
            raise FetchError(f"refusing URL with user-info {str(url)!r}", 400)
        host = parsed.raw_host
        if not host:
            raise FetchError(f"URL without a host: {str(url)!r}", 400)
        try:
            literal = parse_ip_literal(host)
        except ValueError as exc:
            raise FetchError(f"unusable host in {str(url)!r}: {exc}", 400) from exc
        if literal is not None:
            self.check(literal)
            if ":" not in host and host != str(literal):
                raise FetchError(
                    f"refusing non-canonical IP literal {host!r} (means {literal})", 400
                )
            if literal.version == 6 and "%" in host:
                raise FetchError(f"refusing scoped IPv6 literal {host!r}", 400)
        elif not _HOSTNAME.match(host):
            raise FetchError(f"unusable host name {host!r}", 400)
        return parsed.with_fragment(None)


_HOSTNAME = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?\.?\Z")


# --- enforcement in the connection path ---------------------------------------------------


class GuardedResolver(AbstractResolver):
    """A resolver whose answers are the addresses the connector will connect to, checked.

    An answer with any address the policy refuses is refused whole: a name that points inside
    the network is suspect even if it also points outside. Because the connector connects
    to exactly what this returns, there is no window between check and use.
    """

    def __init__(self, inner: AbstractResolver, policy: AddressPolicy) -> None:
        self._inner = inner
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        if not answers:
            raise OSError(errno.EHOSTUNREACH, f"{host} resolves to no address")
        for answer in answers:
            try:
                self._policy.check(answer["host"])
            except AddressRefused as exc:
                raise AddressRefused(exc.address, f"{host} resolves to {exc.reason}") from None
        return answers

    async def close(self) -> None:
        await self._inner.close()


def guarded_socket_factory(policy: AddressPolicy) -> Callable[[AddrInfo], socket.socket]:
    """A socket factory (aiohttp's `socket_factory`) that refuses a destination before the
    socket exists. It sees every address the connector tries, IP-literal hosts included."""

    def factory(addr_info: AddrInfo) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        if family in (socket.AF_INET, socket.AF_INET6):
            policy.check(str(sockaddr[0]))
        else:
            raise AddressRefused(repr(sockaddr), f"refusing a non-IP socket family ({family})")
        return socket.socket(family=family, type=type_, proto=proto)

    return factory


_GUARDED: weakref.WeakKeyDictionary[aiohttp.BaseConnector, AddressPolicy] = (
    weakref.WeakKeyDictionary()
)


def make_session(
    policy: AddressPolicy,
    resolver: AbstractResolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> aiohttp.ClientSession:
    """An aiohttp session whose every connection goes through `policy`.

    `resolver` defaults to aiohttp's ThreadedResolver (the system's resolver, /etc/hosts
    included); `ssl_context` to the default verified context. Environment proxies are ignored
    (a proxy would make the address checks meaningless) and no cookies are kept. Call it
    inside the event loop; the caller owns the session and closes it.
    """
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(
            resolver if resolver is not None else aiohttp.ThreadedResolver(), policy
        ),
        socket_factory=guarded_socket_factory(policy),
        ssl=ssl_context if ssl_context is not None else True,
    )
    _GUARDED[connector] = policy
    return aiohttp.ClientSession(
        connector=connector,
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=60, sock_connect=10),
    )


def policy_of(session: aiohttp.ClientSession) -> AddressPolicy:
    """The policy a `make_session` session enforces; TypeError for any other session."""
    connector = session.connector
    policy = _GUARDED.get(connector) if connector is not None else None
    if policy is None:
        raise TypeError("this session was not made by federation.addresses.make_session")
    return policy
