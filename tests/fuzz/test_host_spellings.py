"""Property tests of the canonical host name (node/domains.py): every spelling of one host is
one name and gets one policy decision, and legacy IPv4 spellings are always refused.

Seeded (derandomize=True) and bounded like tests/fuzz/test_properties.py, so CI is repeatable.
Each test draws one host (a name, an IPv4 or an IPv6 address, a port or none), then several
spellings of it: case, full-width characters, ideographic dots, a trailing dot, Unicode or
punycode labels, default ports with or without leading zeros, IPv6 written compressed or in
full, IPv4-mapped or NAT64 forms of an IPv4 address.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import idna
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from node.domains import canonical_domain
from node.policy import TRUST_LEVELS, parse_policy
from storage.errors import Invalid

SEEDED = settings(derandomize=True, max_examples=200, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def _uncached() -> None:
    """Each test computes its names afresh: the cache of `canonical_domain` outlives a test (and
    a mutation test forks from a process that filled it)."""
    canonical_domain.cache_clear()

VISIBILITIES = ("public", "unlisted", "followers", "direct", "organization", "local")

# Unicode labels whose every letter has one upper-case letter that UTS #46 maps back to it
# (not `ß` or a final `ς`, whose upper case is another word).
UNICODE_LABELS = ("bücher", "münchen", "café", "пример", "例え", "δοκιμή", "ñandú", "straße-ok")
_DOTS = (".", "。", "．", "｡")  # UTS #46 maps the three ideographic full stops to "."


@dataclass(frozen=True)
class Host:
    kind: str  # "name", "ipv4", "ipv6"
    labels: tuple[str, ...] = ()  # names: lower-case labels, Unicode or ASCII
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    port: int | None = None  # None: a default port (80, 443) or none

    @property
    def canonical(self) -> str:
        """What the canonical name must be, computed here independently of node/domains.py."""
        if self.kind == "name":
            host = ".".join(idna.encode(label, uts46=True).decode("ascii") for label in self.labels)
        elif self.kind == "ipv4":
            host = str(self.address)
        else:
            assert isinstance(self.address, ipaddress.IPv6Address)
            host = f"[{self.address.compressed}]"
        return f"{host}:{self.port}" if self.port else host


_ASCII_LABEL = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?\Z").filter(lambda s: "--" not in s[2:4])
_LABEL = _ASCII_LABEL | st.sampled_from(UNICODE_LABELS)
_PORT = st.none() | st.integers(min_value=1, max_value=65535).filter(lambda p: p not in (80, 443))


@st.composite
def _names(draw: st.DrawFn) -> Host:
    labels = draw(st.lists(_LABEL, min_size=1, max_size=3))
    tld = draw(st.sampled_from(["example", "test", "acme.example", "co.example"]))
    return Host("name", (*labels, *tld.split(".")), port=draw(_PORT))


_IPV4 = st.integers(min_value=0, max_value=2**32 - 1).map(ipaddress.IPv4Address)
# IPv6 addresses that stand for no IPv4 address (those are drawn as IPv4 hosts)
_IPV6 = st.integers(min_value=0, max_value=2**128 - 1).map(ipaddress.IPv6Address).filter(
    lambda a: a.ipv4_mapped is None and a not in ipaddress.IPv6Network("64:ff9b::/96")
)
HOSTS = (
    _names()
    | st.builds(lambda a, p: Host("ipv4", address=a, port=p), _IPV4, _PORT)
    | st.builds(lambda a, p: Host("ipv6", address=a, port=p), _IPV6, _PORT)
)


def _case(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip and len(c.upper()) == 1 else c for c, flip in zip(text, flips, strict=True))


def _full_width(draw: st.DrawFn, text: str) -> str:
    """Some ASCII letters and digits as their full-width forms (U+FF01..), which UTS #46 maps back."""
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(chr(ord(c) + 0xFEE0) if flip and c.isascii() and c.isalnum() else c
                   for c, flip in zip(text, flips, strict=True))


def _port(draw: st.DrawFn, port: int | None) -> str:
    zeros = "0" * draw(st.integers(min_value=0, max_value=2))
    if port is None:
        default = draw(st.sampled_from([None, "80", "443"]))
        return "" if default is None else f":{zeros}{default}"
    return f":{zeros}{port}"


def _hextets(draw: st.DrawFn, address: ipaddress.IPv6Address) -> str:
    """An IPv6 address in full, compressed, or with its last 32 bits dotted; hex in any case,
    leading zeros kept or not."""
    form = draw(st.sampled_from(["compressed", "exploded", "stripped", "dotted"]))
    if form == "compressed":
        text = address.compressed
    elif form == "exploded":
        text = address.exploded
    else:
        groups = [f"{int(g, 16):x}" for g in address.exploded.split(":")]
        text = ":".join(groups)
        if form == "dotted":
            text = ":".join(groups[:6]) + ":" + str(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return _case(draw, text)


def _spell_host(draw: st.DrawFn, host: Host) -> str:
    if host.kind == "name":
        labels = []
        for label in host.labels:
            if not label.isascii() and draw(st.booleans()):
                label = idna.encode(label, uts46=True).decode("ascii")  # the punycode form
            labels.append(_full_width(draw, _case(draw, label)))
        text = "".join(label + draw(st.sampled_from(_DOTS)) for label in labels[:-1]) + labels[-1]
        return text + draw(st.sampled_from(["", ".", "。"]))
    if host.kind == "ipv4":
        assert isinstance(host.address, ipaddress.IPv4Address)
        form = draw(st.sampled_from(["dotted", "mapped", "mapped-dotted", "nat64", "full-width"]))
        if form == "dotted":
            return str(host.address) + draw(st.sampled_from(["", "."]))
        if form == "full-width":
            return _full_width(draw, str(host.address))
        prefix = "64:ff9b::" if form == "nat64" else "::ffff:"
        value = int(ipaddress.IPv6Address(prefix + "0.0.0.0")) | int(host.address)
        mapped = ipaddress.IPv6Address(value)
        return f"[{_hextets(draw, mapped) if form != 'mapped-dotted' else _case(draw, prefix) + str(host.address)}]"
    assert isinstance(host.address, ipaddress.IPv6Address)
    return f"[{_hextets(draw, host.address)}]"


@st.composite
def spelled(draw: st.DrawFn) -> tuple[Host, list[str]]:
    """A host and 2-6 spellings of it, each with surrounding blanks or none."""
    host = draw(HOSTS)
    spellings = []
    for _ in range(draw(st.integers(min_value=2, max_value=6))):
        text = _spell_host(draw, host) + _port(draw, host.port)
        spellings.append(draw(st.sampled_from(["", " "])) + text + draw(st.sampled_from(["", " "])))
    return host, spellings


@SEEDED
@given(spelled())
def test_every_spelling_of_one_host_is_one_name(case: tuple[Host, list[str]]) -> None:
    host, spellings = case
    for spelling in spellings:
        assert canonical_domain(spelling) == host.canonical, spelling
        assert canonical_domain(spelling, "http") == canonical_domain(spelling, "https") == host.canonical
    assert canonical_domain(host.canonical) == host.canonical


@SEEDED
@given(spelled(), st.sampled_from(TRUST_LEVELS), st.sampled_from(["open", "allowlist"]), st.booleans())
def test_every_spelling_of_one_host_gets_one_decision(
    case: tuple[Host, list[str]], trust: str, mode: str, wildcard: bool
) -> None:
    # Given a policy whose rule names the host in one spelling (or its subdomains, for a name)
    host, spellings = case
    rule_spelling, *incoming = spellings
    wildcard = wildcard and host.kind == "name"
    name = f"*.{rule_spelling.strip()}" if wildcard else rule_spelling.strip()
    policy, problems = parse_policy(f'mode = "{mode}"\n[peers."{name}"]\ntrust = "{trust}"\n')
    assert problems == [] and policy is not None, problems
    # When the host comes in, or a post goes out to it, under any other spelling
    domains = [("www." if wildcard else "") + canonical_domain(s) for s in incoming]
    # Then the rule decides, the same way for every spelling
    rule = f'peers."{"*." if wildcard else ""}{host.canonical}"'
    for domain in domains:
        inbound = policy.inbound(domain)
        assert (inbound.allowed, inbound.trust, inbound.rule) == (trust != "blocked", trust, rule)
        for visibility in VISIBILITIES:
            assert policy.outbound(visibility, domain) == policy.outbound(visibility, domains[0])


@st.composite
def legacy_ipv4(draw: st.DrawFn) -> tuple[ipaddress.IPv4Address, str]:
    """An IPv4 address written in a form the C library also reads (inet_aton): one to four
    parts, each decimal, octal (a leading 0) or hexadecimal (0x), the last filling the rest;
    never the dotted-decimal form itself."""
    address = draw(_IPV4)
    value = int(address)
    parts = draw(st.integers(min_value=1, max_value=4))
    head = [(value >> (8 * (3 - i))) & 0xFF for i in range(parts - 1)]
    last = value & ((1 << (8 * (5 - parts))) - 1)
    numbers = [*head, last]
    written = []
    for number in numbers:
        base = draw(st.sampled_from(["dec", "oct", "hex"]))
        if base == "oct":
            written.append("0" + format(number, "o"))
        elif base == "hex":
            written.append(draw(st.sampled_from(["0x", "0X"])) + _case(draw, format(number, "x")))
        else:
            written.append(str(number))
    text = ".".join(written) + draw(st.sampled_from(["", "."]))
    assume(text.removesuffix(".") != str(address))
    return address, text


@SEEDED
@given(legacy_ipv4(), st.sampled_from(["", ":80", ":443", ":9301"]))
def test_legacy_ipv4_spellings_are_always_refused(case: tuple[ipaddress.IPv4Address, str], port: str) -> None:
    address, text = case
    with pytest.raises(Invalid) as refused:
        canonical_domain(text + port)
    assert f"legacy spelling of the IPv4 address {address}; write {address}" in refused.value.reason
    # and in a policy rule: an error with its line, never a rule
    policy, problems = parse_policy(f'mode = "open"\n[peers."{text}{port}"]\ntrust = "blocked"\n')
    assert policy is None and [p.line for p in problems] == [2]


@SEEDED
@given(st.text(alphabet="0123456789abcdefxX.:[]-%@/ ", max_size=24)
       | st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=24))
def test_any_text_is_a_canonical_name_or_refused(text: str) -> None:
    """Whatever is written, the answer is a name that is its own canonical form, or `Invalid`;
    and a name whose last label is a number is a dotted-decimal IPv4 address."""
    try:
        name = canonical_domain(text)
    except Invalid:
        return
    assert canonical_domain(name) == name
    host = name.rsplit(":", 1)[0] if not name.startswith("[") or "]:" in name else name
    if not host.startswith("[") and host.rsplit(".", 1)[-1].isdigit():
        assert str(ipaddress.IPv4Address(host)) == host
