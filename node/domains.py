"""One canonical name for a host, used by every comparison of peers: policy rules, key ids,
actors, stored accounts, deliveries and `atrium policy explain`.

Every spelling of one host gives one name, or the spelling is refused (`Invalid`):

* names: lower case, IDNA (UTS #46 mapping, so `Bücher.example` is `xn--bcher-kva.example`
  and full-width letters or dots are their ASCII selves), no trailing dot;
* ports: 80 and 443 dropped whatever the scheme (a policy rule has no scheme, and a rule
  for a host must hold for it on its default ports; a node is never served over http on 443
  or https on 80, see `served_domain`), other ports kept as a decimal number;
* IPv6 literals: bracketed and compressed (`[2001:db8::1]`); IPv4-mapped (`::ffff:a.b.c.d`)
  and NAT64 well-known-prefix (`64:ff9b::a.b.c.d`, RFC 6052) addresses are the IPv4 address
  they stand for, as the address policy (`federation/addresses.py`) judges them; a zone
  (`%eth0`) is refused: it names an interface of this machine, not a peer;
* IPv4 literals: dotted-decimal only. The legacy forms a resolver also reads as addresses
  (`2130706433`, `0177.0.0.1`, `0x7f.0.0.1`, `127.1`) are refused, not converted: read the
  way the C library reads them (`parse_ip_literal`), they would be a second spelling.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import idna

from federation.addresses import parse_ip_literal
from storage.errors import Invalid

DEFAULT_PORTS = ("80", "443")
# The rule the audit trail names when a host has no canonical form (a key id, a contact, a
# delivery): no rule of the policy can name such a host, so none may admit it.
NO_CANONICAL_RULE = "canonical host name"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@lru_cache(maxsize=4096)  # pure; every inbound request asks it for the signer's and the actor's host
def canonical_domain(value: str, scheme: str | None = None) -> str:
    """`Eng.Example.:443` → `eng.example`; `Bücher.example` → `xn--bcher-kva.example`;
    `[::ffff:7f00:1]:9301` → `127.0.0.1:9301`; `0x7f.0.0.1` → `Invalid`.

    `scheme` is accepted from callers that read the host from a URL; it changes nothing,
    since ports 80 and 443 are dropped whatever the scheme.
    """
    return _canonical(value)


def _canonical(value: str) -> str:
    raw = value.strip()
    if not raw or any(c in raw for c in "/@?#% \t\\"):
        raise Invalid(f"not a domain: {value!r}")
    host, port = _split_port(raw, value)
    name = _bracketed(host, value) if host.startswith("[") else _name(host, value)
    return name if port in ("", *DEFAULT_PORTS) else f"{name}:{port}"


def is_address(domain: str) -> bool:
    """Whether a canonical domain is an IP address (with or without a port), not a name."""
    return domain.startswith("[") or domain.partition(":")[0].rpartition(".")[2].isdigit()


def served_domain(value: str, scheme: str) -> str:
    """This node's own domain: canonical, and refused where dropping the port would change
    where the node is reached (http on 443, https on 80), since URLs are built from it."""
    _, port = _split_port(value.strip(), value)
    if port in DEFAULT_PORTS and port != {"http": "80", "https": "443"}.get(scheme):
        raise Invalid(f"a node served over {scheme} cannot use port {port}: {value!r}")
    return canonical_domain(value)


def _split_port(raw: str, value: str) -> tuple[str, str]:
    """(host, port as a decimal number or "") of `host[:port]` or `[v6][:port]`."""
    if raw.startswith("["):
        inside, closed, rest = raw.partition("]")
        if not closed:
            raise Invalid(f"not a domain: {value!r}")
        host = inside + closed
        if not rest:
            return host, ""
        if not rest.startswith(":"):
            raise Invalid(f"not a domain: {value!r}")
        port = rest[1:]
    elif raw.count(":") == 1:
        host, port = raw.split(":")
    elif ":" in raw:
        raise Invalid(f"not a domain: {value!r} (an IPv6 address is written in brackets)")
    else:
        return raw, ""
    digits = port.lstrip("0")  # leading zeros are another spelling of the same port
    if not (port.isascii() and port.isdigit()) or len(digits) > 5 or not 0 < int(digits or "0") < 65536:
        raise Invalid(f"bad port in {value!r}")
    return host, digits


def _bracketed(host: str, value: str) -> str:
    try:
        address = ipaddress.IPv6Address(host[1:-1])  # no zone: "%" is refused above
    except ValueError as exc:
        raise Invalid(f"not a domain: {value!r} (not an IPv6 address in brackets)") from exc
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    if address in _NAT64:
        return str(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return f"[{address.compressed}]"


def _name(host: str, value: str) -> str:
    try:
        # UTS #46 maps case, full-width letters, digits and dots: the literal check below must
        # see what the name means, not how it was typed.
        name = idna.encode(host, uts46=True).decode().removesuffix(".")
    except idna.IDNAError as exc:
        raise Invalid(f"not a domain: {value!r} ({exc})") from exc
    try:
        address = parse_ip_literal(name)
    except ValueError as exc:
        raise Invalid(f"not a domain: {value!r} (a number that is no IPv4 address)") from exc
    if address is not None and str(address) != name:
        raise Invalid(
            f"not a domain: {value!r} is a legacy spelling of the IPv4 address {address}; write {address}"
        )
    return name
