"""`atrium policy check|explain` for the `[retention]` table and `atrium hold add|release|list`,
on both engines (docs/policy.md "Retention", docs/compliance.md "Legal hold")."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import select, update

from node import settings as settings_mod
from storage.db import Database
from storage.models import Account, AuditEntry, LegalHold, Post
from tests.cli.conftest import assert_one_line_error, run
from tests.cli.test_policy_cli import _post

RETENTION = """mode = "allowlist"

[retention]
remote = 90
direct = 30

[retention.posts]
local = 365
organization = 1095
"""


def _check(capsys: pytest.CaptureFixture[str], node_dir: Path, text: str) -> tuple[int, str, str]:
    (node_dir / "policy.toml").write_text(text)
    return run(capsys, "policy", "check", "--data-dir", str(node_dir))


def test_check_accepts_retention_rules(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _check(capsys, node_dir, RETENTION)
    assert code == 0, err
    assert "4 retention rule(s)" in out


def test_check_names_the_line_of_every_bad_retention_value(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a retention table with a negative, a fractional, a text value, an unknown audience,
    # posts.direct and an unknown key
    text = (
        'mode = "allowlist"\n'       # 1
        "[retention]\n"              # 2
        "remote = -5\n"              # 3
        'direct = "a week"\n'        # 4
        "forever = 3\n"              # 5
        "[retention.posts]\n"        # 6
        "local = 1.5\n"              # 7
        "everyone = 30\n"            # 8
        "direct = 30\n"              # 9
        "organization = 0\n"         # 10
    )
    # When checked
    code, _, err = _check(capsys, node_dir, text)
    # Then each is reported at its own line, and the policy is refused
    assert code == 1
    lines = err.strip().splitlines()
    at = {int(line.split(":")[1]): line for line in lines[:-1]}
    assert "at least 1 day" in at[3]
    assert "whole number of days" in at[4] and "'a week'" in at[4]
    assert "unknown key 'forever'" in at[5]
    assert "whole number of days" in at[7]
    assert "unknown audience 'everyone'" in at[8]
    assert "retention.direct" in at[9]
    assert "at least 1 day" in at[10]
    assert "7 problem(s)" in lines[-1]


def _backdate(node_dir: Path, post_id: str, days: int) -> None:
    from datetime import UTC, datetime, timedelta

    async def go() -> None:
        db = Database(settings_mod.load(node_dir).resolved_database_url)
        try:
            async with db.session() as s:
                at = datetime.now(UTC) - timedelta(days=days)
                await s.execute(update(Post).where(Post.id == int(post_id)).values(created_at=at))
        finally:
            await db.dispose()

    asyncio.run(go())


def test_explain_a_post_says_its_retention(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a node keeping organisation posts 1095 days, and alice's organisation post of 1100 days ago
    (node_dir / "policy.toml").write_text(RETENTION)
    post_id = _post(node_dir, "quarterly plan", "organization")
    _backdate(node_dir, post_id, 1100)
    # When its retention is explained (no --peer)
    code, out, err = run(capsys, "policy", "explain", "--data-dir", str(node_dir), "--post", post_id, "--json")
    # Then the rule, the days and the (past) expiry are said
    assert code == 0, err
    answer = json.loads(out)
    assert answer["retention"] == "retention.posts.organization" and answer["days"] == 1095
    assert "expired" in answer["explanation"] and answer["held"] is False
    (node_dir / "policy.toml").write_text('mode = "allowlist"\n[retention]\nremote = 5\n')
    code, out, _ = run(capsys, "policy", "explain", "--data-dir", str(node_dir), "--post", post_id)
    assert code == 0 and "kept forever" in out
    # And once alice is held, the explanation says the hold keeps it
    code, _, err = run(capsys, "hold", "add", "--data-dir", str(node_dir), "--case", "audit-2026", "--account", "alice")
    assert code == 0, err
    (node_dir / "policy.toml").write_text(RETENTION)
    code, out, _ = run(capsys, "policy", "explain", "--data-dir", str(node_dir), "--post", post_id)
    assert "expired" in out and "legal hold" in out
    # And an inbound explanation still needs its peer
    code, _, err = run(capsys, "policy", "explain", "--data-dir", str(node_dir), "--inbound", "x.json")
    assert_one_line_error(code, err)


def _alice(node_dir: Path) -> None:
    async def go() -> None:
        db = Database(settings_mod.load(node_dir).resolved_database_url)
        try:
            async with db.session() as s:
                s.add(Account(username="alice", domain=None))
                s.add(Account(username="sam", domain="sales.acme.example"))
        finally:
            await db.dispose()

    asyncio.run(go())


def _rows(node_dir: Path) -> tuple[list[tuple[str, bool]], list[str]]:
    async def go() -> tuple[list[tuple[str, bool]], list[str]]:
        db = Database(settings_mod.load(node_dir).resolved_database_url)
        try:
            async with db.reader() as s:
                holds = [(h.case_name, h.released_at is not None) for h in await s.scalars(select(LegalHold).order_by(LegalHold.created_at))]
                rules = list(await s.scalars(select(AuditEntry.rule).where(AuditEntry.direction == "admin").order_by(AuditEntry.id)))
                return holds, rules
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_hold_add_list_release_and_every_one_line_error(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _alice(node_dir)
    d = ("--data-dir", str(node_dir))
    # When alice is held with a reason  # Then the list shows the case, the account and the reason
    code, out, err = run(capsys, "hold", "add", *d, "--case", "Acme v. Widgets", "--account", "alice", "--reason", "subpoena 12")
    assert code == 0 and "held under the case 'Acme v. Widgets'" in out, err
    code, out, _ = run(capsys, "hold", "list", *d)
    assert code == 0 and "Acme v. Widgets\t@alice" in out and "subpoena 12" in out
    # Then the mistakes are each one line and a non-zero exit
    for argv, words in (
        (("hold", "add", *d, "--case", "Acme v. Widgets", "--account", "alice"), "already held"),
        (("hold", "add", *d, "--case", "c", "--account", "nobody"), "no account"),
        (("hold", "add", *d, "--case", "c", "--account", "sam@sales.acme.example"), "another node"),
        (("hold", "release", *d, "--case", "other case"), "nothing to release"),
        (("hold", "release", *d, "--case", "Acme v. Widgets", "--account", "nobody"), "no account"),
    ):
        code, _, err = run(capsys, *argv)
        assert_one_line_error(code, err)
        assert words in err
    # When the case is released  # Then nothing is held, and the rows and audit trail keep the history
    code, out, _ = run(capsys, "hold", "release", *d, "--case", "Acme v. Widgets")
    assert code == 0 and "@alice" in out
    code, out, _ = run(capsys, "hold", "list", *d)
    assert "no account is under legal hold" in out
    holds, rules = _rows(node_dir)
    assert holds == [("Acme v. Widgets", True)]
    assert rules == ["admin:place-hold", "admin:release-hold"]


def test_hold_reads_the_data_dir_from_the_environment(node_dir: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _alice(node_dir)
    monkeypatch.setenv("ATRIUM_DATA_DIR", str(node_dir))
    code, out, err = run(capsys, "hold", "add", "--case", "env", "--account", "alice")
    assert code == 0, err
    code, out, _ = run(capsys, "hold", "list")
    assert "env\t@alice" in out
