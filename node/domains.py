"""One canonical form for domains, used by every comparison: lowercase, IDNA, no trailing
dot, default port dropped."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import idna

from storage.errors import Invalid


@lru_cache(maxsize=4096)  # pure; every inbound request asks it for the signer's and the actor's host
def canonical_domain(value: str, scheme: str | None = None) -> str:
    """`Eng.Example.:443` with https → `eng.example`; `Bücher.example` → `xn--bcher-kva.example`."""
    raw = value.strip()
    if not raw or any(c in raw for c in "/@?# \t\\"):
        raise Invalid(f"not a domain: {value!r}")
    host, port = raw, ""
    if raw.startswith("["):
        end = raw.find("]")
        if end < 0:
            raise Invalid(f"not a domain: {value!r}")
        host, rest = raw[: end + 1], raw[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise Invalid(f"not a domain: {value!r}")
            port = rest[1:]
    elif raw.count(":") == 1:
        host, port = raw.split(":")
    elif ":" in raw:
        raise Invalid(f"not a domain: {value!r}")
    if port:
        if not (port.isascii() and port.isdigit()) or len(port) > 5 or not 0 < int(port) < 65536:
            raise Invalid(f"bad port in {value!r}")
        port = str(int(port))
        if (scheme == "https" and port == "443") or (scheme == "http" and port == "80"):
            port = ""
    host = host.rstrip(".").lower()
    if host.startswith("["):
        try:
            host = f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError as exc:
            raise Invalid(f"not a domain: {value!r}") from exc
    else:
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            try:
                host = idna.encode(host, uts46=True).decode("ascii")
            except idna.IDNAError as exc:
                raise Invalid(f"not a domain: {value!r} ({exc})") from exc
    return f"{host}:{port}" if port else host


def is_loopback(domain: str) -> bool:
    host = domain.rsplit(":", 1)[0] if not domain.startswith("[") else domain[1 : domain.find("]")]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
