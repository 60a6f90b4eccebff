"""One canonical host name (node/domains.py), and policy rules read through it. Pure: no
database, no network. The spellings are written out by hand; tests/fuzz/test_host_spellings.py
generates them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from node.domains import canonical_domain, is_address, served_domain
from node.policy import parse_policy
from storage.errors import Invalid


@pytest.fixture(autouse=True)
def _uncached() -> None:
    """Each test computes its names afresh: the cache of `canonical_domain` outlives a test (and
    a mutation test forks from a process that filled it)."""
    canonical_domain.cache_clear()

# spelling -> canonical name, by hand
CANONICAL = {
    "example.com": "example.com",
    "  Example.COM  ": "example.com",
    "example.com.": "example.com",
    "EXAMPLE.com.:443": "example.com",
    "example.com:80": "example.com",
    "example.com:0443": "example.com",
    "example.com:00080": "example.com",
    "example.com:8443": "example.com:8443",
    "example.com:08443": "example.com:8443",
    "example.com:0000008443": "example.com:8443",
    "example.com:1": "example.com:1",
    "example.com:65535": "example.com:65535",
    "Bücher.example": "xn--bcher-kva.example",
    "BÜCHER.example.:443": "xn--bcher-kva.example",
    "xn--bcher-kva.example": "xn--bcher-kva.example",
    "XN--BCHER-KVA.EXAMPLE": "xn--bcher-kva.example",
    "ｅｘａｍｐｌｅ。com": "example.com",  # full-width letters and an ideographic full stop
    "example.com。": "example.com",
    "localhost:8001": "localhost:8001",
    "127.0.0.1": "127.0.0.1",
    "127.0.0.1.": "127.0.0.1",
    "127.0.0.1:9301": "127.0.0.1:9301",
    "127.0.0.1:443": "127.0.0.1",
    "１２７.０.０.１:9301": "127.0.0.1:9301",  # full-width digits are the ASCII ones under UTS #46
    "[::1]": "[::1]",
    "[::1]:80": "[::1]",
    "[0:0:0:0:0:0:0:1]:9301": "[::1]:9301",
    "[2001:DB8:0:0::1]:8080": "[2001:db8::1]:8080",
    "[::ffff:7f00:1]": "127.0.0.1",
    "[::ffff:7f00:1]:9301": "127.0.0.1:9301",
    "[::FFFF:127.0.0.1]:9301": "127.0.0.1:9301",
    "[0:0:0:0:0:ffff:7f00:0001]:443": "127.0.0.1",
    "[64:ff9b::7f00:1]:9301": "127.0.0.1:9301",  # NAT64 well-known prefix (RFC 6052)
    "[64:ff9b::203.0.113.5]": "203.0.113.5",
    "[::7f00:1]": "[::7f00:1]",  # IPv4-compatible: deprecated, no IPv4 host; an IPv6 address
    "[2002:7f00:1::1]": "[2002:7f00:1::1]",  # 6to4: a network, not one IPv4 host
}


@pytest.mark.parametrize("spelling", sorted(CANONICAL))
def test_every_spelling_has_its_canonical_name(spelling: str) -> None:
    assert canonical_domain(spelling) == CANONICAL[spelling]
    # the scheme changes nothing: both default ports are dropped whatever it is
    assert canonical_domain(spelling, "http") == canonical_domain(spelling, "https") == CANONICAL[spelling]


@pytest.mark.parametrize("canonical", sorted(set(CANONICAL.values())))
def test_a_canonical_name_is_its_own_canonical_name(canonical: str) -> None:
    assert canonical_domain(canonical) == canonical


# spelling -> words the refusal must carry, by hand
REFUSED = {
    "2130706433": "legacy spelling of the IPv4 address 127.0.0.1; write 127.0.0.1",
    "0177.0.0.1": "legacy spelling of the IPv4 address 127.0.0.1",
    "0x7f.0.0.1": "legacy spelling of the IPv4 address 127.0.0.1",
    "0X7F.0.0.1:9301": "legacy spelling of the IPv4 address 127.0.0.1",
    "127.1": "legacy spelling of the IPv4 address 127.0.0.1",
    "127.0.1": "legacy spelling of the IPv4 address 127.0.0.1",
    "0x7f000001:443": "legacy spelling of the IPv4 address 127.0.0.1",
    "127.000.000.001": "legacy spelling of the IPv4 address 127.0.0.1",
    "０ｘ７ｆ.0.0.1": "legacy spelling of the IPv4 address 127.0.0.1",  # full width, after UTS #46
    "1.2.3.4.5": "a number that is no IPv4 address",
    "256.0.0.1": "a number that is no IPv4 address",
    "08.0.0.1": "a number that is no IPv4 address",
    "example.123": "a number that is no IPv4 address",
    "a..": "Empty Label",
    ".": "Empty Label",
    "。": "Empty Label",
    ":443": "Empty",
    "a..example": "Empty Label",
    "-a.example": "hyphen",
    "under_score.example": "not allowed",
    "example.com:": "bad port",
    "example.com:0": "bad port",
    "example.com:65536": "bad port",
    "example.com:123456": "bad port",
    "example.com:00000": "bad port",
    "example.com:" + "9" * 5000: "bad port",  # never handed to int(): it refuses over 4300 digits
    "example.com:８０": "bad port",
    "example.com:+80": "bad port",
    "example.com:8x": "bad port",
    "[::1]:": "bad port",
    "[::1]:x": "bad port",
    "[::1]:80]": "bad port",
    "::1": "written in brackets",
    "a:b:c": "written in brackets",
    "[::1": "not a domain",
    "[::1]x": "not a domain",
    "[127.0.0.1]": "not an IPv6 address in brackets",
    "[example.com]": "not an IPv6 address in brackets",
    "[fe80::1%eth0]": "not a domain",
    "": "not a domain",
    "   ": "not a domain",
    "user@example.com": "not a domain",
    "example.com/path": "not a domain",
    "example.com?q": "not a domain",
    "example.com#f": "not a domain",
    "exa mple.com": "not a domain",
    "exa\tmple.com": "not a domain",
    "example\\com": "not a domain",
    "b%C3%BCcher.example": "not a domain",
    "ｅｘａｍｐｌｅ：443": "not allowed",  # a full-width colon is no port separator
}


@pytest.mark.parametrize("spelling", sorted(REFUSED))
def test_what_is_no_canonical_host_is_refused_with_its_reason(spelling: str) -> None:
    with pytest.raises(Invalid) as refused:
        canonical_domain(spelling)
    assert REFUSED[spelling] in refused.value.reason
    assert repr(spelling) in refused.value.reason  # the operator sees what they wrote
    assert refused.value.status == 422


@pytest.mark.parametrize(
    "domain, address",
    [("127.0.0.1", True), ("127.0.0.1:9301", True), ("[::1]", True), ("[::1]:9301", True),
     ("example.com", False), ("example.com:8443", False), ("localhost", False), ("xn--bcher-kva.example", False),
     ("a1.example", False)],
)
def test_is_address_tells_addresses_from_names(domain: str, address: bool) -> None:
    assert is_address(domain) is address


@pytest.mark.parametrize(
    "value, scheme, domain",
    [("eng.acme.example", "https", "eng.acme.example"), ("Eng.Acme.Example:443", "https", "eng.acme.example"),
     ("127.0.0.1:8001", "http", "127.0.0.1:8001"), ("127.0.0.1:80", "http", "127.0.0.1"),
     ("[::1]:8001", "http", "[::1]:8001"), ("eng.acme.example:8443", "https", "eng.acme.example:8443")],
)
def test_the_nodes_own_domain_is_canonical(value: str, scheme: str, domain: str) -> None:
    assert served_domain(value, scheme) == domain


@pytest.mark.parametrize("value, scheme", [("eng.acme.example:443", "http"), ("eng.acme.example:80", "https"),
                                           ("[::1]:443", "http"), ("127.0.0.1:0080", "https")])
def test_a_node_cannot_be_served_on_the_other_schemes_default_port(value: str, scheme: str) -> None:
    # URLs are built from the node's domain: dropping the port would send peers elsewhere
    with pytest.raises(Invalid) as refused:
        served_domain(value, scheme)
    assert f"a node served over {scheme} cannot use port" in refused.value.reason


def test_the_nodes_own_domain_is_refused_like_any_other_spelling() -> None:
    with pytest.raises(Invalid, match="'127.1:8001' is a legacy spelling"):
        served_domain("127.1:8001", "http")
    with pytest.raises(Invalid, match="bad port in 'example.com:x'"):
        served_domain("example.com:x", "https")


# --- policy rules: read through the same function -------------------------------------------


def _patterns(text: str) -> dict[str, str]:
    policy, problems = parse_policy(text)
    assert problems == [] and policy is not None, problems
    return {rule.pattern: rule.trust for rule in policy.peers}


def test_rules_are_kept_in_canonical_form() -> None:
    # Given rules spelled with default ports, case, trailing dots, Unicode and mapped IPv6
    text = "\n".join(
        f'[peers."{name}"]\ntrust = "{trust}"'
        for name, trust in [
            ("partner.example:443", "partner"), ("Web.Example.:80", "public"), ("*.Eng.Acme.Example:443", "organization"),
            ("Bücher.example", "limited"), ("[::ffff:127.0.0.1]:9301", "blocked"), ("[::1]:443", "public"),
            ("*.sub.example:8443", "partner"),
        ]
    )
    # Then each is one canonical domain, as incoming domains are
    assert _patterns(text) == {
        "partner.example": "partner", "web.example": "public", "*.eng.acme.example": "organization",
        "xn--bcher-kva.example": "limited", "127.0.0.1:9301": "blocked", "[::1]": "public",
        "*.sub.example:8443": "partner",
    }


@pytest.mark.parametrize("rule", ["partner.example:443", "partner.example:80", "PARTNER.example.:0443"])
@pytest.mark.parametrize("incoming", ["partner.example", "partner.example:443", "partner.example:80"])
def test_a_rule_with_a_default_port_decides_for_the_host(rule: str, incoming: str) -> None:
    # Given a rule written with a default port (finding 3)
    policy, _ = parse_policy(f'mode = "open"\n[peers."{rule}"]\ntrust = "blocked"\n')
    assert policy is not None
    # When the peer comes in, on either scheme
    for scheme in ("https", "http"):
        decision = policy.inbound(canonical_domain(incoming, scheme))
        # Then the rule decides
        assert not decision.allowed and decision.rule == 'peers."partner.example"'


@pytest.mark.parametrize(
    "first, second",
    [("partner.example", "partner.example:443"), ("partner.example:80", "partner.example:443"),
     ("127.0.0.1:9301", "[::ffff:127.0.0.1]:9301"), ("127.0.0.1:9301", "[::ffff:7f00:1]:9301"),
     ("*.acme.example", "*.ACME.example.:443"), ("xn--bcher-kva.example", "bücher.example")],
)
def test_two_spellings_of_one_domain_are_reported_as_duplicates(first: str, second: str) -> None:
    text = f'[peers."{first}"]\ntrust = "partner"\n[peers."{second}"]\ntrust = "blocked"\n'
    policy, problems = parse_policy(text)
    assert policy is None
    assert [(p.line, p.message) for p in problems] == [(3, f"peers.{second} is the same domain as peers.{first}")]


@pytest.mark.parametrize(
    "name, words",
    [("2130706433", "legacy spelling of the IPv4 address 127.0.0.1"),
     ("0177.0.0.1:9301", "legacy spelling of the IPv4 address 127.0.0.1"),
     ("0x7f.0.0.1", "legacy spelling of the IPv4 address 127.0.0.1"),
     ("127.1", "legacy spelling of the IPv4 address 127.0.0.1"),
     ("*.0x7f.1", "legacy spelling of the IPv4 address 127.0.0.1"),
     ("*.127.0.0.1", "a wildcard covers the subdomains of a name, not an IP address"),
     ("*.[::1]", "a wildcard covers the subdomains of a name, not an IP address"),
     ("*.[::ffff:7f00:1]:9301", "a wildcard covers the subdomains of a name, not an IP address")],
)
def test_a_rule_that_is_no_canonical_host_is_an_error_with_its_line(name: str, words: str) -> None:
    text = f'mode = "open"\n\n[peers."partner.example"]\ntrust = "partner"\n\n[peers."{name}"]\ntrust = "blocked"\n'
    policy, problems = parse_policy(text)
    assert policy is None
    assert len(problems) == 1 and problems[0].line == 6
    assert problems[0].message.startswith(f"peers.{name}: ") and words in problems[0].message


def test_the_table_in_the_policy_documentation_is_what_the_code_does() -> None:
    """docs/policy.md "One name per host": every spelling in its table has the canonical name
    the table gives."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "policy.md").read_text(encoding="utf-8")
    section = doc.split("## One name per host", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| `")]
    assert len(rows) >= 5
    for written, canonical in rows:
        expected = re.findall(r"`([^`]+)`", canonical)[0]
        for spelling in re.findall(r"`([^`]+)`", written):
            assert canonical_domain(spelling) == expected, spelling


def test_every_rule_that_is_no_canonical_host_is_reported_not_only_the_first() -> None:
    text = ('[peers."*.127.0.0.1"]\ntrust = "blocked"\n[peers."127.1"]\ntrust = "blocked"\n'
            '[peers."*.[::1]"]\ntrust = "blocked"\n[peers."ok.example"]\ntrust = "partner"\n')
    policy, problems = parse_policy(text)
    assert policy is None
    assert [(p.line, p.message.partition(": ")[0]) for p in problems] == [
        (1, "peers.*.127.0.0.1"), (3, "peers.127.1"), (5, "peers.*.[::1]")]
