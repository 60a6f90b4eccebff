"""Who is asking: a request's client address, which the inbox and sign-in limits count.

It is the socket's peer — unless that peer is a reverse proxy listed in
`server.trusted_proxies`: then it is read from the header the proxy writes
(`server.proxy_header`: `X-Forwarded-For`, or RFC 7239 `Forwarded`). The chain is read right
to left: each hop a trusted proxy added is skipped, and the first address that is not one of
them is the client. Whatever stands left of it the client wrote itself, so it proves nothing;
and a peer that is not a trusted proxy never has its header read at all, so no client can
choose its own address.

Hand-written (a few lines over `ipaddress` and aiohttp's own `Forwarded` parser) because the
middleware libraries either trust one hop from anyone or want a fixed number of hops.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from aiohttp import web

from web.keys import CTX

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
CLIENT = web.RequestKey("client_address", str)


@lru_cache(maxsize=10_000)  # the inbox's hot path: parse each address once
def plain(address: str) -> str:
    """An address as one spelling: brackets and a port dropped, IPv4-mapped IPv6 as IPv4,
    IPv6 compressed. What is not an address (a proxy's `unknown`) is kept as it came."""
    text = address.strip().strip('"')
    if text.startswith("["):  # [v6] or [v6]:port
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text[:64] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def pick(peer: str, chain: Sequence[str], proxies: Sequence[Network]) -> str:
    """The client, given the socket's `peer` and the addresses the proxies recorded, oldest
    first: the right-most address that is not a trusted proxy (the peer itself when it is
    not one). When every hop is a trusted proxy, the first of them."""
    hops = [plain(peer), *(plain(a) for a in reversed(chain))]
    for hop in hops:
        if not _trusted(hop, proxies):
            return hop
    return hops[-1]


def recorded_chain(request: web.BaseRequest, header: str) -> list[str]:
    """The addresses the proxies recorded, oldest first (every line of the header, in order)."""
    if header == "Forwarded":
        return [str(element.get("for", "unknown")) for element in request.forwarded]
    return [a for line in request.headers.getall("X-Forwarded-For", ()) for a in line.split(",") if a.strip()]


def client_address(request: web.Request) -> str:
    """The request's client address (see the module's doc); worked out once per request."""
    known = request.get(CLIENT)
    if isinstance(known, str):
        return known
    ctx = request.config_dict[CTX]
    peer = plain(request.remote or "unknown")
    address = peer
    if ctx.trusted_proxies and _trusted(peer, ctx.trusted_proxies):
        address = pick(peer, recorded_chain(request, ctx.proxy_header), ctx.trusted_proxies)
    request[CLIENT] = address
    return address
