"""The trust policy file: parsing, domain matching, decisions, hot reload. Pure: no database."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from node.policy import PolicyStore, parse_policy

COMPANY = """
mode = "allowlist"
default_trust = "public"

[peers."sales.acme.example"]
trust = "organization"

[peers."*.partner.example"]
trust = "partner"
reject_media = true

[peers."127.0.0.1:8002"]
trust = "limited"

[peers."spam.example"]
trust = "blocked"

[[rules]]
name = "confidential"
pattern = "(?i)confidential"
below = "organization"
"""


def policy():  # type: ignore[no-untyped-def]
    p, problems = parse_policy(COMPANY)
    assert problems == [] and p is not None
    return p


# domain -> (trust, rule) written out by hand
TRUST = {
    "sales.acme.example": ("organization", 'peers."sales.acme.example"'),
    "SALES.ACME.EXAMPLE.": ("organization", 'peers."sales.acme.example"'),
    "sales.acme.example:443": ("organization", 'peers."sales.acme.example"'),
    "eu.partner.example": ("partner", 'peers."*.partner.example"'),
    "a.b.partner.example": ("partner", 'peers."*.partner.example"'),
    "partner.example": ("blocked", "mode = allowlist (unknown domain)"),
    "127.0.0.1:8002": ("limited", 'peers."127.0.0.1:8002"'),
    "127.0.0.1:8003": ("blocked", "mode = allowlist (unknown domain)"),
    "spam.example": ("blocked", 'peers."spam.example"'),
    "unknown.example": ("blocked", "mode = allowlist (unknown domain)"),
}


@pytest.mark.parametrize("domain", sorted(TRUST))
def test_trust_of_each_domain(domain: str) -> None:
    from node.domains import canonical_domain

    assert policy().trust_of(canonical_domain(domain, "https")) == TRUST[domain]


def test_open_mode_gives_unknown_domains_the_default_trust() -> None:
    p, _ = parse_policy('mode = "open"\ndefault_trust = "limited"\n')
    assert p is not None and p.trust_of("anyone.example") == ("limited", "default_trust (open mode)")


# (visibility, domain) -> allowed, by hand
OUTBOUND = {
    ("public", "sales.acme.example"): True,
    ("organization", "sales.acme.example"): True,
    ("organization", "eu.partner.example"): False,
    ("followers", "eu.partner.example"): True,
    ("direct", "127.0.0.1:8002"): True,
    ("organization", "127.0.0.1:8002"): False,
    ("public", "spam.example"): False,
    ("public", "unknown.example"): False,
    ("local", "sales.acme.example"): False,
}


@pytest.mark.parametrize("visibility, domain", sorted(OUTBOUND))
def test_outbound_decisions(visibility: str, domain: str) -> None:
    assert policy().outbound(visibility, domain).allowed is OUTBOUND[(visibility, domain)]


def test_content_rules_keep_matching_text_from_peers_below_the_level() -> None:
    p = policy()
    held = p.outbound("public", "eu.partner.example", "Attached: the CONFIDENTIAL roadmap")
    assert not held.allowed and held.rule == 'rules."confidential"'
    assert p.outbound("public", "sales.acme.example", "Attached: the CONFIDENTIAL roadmap").allowed
    assert p.outbound("public", "eu.partner.example", "a harmless note").allowed


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ('mode = "closed"\n', 1, "mode must be one of"),
        ('mode = "allowlist"\n\n[peers."x.example"]\ntrust = "friend"\n', 4, "trust must be one of"),
        ('[peers."x.example"]\ntrust = "partner"\nreject_mdia = true\n', 3, "unknown key 'reject_mdia'"),
        ('[peers."bad domain"]\ntrust = "partner"\n', 1, "not a domain"),
        ('[[rules]]\nname = "r"\npattern = "(unclosed"\n', 3, "not a valid regular expression"),
        ('[[rules]]\nname = "r"\npattern = "x"\nbelow = "boss"\n', 4, "below must be one of"),
        ("mode = \n", 1, "not valid TOML"),
        ('[peers."A.example"]\ntrust = "partner"\n[peers."a.example."]\ntrust = "public"\n', 3, "same domain"),
    ],
)
def test_mistakes_are_reported_with_their_line(text: str, line: int, fragment: str) -> None:
    p, problems = parse_policy(text)
    assert p is None
    assert any(pr.line == line and fragment in pr.message for pr in problems), problems


def test_a_changed_file_takes_effect_and_an_invalid_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('mode = "allowlist"\n')
    store = PolicyStore(path)
    assert store.policy.trust_of("sales.acme.example")[0] == "blocked"
    # When the operator admits a peer, it takes effect without a restart
    path.write_text('[peers."sales.acme.example"]\ntrust = "organization"\n')
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    assert store.policy.trust_of("sales.acme.example")[0] == "organization"
    # When a broken file is saved, the previous policy stays in force and the problem is kept
    path.write_text('[peers."sales.acme.example"]\ntrust = "everyone"\n')
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 2_000_000))
    assert store.policy.trust_of("sales.acme.example")[0] == "organization"
    assert store.problems and "trust must be one of" in store.problems[0].message
