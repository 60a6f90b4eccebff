"""node/policy.py on its own: every decision, every message and line an operator reads, the
reload. Pure and fast; with the matrices it is what mutation testing of the module runs.
Expected values are written out by hand."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from node.policy import (
    SCANNED_CHARS,
    ContentRule,
    Decision,
    PeerRule,
    Policy,
    PolicyProblem,
    PolicyStore,
    _has_port,
    parse_policy,
)
from tests.policy.harness import matrix_policy

# --------------------------------------------------------------------------- matching peers

# (pattern, domain) -> specificity, by hand: exact host and port 10 001, exact host 10 000,
# a wildcard twice the length of its suffix (".partner.example": 16 -> 32), plus one for a port.
MATCHES = {
    ("127.0.0.1:8002", "127.0.0.1:8002"): 10_001,
    ("127.0.0.1:8002", "127.0.0.1:8003"): 0,
    ("127.0.0.1:8002", "127.0.0.1"): 0,
    ("127.0.0.1", "127.0.0.1:8002"): 10_000,
    ("127.0.0.1", "127.0.0.1"): 10_000,
    ("127.0.0.1", "127.0.0.2"): 0,
    ("sales.acme.example", "sales.acme.example"): 10_000,
    ("sales.acme.example", "x.sales.acme.example"): 0,
    ("*.partner.example", "eu.partner.example"): 32,
    ("*.partner.example", "a.b.partner.example"): 32,
    ("*.partner.example", "eu.partner.example:8443"): 32,
    ("*.partner.example", "partner.example"): 0,
    ("*.partner.example", "evilpartner.example"): 0,
    ("*.partner.example", "partner.example.evil"): 0,
    ("*.partner.example:8443", "eu.partner.example:8443"): 33,
    ("*.partner.example:8443", "eu.partner.example"): 0,
    ("*.partner.example:8443", "eu.partner.example:443"): 0,
    ("*.b.partner.example", "a.b.partner.example"): 36,
    ("[::1]", "[::1]"): 10_000,
    ("[::1]", "[::1]:8080"): 10_000,
    ("[::1]:8080", "[::1]:8080"): 10_001,
    ("[::1]:8080", "[::1]"): 0,
}


@pytest.mark.parametrize("pattern, domain", sorted(MATCHES))
def test_peer_rule_specificity(pattern: str, domain: str) -> None:
    assert PeerRule(pattern, "partner").matches(domain) == MATCHES[pattern, domain]


@pytest.mark.parametrize("domain, has", [
    ("example.com", False), ("example.com:80", True), ("[::1]", False), ("[::1]:8080", True), ("127.0.0.1:1", True),
])
def test_has_port(domain: str, has: bool) -> None:
    assert _has_port(domain) is has


def test_the_most_specific_rule_wins_whatever_the_order() -> None:
    rules = (
        PeerRule("*.example", "public"),
        PeerRule("*.partner.example", "partner"),
        PeerRule("eu.partner.example", "limited"),
        PeerRule("eu.partner.example:8443", "organization"),
    )
    for order in (rules, tuple(reversed(rules))):
        p = Policy(peers=order)
        assert p.trust_of("eu.partner.example:8443") == ("organization", 'peers."eu.partner.example:8443"')
        assert p.trust_of("eu.partner.example") == ("limited", 'peers."eu.partner.example"')
        assert p.trust_of("us.partner.example") == ("partner", 'peers."*.partner.example"')
        assert p.trust_of("other.example") == ("public", 'peers."*.example"')
        assert p.trust_of("example") == ("blocked", "mode = allowlist (unknown domain)")
        assert p.peer_rule("nowhere.test") is None


def test_defaults() -> None:
    assert PeerRule("a.example", "partner").reject_media is False
    rule = ContentRule("r", "x")
    assert (rule.below, rule.action) == ("organization", "refuse")
    assert Policy() == Policy(mode="allowlist", default_trust="public", peers=(), rules=())
    assert Policy().trust_of("a.example") == ("blocked", "mode = allowlist (unknown domain)")
    assert Policy(mode="open").trust_of("a.example") == ("public", "default_trust (open mode)")
    assert Policy(mode="open", default_trust="limited").trust_of("a.example") == ("limited", "default_trust (open mode)")


def test_the_organization_is_every_domain_trusted_as_organization_wildcards_included() -> None:
    # Given organisation peers named exactly and by a wildcard, and a more specific partner
    # rule under the wildcard
    p = Policy(peers=(
        PeerRule("sales.acme.example", "organization"),
        PeerRule("127.0.0.1:8002", "organization"),
        PeerRule("*.acme.example", "organization"),
        PeerRule("x.acme.example", "partner"),
        PeerRule("partner.example", "partner"),
    ))
    org = p.organization_domains()
    # Then the organisation is what trust_of calls `organization`: the wildcard's hosts on any
    # port, but not the domain itself, nor the host a more specific rule gives another trust
    members = {"sales.acme.example", "eng.acme.example", "eng.acme.example:8443", "a.b.acme.example", "127.0.0.1:8002"}
    others = {"x.acme.example", "x.acme.example:8443", "acme.example", "acme.example.evil", "127.0.0.1:8003", "partner.example"}
    assert {d for d in members | others if org.contains(d)} == members
    assert all(org.contains(d) == (p.trust_of(d)[0] == "organization") for d in members | others)
    assert org.patterns == ("sales.acme.example", "127.0.0.1:8002", "*.acme.example") and org
    assert not org.contains(None)  # this node's own accounts are not a peer


def test_open_mode_with_organization_as_default_makes_every_unnamed_domain_a_member() -> None:
    p = Policy(mode="open", default_trust="organization", peers=(PeerRule("partner.example", "partner"),))
    org = p.organization_domains()
    assert org.contains("anyone.example") and not org.contains("partner.example")
    assert org.everyone_unnamed and org.patterns == ()
    assert not Policy(mode="allowlist", default_trust="organization").organization_domains()


# --------------------------------------------------------------------------- content rules

RANKED = ("blocked", "limited", "public", "partner", "organization")  # lowest first, by hand
# (trust, below) -> a rule with that `below` holds for a peer of that trust: strictly below it.
HOLDS = {
    (trust, below): RANKED.index(trust) < RANKED.index(below)
    for trust in RANKED for below in RANKED
}
assert HOLDS["partner", "organization"] and not HOLDS["partner", "partner"] and HOLDS["limited", "public"]


@pytest.mark.parametrize("trust, below", sorted(HOLDS))
def test_a_rule_holds_for_peers_strictly_below_its_level(trust: str, below: str) -> None:
    rule = ContentRule("r", "(?i)secret", below)
    assert rule.holds(trust, "a SECRET plan") is HOLDS[trust, below]
    assert rule.holds(trust, "a public plan") is False


def test_rules_read_the_first_scanned_chars_only() -> None:
    assert SCANNED_CHARS == 100_000
    rule = ContentRule("r", "confidential")
    word = "confidential"
    ends_inside = "a" * (SCANNED_CHARS - len(word)) + word  # its last letter is the last one read
    ends_outside = "a" * (SCANNED_CHARS - len(word) + 1) + word
    assert rule.holds("partner", ends_inside)
    assert not rule.holds("partner", ends_outside)
    assert rule.holds("partner", word + "a" * SCANNED_CHARS)


def test_a_post_without_text_is_not_judged_by_content_rules() -> None:
    # Follows, Accepts, Deletes carry no text: a pattern that matches anything still lets them go.
    p = Policy(peers=(PeerRule("partner.example", "partner"),), rules=(ContentRule("all", "^"),))
    assert p.outbound("public", "partner.example", "").allowed
    assert not p.outbound("public", "partner.example", "anything").allowed


# --------------------------------------------------------------------------- decisions

POLICY = Policy(
    peers=(
        PeerRule("sales.acme.example", "organization"),
        PeerRule("*.partner.example", "partner"),
        PeerRule("social.example", "public"),
        PeerRule("127.0.0.1:8002", "limited"),
        PeerRule("spam.example", "blocked"),
    ),
    rules=(ContentRule("confidential", "(?i)confidential"), ContentRule("embargo", "(?i)embargoed", "partner")),
)

# (visibility, domain, text) -> the whole decision, by hand.
DECISIONS = {
    ("public", "sales.acme.example", ""):
        Decision(True, "organization", 'peers."sales.acme.example"', "sales.acme.example is trusted as organization"),
    ("organization", "sales.acme.example", "CONFIDENTIAL and embargoed"):
        Decision(True, "organization", 'peers."sales.acme.example"', "sales.acme.example is trusted as organization"),
    ("local", "sales.acme.example", ""):
        Decision(False, "organization", "visibility local", "local posts never leave the node"),
    ("organization", "eu.partner.example", ""):
        Decision(False, "partner", 'peers."*.partner.example"', "eu.partner.example is not trusted as organization"),
    ("direct", "eu.partner.example", "embargoed"):
        Decision(True, "partner", 'peers."*.partner.example"', "eu.partner.example is trusted as partner"),
    ("followers", "eu.partner.example", "confidential"):
        Decision(False, "partner", 'rules."confidential"', "the text matches 'confidential', kept from peers trusted below organization"),
    ("unlisted", "social.example", "Embargoed"):
        Decision(False, "public", 'rules."embargo"', "the text matches 'embargo', kept from peers trusted below partner"),
    ("unlisted", "social.example", "Embargoed and confidential"):  # the first rule that holds decides
        Decision(False, "public", 'rules."confidential"', "the text matches 'confidential', kept from peers trusted below organization"),
    ("public", "127.0.0.1:8002", "hello"):
        Decision(True, "limited", 'peers."127.0.0.1:8002"', "127.0.0.1:8002 is trusted as limited"),
    ("local", "127.0.0.1:8002", ""):
        Decision(False, "limited", "visibility local", "local posts never leave the node"),
    ("public", "spam.example", ""):
        Decision(False, "blocked", 'peers."spam.example"', "spam.example is blocked"),
    ("local", "spam.example", ""):
        Decision(False, "blocked", "visibility local", "local posts never leave the node"),
    ("public", "unknown.example", ""):
        Decision(False, "blocked", "mode = allowlist (unknown domain)", "unknown.example is blocked"),
    ("organization", "unknown.example", ""):
        Decision(False, "blocked", "mode = allowlist (unknown domain)", "unknown.example is blocked"),
    ("public", None, ""):
        Decision(True, "public", "anonymous reader", "an anonymous reader is trusted as public"),
    ("organization", None, ""):
        Decision(False, "public", "anonymous reader", "an anonymous reader is not trusted as organization"),
    ("public", None, "confidential"):
        Decision(False, "public", 'rules."confidential"', "the text matches 'confidential', kept from peers trusted below organization"),
    ("local", None, ""):
        Decision(False, "public", "visibility local", "local posts never leave the node"),
}


@pytest.mark.parametrize("visibility, domain, text", list(DECISIONS))
def test_outbound_decisions_in_full(visibility: str, domain: str | None, text: str) -> None:
    assert POLICY.outbound(visibility, domain, text) == DECISIONS[visibility, domain, text]


def test_outbound_without_text_is_judged_as_a_post_without_text() -> None:
    p = Policy(peers=(PeerRule("partner.example", "partner"),), rules=(ContentRule("all", "^"),))
    assert p.outbound("public", "partner.example").allowed


INBOUND = {
    "sales.acme.example": Decision(True, "organization", 'peers."sales.acme.example"', "sales.acme.example is trusted as organization"),
    "127.0.0.1:8002": Decision(True, "limited", 'peers."127.0.0.1:8002"', "127.0.0.1:8002 is trusted as limited"),
    "spam.example": Decision(False, "blocked", 'peers."spam.example"', "spam.example is blocked"),
    "unknown.example": Decision(False, "blocked", "mode = allowlist (unknown domain)", "unknown.example is blocked"),
}


@pytest.mark.parametrize("domain", sorted(INBOUND))
def test_inbound_decisions_in_full(domain: str) -> None:
    assert POLICY.inbound(domain) == INBOUND[domain]


def test_open_mode_admits_unknown_domains_at_the_default_trust() -> None:
    p = Policy(mode="open", default_trust="partner", peers=(PeerRule("spam.example", "blocked"),))
    assert p.outbound("public", "anyone.example") == Decision(True, "partner", "default_trust (open mode)", "anyone.example is trusted as partner")
    assert p.inbound("anyone.example").allowed
    assert not p.inbound("spam.example").allowed


# --------------------------------------------------------------------------- the file

def test_the_matrices_policy_is_what_its_policy_toml_says() -> None:
    peers = {"organization": "127.0.0.1:9001", "partner": "127.0.0.1:9002", "public": "127.0.0.1:9003",
             "limited": "127.0.0.1:9004", "blocked": "127.0.0.1:9005", "unknown": "127.0.0.1:9006"}
    text = """
mode = "allowlist"
default_trust = "partner"

[peers."127.0.0.1:9001"]
trust = "organization"
[peers."127.0.0.1:9002"]
trust = "partner"
[peers."127.0.0.1:9005"]
trust = "blocked"
[peers."127.0.0.1:9004"]
trust = "limited"
[peers."127.0.0.1:9003"]
trust = "public"

[[rules]]
name = "confidential"
pattern = "(?i)confidential"
below = "organization"

[[rules]]
name = "embargo"
pattern = "(?i)embargoed"
below = "partner"
"""
    rules = (ContentRule("confidential", "(?i)confidential", "organization"), ContentRule("embargo", "(?i)embargoed", "partner"))
    assert parse_policy(text) == (matrix_policy(peers, rules), [])


def test_a_full_file_parses_to_exactly_this() -> None:
    text = """
mode = "open"
default_trust = "limited"

[peers."Sales.Acme.Example."]
trust = "organization"

[peers."*.Partner.Example"]
trust = "partner"
reject_media = true

[peers."127.0.0.1:8443"]
trust = "public"
reject_media = false
withhold_media = true

[[rules]]
name = "confidential"
pattern = "(?i)confidential"

[[rules]]
name = "embargo"
pattern = "embargoed"
below = "partner"
action = "refuse"
"""
    assert parse_policy(text) == (Policy(
        mode="open",
        default_trust="limited",
        peers=(PeerRule("sales.acme.example", "organization"), PeerRule("*.partner.example", "partner", True),
               PeerRule("127.0.0.1:8443", "public", withhold_media=True)),
        rules=(ContentRule("confidential", "(?i)confidential", "organization", "refuse"),
               ContentRule("embargo", "embargoed", "partner", "refuse")),
    ), [])


def test_an_empty_file_admits_no_one() -> None:
    assert parse_policy("") == (Policy(mode="allowlist", default_trust="public"), [])


# text -> every problem (line, message), by hand
PROBLEMS = {
    "mode = \n": [(1, "not valid TOML: Invalid value (at line 1, column 8)")],
    'mode = "allowlist': [(None, "not valid TOML: Unterminated string (at end of document)")],
    '\n\ncolour = "blue"\n': [(3, "unknown key 'colour'; known: default_trust, mode, peers, retention, rules")],
    'mode = "closed"\n': [(1, "mode must be one of allowlist, open, not 'closed'")],
    '\ndefault_trust = "friend"\n': [(2, "default_trust must be one of organization, partner, public, limited, blocked, not 'friend'")],
    'peers = 3\n': [(1, "peers must be a table of domains")],
    '[peers]\n"x.example" = 3\n': [(2, "peers.x.example must be a table with a trust key")],
    '[peers."x.example"]\ntrust = "partner"\nreject_mdia = true\n': [
        (3, "peers.x.example: unknown key 'reject_mdia'; known: accept_announcements, reject_media, trust, withhold_media")],
    '[peers."x.example"]\ncolour = 1\ntrust = "partner"\n': [(2, "peers.x.example: unknown key 'colour'; known: accept_announcements, reject_media, trust, withhold_media")],
    '\n[peers."x.example"]\ntrust = "friend"\n': [
        (3, "peers.x.example: trust must be one of organization, partner, public, limited, blocked, not 'friend'")],
    '[peers."x.example"]\nreject_media = true\n': [
        (1, "peers.x.example: trust must be one of organization, partner, public, limited, blocked, not None")],
    '\n\n[peers.localhost]\ntrust = "friend"\n': [
        (4, "peers.localhost: trust must be one of organization, partner, public, limited, blocked, not 'friend'")],
    '[peers."x.example"]\ntrust = "partner"\nreject_media = "yes"\n': [(3, "peers.x.example: reject_media must be true or false")],
    '[peers."x.example"]\ntrust = "partner"\nwithhold_media = 1\n': [(3, "peers.x.example: withhold_media must be true or false")],
    '\n[peers."bad domain"]\ntrust = "partner"\n': [(2, "peers.bad domain: not a domain: 'bad domain'")],
    '[peers."*.bad domain"]\ntrust = "partner"\n': [(1, "peers.*.bad domain: not a domain: 'bad domain'")],
    '[peers."A.example"]\ntrust = "partner"\n[peers."a.example."]\ntrust = "public"\n': [
        (3, "peers.a.example. is the same domain as peers.A.example")],
    '[peers."*.A.example"]\ntrust = "partner"\n[peers."*.a.example"]\ntrust = "public"\n': [
        (3, "peers.*.a.example is the same domain as peers.*.A.example")],
    'rules = 3\n': [(1, "rules must be an array of tables: [[rules]]")],
    'rules = [1]\n': [(1, "rules must be an array of tables: [[rules]]")],
    '\n[[rules]]\npattern = "x"\n': [(2, "rules #1: name is required")],
    '[[rules]]\nname = ""\npattern = "x"\n': [(2, "rules #1 (): name is required")],
    '[[rules]]\nname = "a"\npattern = "x"\n[[rules]]\nname = "b"\npattern = "y"\ncolour = 2\n': [
        (7, "rules #2 (b): unknown key 'colour'; known: action, below, name, pattern")],
    '[[rules]]\nname = "a"\npattern = "x"\n\n[[rules]]\nname = "a"\npattern = "y"\n': [
        (6, "rules #2 (a): another rule has the same name")],
    '[[rules]]\nname = "r"\n': [(1, "rules #1 (r): pattern is required")],
    '[[rules]]\nname = "r"\npattern = ""\n': [(3, "rules #1 (r): pattern is required")],
    '[[rules]]\nname = "r"\npattern = "(unclosed"\n': [
        (3, "rules #1 (r): pattern is not a valid regular expression: missing ), unterminated subpattern at position 0")],
    '[[rules]]\nname = "r"\npattern = "x"\nbelow = "boss"\n': [
        (4, "rules #1 (r): below must be one of organization, partner, public, limited, blocked")],
    '[[rules]]\nname = "r"\npattern = "x"\naction = "shout"\n': [(4, "rules #1 (r): action must be one of refuse")],
}


@pytest.mark.parametrize("text", list(PROBLEMS))
def test_every_problem_with_its_line_and_words(text: str) -> None:
    policy, problems = parse_policy(text)
    assert policy is None
    assert [(p.line, p.message) for p in problems] == PROBLEMS[text]


def test_a_problem_with_one_peer_or_rule_does_not_hide_the_next() -> None:
    peers = """
[peers]
"a.example" = 3
[peers."b.example"]
trust = "friend"
[peers."c.example"]
trust = "partner"
reject_media = "yes"
[peers."bad domain"]
trust = "partner"
[peers."d.example"]
trust = "partner"
[peers."D.example"]
trust = "public"
[peers."e.example"]
trust = "boss"
"""
    _, problems = parse_policy(peers)
    assert [p.message.split(":")[0].split(" ")[0] for p in problems] == [
        "peers.a.example", "peers.b.example", "peers.c.example", "peers.bad", "peers.D.example", "peers.e.example"]
    rules = """
[[rules]]
pattern = "x"
[[rules]]
name = "no pattern"
[[rules]]
name = "bad pattern"
pattern = "(x"
[[rules]]
name = "bad below"
pattern = "x"
below = "boss"
[[rules]]
name = "bad action"
pattern = "x"
action = "shout"
[[rules]]
name = "last"
pattern = "x"
below = "nobody"
"""
    _, problems = parse_policy(rules)
    assert [p.message.split(":")[0] for p in problems] == [
        "rules #1", "rules #2 (no pattern)", "rules #3 (bad pattern)", "rules #4 (bad below)", "rules #5 (bad action)", "rules #6 (last)"]


def test_every_problem_is_reported_at_once() -> None:
    text = 'mode = "closed"\ndefault_trust = "x"\n[peers."a.example"]\ntrust = "y"\n[[rules]]\nname = "r"\n'
    _, problems = parse_policy(text)
    assert [p.line for p in problems] == [1, 2, 4, 5]


def test_a_problem_reads_with_its_line_when_it_has_one() -> None:
    assert str(PolicyProblem(4, "trust must be one of …")) == "line 4: trust must be one of …"
    assert str(PolicyProblem(None, "policy.toml is missing")) == "policy.toml is missing"


# --------------------------------------------------------------------------- reloading

def _write(path: Path, text: str | bytes, tick: int) -> None:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + tick * 1_000_000))


def test_the_store_reloads_a_changed_file_and_keeps_a_valid_policy(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="node.policy")
    path = tmp_path / "policy.toml"
    # No file yet: nobody is admitted
    store = PolicyStore(path)
    assert store.policy == Policy()
    caplog.clear()
    # A valid file takes effect
    _write(path, '[peers."a.example"]\ntrust = "partner"\n', 1)
    assert store.reload() is True
    assert store.problems == []
    assert store.policy.trust_of("a.example")[0] == "partner"
    assert store.reload() is False  # unchanged: not read again
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [("INFO", f"policy {path} in force")]
    caplog.clear()
    # An invalid one does not; its problems are kept and logged
    _write(path, '[peers."a.example"]\ntrust = "everyone"\n[peers."b.example"]\ntrust = "anyone"\n', 2)
    assert store.reload() is False
    assert store.policy.trust_of("a.example")[0] == "partner"
    levels = "must be one of organization, partner, public, limited, blocked"
    a, b = f"peers.a.example: trust {levels}, not 'everyone'", f"peers.b.example: trust {levels}, not 'anyone'"
    assert [(p.line, p.message) for p in store.problems] == [(2, a), (4, b)]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", f"policy {path} refused, the previous one stays in force: line 2: {a}; line 4: {b}")]
    # A file that is not valid UTF-8 is read with replacement characters, not refused
    _write(path, b'[peers."a.example"]\ntrust = "organization" # \xff\n', 3)
    assert store.policy.trust_of("a.example")[0] == "organization"
    # The property reloads by itself
    _write(path, '[peers."a.example"]\ntrust = "limited"\n', 4)
    assert store.policy.trust_of("a.example")[0] == "limited"
    # A file that goes away leaves the policy in force, and says so
    caplog.clear()
    path.unlink()
    assert store.reload() is False
    assert store.policy.trust_of("a.example")[0] == "limited"
    assert [str(p) for p in store.problems] == [f"{path} is missing; keeping the policy in force"]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [("ERROR", f"{path} is missing; keeping the policy in force")]
    assert store.reload() is False  # still missing: nothing new


def test_a_file_of_the_same_size_and_time_is_not_read_again(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    _write(path, '[peers."a.example"]\ntrust = "partner"\n', 1)
    store = PolicyStore(path)
    stat = path.stat()
    path.write_text('[peers."a.example"]\ntrust = "public"\n'[:stat.st_size].ljust(stat.st_size))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert store.policy.trust_of("a.example")[0] == "partner"
    # a change of size alone is a change
    path.write_text('[peers."a.example"]\ntrust = "public"\n\n\n\n')
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert store.policy.trust_of("a.example")[0] == "public"


def test_media_both_ways_is_each_peers_own_rule() -> None:
    # Given one peer that rejects media coming in, one that has media withheld going out, and one neither
    policy = Policy(mode="open", peers=(PeerRule("in.example", "partner", reject_media=True),
                                        PeerRule("out.example", "partner", withhold_media=True)))
    # When asked about media both ways  # Then each rule acts only in its own direction, and names itself
    assert policy.media_in("in.example").allowed is False
    assert policy.media_in("in.example").rule == 'peers."in.example".reject_media'
    assert policy.media_out("in.example").allowed is True
    assert policy.media_out("out.example").allowed is False
    assert policy.media_out("out.example").rule == 'peers."out.example".withhold_media'
    assert policy.media_in("out.example").allowed is True
    assert policy.media_in("other.example").allowed and policy.media_out("other.example").allowed
