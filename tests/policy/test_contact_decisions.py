"""`Policy.contact`: may the node contact this host at all? The question the outbound gate
(node/contact.py) asks before every request the node makes. Expected decisions written out by
hand; in tests/policy/, so mutation testing of node/policy.py runs it."""

from __future__ import annotations

import pytest

from node.policy import Decision, PeerRule, Policy
from tests.policy.test_policy_decisions import POLICY

CONTACT = {
    "sales.acme.example": Decision(True, "organization", 'peers."sales.acme.example"', "sales.acme.example is trusted as organization"),
    "eu.partner.example": Decision(True, "partner", 'peers."*.partner.example"', "eu.partner.example is trusted as partner"),
    "127.0.0.1:8002": Decision(True, "limited", 'peers."127.0.0.1:8002"', "127.0.0.1:8002 is trusted as limited"),
    "spam.example": Decision(False, "blocked", 'peers."spam.example"', "spam.example is blocked"),
    "unknown.example": Decision(False, "blocked", "mode = allowlist (unknown domain)", "unknown.example is blocked"),
}


@pytest.mark.parametrize("domain", sorted(CONTACT))
def test_contact_decisions_in_full(domain: str) -> None:
    # A blocked host — in allowlist mode, any host the policy does not name — is never contacted
    assert POLICY.contact(domain) == CONTACT[domain]


def test_in_open_mode_only_what_is_blocked_is_not_contacted() -> None:
    p = Policy(mode="open", default_trust="limited", peers=(PeerRule("spam.example", "blocked"),))
    assert p.contact("anyone.example") == Decision(True, "limited", "default_trust (open mode)", "anyone.example is trusted as limited")
    assert p.contact("spam.example") == Decision(False, "blocked", 'peers."spam.example"', "spam.example is blocked")
    closed = Policy(mode="open", default_trust="blocked")
    assert closed.contact("anyone.example") == Decision(False, "blocked", "default_trust (open mode)", "anyone.example is blocked")
