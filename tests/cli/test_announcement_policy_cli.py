"""The policy key `accept_announcements` (docs/policy.md): validated with its line, and
explained by `atrium policy explain --inbound` for an organisation-wide announcement
(docs/federation.md): shown only from an `organization` peer whose rule says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.policy import parse_policy
from tests.cli.conftest import run

POLICY = """mode = "allowlist"

[peers."sales.acme.example"]
trust = "organization"
accept_announcements = true

[peers."ops.acme.example"]
trust = "organization"

[peers."partner.example"]
trust = "partner"
accept_announcements = true
"""


def _announcement(domain: str) -> dict[str, object]:
    actor = f"https://{domain}/actor"
    return {"id": f"https://{domain}/announcements/1#create-1", "type": "Create", "actor": actor,
            "object": {"id": f"https://{domain}/announcements/1", "type": "Note", "announcement": True,
                       "attributedTo": actor, "content": "<p>All hands</p>"}}


def test_the_key_is_validated_with_its_line() -> None:
    policy, problems = parse_policy(POLICY.replace("accept_announcements = true\n\n[peers.\"ops", 'accept_announcements = "yes"\n\n[peers."ops', 1))
    assert policy is None
    assert [str(p) for p in problems] == ['line 5: peers.sales.acme.example: accept_announcements must be true or false']
    policy, problems = parse_policy(POLICY)
    assert problems == [] and policy is not None
    assert [r.accept_announcements for r in policy.peers] == [True, False, True]


@pytest.mark.parametrize(("peer", "decision", "rule", "words"), [
    ("sales.acme.example", "accepted", 'peers."sales.acme.example".accept_announcements', "may announce here"),
    ("ops.acme.example", "refused", 'peers."ops.acme.example".accept_announcements', "may not announce"),
    ("partner.example", "refused", 'peers."partner.example"', "not an organisation peer"),
    ("unknown.example", "refused", "mode = allowlist (unknown domain)", "blocked"),
])
def test_explain_says_whether_a_peer_may_announce(node_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  peer: str, decision: str, rule: str, words: str) -> None:
    (node_dir / "policy.toml").write_text(POLICY)
    path = tmp_path / "announcement.json"
    path.write_text(json.dumps(_announcement(peer)))
    code, out, _ = run(capsys, "policy", "explain", "--data-dir", str(node_dir), "--peer", peer, "--inbound", str(path), "--json")
    said = json.loads(out)
    assert code == 0 and (said["decision"], said["rule"]) == (decision, rule) and words in said["reason"]
