"""The organisation in SQL is the organisation in Python: `OrgDomains.sql` (the timelines'
filter) agrees with `OrgDomains.contains` (the checks of one viewer or one post), which is
`Policy.trust_of(...) == "organization"`, for every domain and every policy, on both engines."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import String, literal, select

from node.audience_words import audiences
from node.context import NodeContext
from node.policy import TRUST_LEVELS, PeerRule, Policy
from storage.db import Database
from tests.factory import node_context

# Labels chosen so that suffixes nest, differ by one character, and carry LIKE's
# metacharacters (`_`, `%`: a rule "*.a_b" must not match "x.aXb").
LABELS = ("a", "b", "ab", "acme", "x", "a_b", "axb", "a%b", "ayyb")
PORTS = ("", "8000", "9000")


def _host(rng: random.Random) -> str:
    return ".".join(rng.choice(LABELS) for _ in range(rng.randint(1, 3)))


def _with_port(host: str, rng: random.Random) -> str:
    port = rng.choice(PORTS)
    return f"{host}:{port}" if port else host


def _policy(rng: random.Random) -> Policy:
    rules: list[PeerRule] = []
    for _ in range(rng.randint(0, 6)):
        host = _host(rng)
        pattern = _with_port(f"*.{host}" if rng.random() < 0.5 else host, rng)
        rules.append(PeerRule(pattern, rng.choice(TRUST_LEVELS)))
    if rules and rng.random() < 0.2:
        # A pattern twice (parse_policy refuses it; a Policy built in code may have it): the
        # first one decides, as in `peer_rule`.
        rules.append(PeerRule(rng.choice(rules).pattern, rng.choice(TRUST_LEVELS)))
    return Policy(mode=rng.choice(("allowlist", "open")), default_trust=rng.choice(TRUST_LEVELS), peers=tuple(rules))


def _domains(policy: Policy, rng: random.Random) -> list[str]:
    """Random domains, and for each rule the domains at its edges: the wildcard's own domain,
    a host under it, one deeper, on each port."""
    out = {_with_port(_host(rng), rng) for _ in range(20)} | {"[::1]", "[::1]:8000"}
    for rule in policy.peers:
        host = rule.pattern.rsplit(":", 1)[0] if ":" in rule.pattern else rule.pattern
        bare = host.removeprefix("*.")
        for name in (bare, f"x.{bare}", f"a.b.{bare}", f"{bare}.evil", f"x{bare}"):
            out |= {name, *(f"{name}:{port}" for port in PORTS if port)}
    return sorted(out)


async def test_the_sql_filter_and_the_python_check_agree_on_every_domain(db: Database) -> None:
    rng = random.Random(13)  # seeded: the same 150 policies on every run and engine
    checked = 0
    for _ in range(150):
        # Given a policy and domains around its rules
        policy = _policy(rng)
        org = policy.organization_domains()
        domains = _domains(policy, rng)
        # When the database evaluates the filter on each domain
        async with db.reader() as s:
            row = (await s.execute(select(*(org.sql(literal(d, String)) for d in domains)))).one()
        # Then it says what the Python check says, which is what the trust decision says
        in_sql = {d for d, member in zip(domains, row, strict=True) if member}
        in_python = {d for d in domains if org.contains(d)}
        assert in_sql == in_python, (policy, sorted(in_sql ^ in_python))
        assert in_python == {d for d in domains if policy.trust_of(d)[0] == "organization"}
        checked += len(domains)
    assert checked > 5000


async def test_a_wildcard_member_and_a_carved_out_host_in_sql(db: Database) -> None:
    # Given `*.acme.example` trusted as organization and `x.acme.example` as partner
    policy = Policy(peers=(PeerRule("*.acme.example", "organization"), PeerRule("x.acme.example", "partner")))
    org = policy.organization_domains()
    domains = ["sales.acme.example", "sales.acme.example:8443", "x.acme.example", "x.acme.example:8443",
               "acme.example", "acme_example", "xacme.example"]
    async with db.reader() as s:
        row = (await s.execute(select(*(org.members(literal(d, String)) for d in domains)))).one()
    assert dict(zip(domains, row, strict=True)) == {
        "sales.acme.example": True, "sales.acme.example:8443": True, "x.acme.example": False,
        "x.acme.example:8443": False, "acme.example": False, "acme_example": False, "xacme.example": False,
    }


def test_the_audience_words_name_wildcard_nodes(ctx_with_wildcard: NodeContext) -> None:
    # Given an organisation of one named sibling and every node under acme.example
    words = {a.visibility: a.description for a in audiences(ctx_with_wildcard)}
    # Then the composer says so rather than counting only the named one
    assert "1 sibling node and every node under acme.example" in words["organization"]


@pytest.fixture
def ctx_with_wildcard(db: Database) -> NodeContext:
    policy = Policy(peers=(PeerRule("sales.example", "organization"), PeerRule("*.acme.example", "organization")))
    return node_context(db, "eng.acme.example", policy=policy)
