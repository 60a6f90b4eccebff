"""`atrium policy check|explain` and `atrium audit export|verify`, on both engines."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from node import audit
from node import settings as settings_mod
from node.posts import NewPost, create_post
from storage.db import Database
from storage.models import Account
from tests.cli.conftest import assert_one_line_error, run
from tests.factory import node_context

# The README's worked example: eng's view of a company of three departments and one partner.
COMPANY_POLICY = """mode = "allowlist"

[peers."sales.acme.example"]
trust = "organization"

[peers."ops.acme.example"]
trust = "organization"

[peers."*.partner.example"]
trust = "partner"
reject_media = true

[[rules]]
name = "confidential"
pattern = "(?i)confidential"
below = "organization"
"""


@pytest.fixture
def company_node(node_dir: Path) -> Path:
    (node_dir / "policy.toml").write_text(COMPANY_POLICY)
    return node_dir


def _post(node_dir: Path, text: str, visibility: str) -> str:
    settings = settings_mod.load(node_dir)

    async def go() -> str:
        db = Database(settings.resolved_database_url)
        try:
            async with db.session() as s:
                alice = Account(username="alice", domain=None)
                s.add(alice)
            ctx = node_context(db, settings.domain, scheme=settings.scheme)
            post = await create_post(ctx, alice, NewPost(text, visibility=visibility))
            return str(post.id)
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_check_accepts_the_worked_example(company_node: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "check", "--data-dir", str(company_node))
    assert code == 0 and "valid" in out and "3 peer rule(s), 1 content rule(s)" in out


def test_check_lists_every_mistake_with_its_line(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (node_dir / "policy.toml").write_text('mode = "closed"\n[peers."x.example"]\ntrust = "friend"\n')
    code, _, err = run(capsys, "policy", "check", "--data-dir", str(node_dir))
    assert code == 1
    assert "policy.toml:1: mode must be one of" in err
    assert "policy.toml:3: peers.x.example: trust must be one of" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "text, visibility, peer, verdict, rule",
    [
        ("Sprint review notes", "organization", "sales.acme.example", "allowed", 'peers."sales.acme.example"'),
        ("Sprint review notes", "organization", "eu.partner.example", "refused", 'peers."*.partner.example"'),
        ("Our public roadmap", "public", "eu.partner.example", "allowed", 'peers."*.partner.example"'),
        ("The CONFIDENTIAL roadmap", "public", "eu.partner.example", "refused", 'rules."confidential"'),
        ("The CONFIDENTIAL roadmap", "public", "ops.acme.example", "allowed", 'peers."ops.acme.example"'),
        ("Lunch is here", "local", "sales.acme.example", "refused", "visibility local"),
        ("Hello world", "public", "stranger.example", "refused", "mode = allowlist (unknown domain)"),
    ],
)
def test_explain_a_post(company_node: Path, capsys: pytest.CaptureFixture[str], text: str, visibility: str,
                        peer: str, verdict: str, rule: str) -> None:
    post_id = _post(company_node, text, visibility)
    code, out, err = run(capsys, "policy", "explain", "--data-dir", str(company_node), "--post", post_id, "--peer", peer, "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert (answer["decision"], answer["rule"], answer["peer"]) == (verdict, rule, peer)
    # and the text form says the same in words
    code, out, _ = run(capsys, "policy", "explain", "--data-dir", str(company_node), "--post", post_id, "--peer", peer)
    assert out.startswith(f"{verdict}: ") and rule in out


def test_explain_an_inbound_activity(company_node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    note = {"id": "https://eu.partner.example/n/1", "type": "Note", "attributedTo": "https://eu.partner.example/u/p",
            "content": "internal?", "to": ["https://eu.partner.example/u/p/followers"], "audience_scope": "organization"}
    activity = {"id": "https://eu.partner.example/a/1", "type": "Create", "actor": "https://eu.partner.example/u/p", "object": note}
    path = tmp_path / "activity.json"
    path.write_text(json.dumps(activity))
    code, out, _ = run(capsys, "policy", "explain", "--data-dir", str(company_node), "--peer", "eu.partner.example", "--inbound", str(path), "--json")
    assert code == 0 and json.loads(out)["decision"] == "rewritten"
    code, out, _ = run(capsys, "policy", "explain", "--data-dir", str(company_node), "--peer", "evil.example", "--inbound", str(path), "--json")
    assert json.loads(out)["decision"] == "refused"
    path.write_text("{not json")
    code, _, err = run(capsys, "policy", "explain", "--data-dir", str(company_node), "--peer", "x.example", "--inbound", str(path))
    assert_one_line_error(code, err)


def test_explain_needs_a_post_or_an_activity(company_node: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "policy", "explain", "--data-dir", str(company_node), "--peer", "x.example")
    assert_one_line_error(code, err)
    code, _, err = run(capsys, "policy", "explain", "--data-dir", str(company_node), "--peer", "x.example", "--post", "12345")
    assert_one_line_error(code, err)
    assert "no post" in err


def test_audit_export_and_verify(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = settings_mod.load(node_dir)

    async def record() -> None:
        db = Database(settings.resolved_database_url)
        try:
            for decision in ("refused", "delivered", "accepted"):
                await audit.record_now(db, direction="out", peer="p.example", obj="https://o/1", decision=decision, rule="r")
        finally:
            await db.dispose()

    asyncio.run(record())
    code, out, _ = run(capsys, "audit", "export", "--data-dir", str(node_dir))
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [entry["decision"] for entry in lines] == ["refused", "delivered", "accepted"]
    assert set(lines[0]) >= {"time", "direction", "peer", "object", "decision", "rule", "hash", "prev_hash"}
    code, out, _ = run(capsys, "audit", "export", "--data-dir", str(node_dir), "--since", "2999-01-01")
    assert code == 0 and out == ""
    code, _, err = run(capsys, "audit", "export", "--data-dir", str(node_dir), "--since", "yesterday")
    assert_one_line_error(code, err)
    code, out, _ = run(capsys, "audit", "verify", "--data-dir", str(node_dir))
    assert code == 0 and "3 entries" in out
