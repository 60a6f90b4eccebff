"""`atrium maintenance prune [--dry-run]`, `atrium audit anchor` and `atrium audit verify
--anchor`, on both engines (docs/compliance.md, "Housekeeping" and "The audit trail")."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import func, select

from node import audit
from node import settings as settings_mod
from storage.db import Database
from storage.ids import new_id
from storage.models import InboxEntry, Tombstone, utcnow
from tests.cli.conftest import assert_one_line_error, run
from tests.node.test_audit_anchor import rewrite_whole_chain, write

T = TypeVar("T")


def on_db(node_dir: Path, fn: Callable[[Database], Awaitable[T]]) -> T:
    async def go() -> T:
        db = Database(settings_mod.load(node_dir).resolved_database_url)
        try:
            return await fn(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


async def old_rows(db: Database) -> None:
    """Two inbox log rows and a tombstone past their limits, one of each still within."""
    old = int((utcnow() - timedelta(days=40)).timestamp() * 1000)
    async with db.session() as s:
        s.add_all([
            InboxEntry(id=new_id(old), origin="o", activity_id="a1", type="Create", actor_uri="x", outcome="done"),
            InboxEntry(id=new_id(old), origin="o", activity_id="a2", type="Like", actor_uri="x", outcome="ignored"),
            InboxEntry(origin="o", activity_id="a3", type="Like", actor_uri="x", outcome="done"),
            Tombstone(uri="https://gone/1", actor_uri="x", deleted_at=utcnow() - timedelta(days=100)),
            Tombstone(uri="https://gone/2", actor_uri="x", deleted_at=utcnow()),
        ])


async def remaining(db: Database) -> tuple[int, int]:
    async with db.reader() as s:
        inbox = await s.scalar(select(func.count()).select_from(InboxEntry))
        tombstones = await s.scalar(select(func.count()).select_from(Tombstone))
    return int(inbox or 0), int(tombstones or 0)


def counts(out: str) -> dict[str, int]:
    rows = [line.split() for line in out.splitlines() if line.startswith("  ")]
    return {name: int(n) for name, n in rows}


def test_prune_dry_run_counts_and_changes_nothing_then_prune_removes(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given old rows in the inbox log and tombstones
    on_db(node_dir, old_rows)
    # When a dry run is asked for
    code, out, err = run(capsys, "maintenance", "prune", "--dry-run", "--data-dir", str(node_dir))
    # Then it prints what would go, table by table, and nothing changed
    assert code == 0, err
    assert "nothing was changed" in out
    assert counts(out)["inbox_log"] == 2 and counts(out)["tombstones"] == 1 and counts(out)["remote_posts"] == 0
    assert on_db(node_dir, remaining) == (3, 2)
    # When pruned for real
    code, out, err = run(capsys, "maintenance", "prune", "--data-dir", str(node_dir))
    # Then the same counts went, and what is within its limit stays
    assert code == 0, err
    assert counts(out)["inbox_log"] == 2 and counts(out)["tombstones"] == 1
    assert on_db(node_dir, remaining) == (1, 1)
    # and a second run finds nothing
    code, out, _ = run(capsys, "maintenance", "prune", "--dry-run", "--data-dir", str(node_dir))
    assert set(counts(out).values()) == {0}


def test_prune_follows_the_settings_and_refuses_bad_ones(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the inbox log kept forever by the node's settings
    on_db(node_dir, old_rows)
    path = node_dir / settings_mod.SETTINGS_FILE
    text = path.read_text()
    assert "inbox_log_days = 30" in text  # atrium init writes the limits with their documentation
    path.write_text(text.replace("inbox_log_days = 30", "inbox_log_days = 0"))
    code, out, _ = run(capsys, "maintenance", "prune", "--dry-run", "--data-dir", str(node_dir))
    assert code == 0 and "inbox_log" not in counts(out)
    # When a limit is negative, Then the command says which, in one line
    path.write_text(text.replace("inbox_log_days = 30", "inbox_log_days = -1"))
    code, _, err = run(capsys, "maintenance", "prune", "--data-dir", str(node_dir))
    assert_one_line_error(code, err)
    assert "housekeeping.inbox_log_days" in err
    path.write_text(text.replace("inbox_log_days = 30", "inbox_log_days = 30\nbatch = 0"))
    code, _, err = run(capsys, "maintenance", "prune", "--data-dir", str(node_dir))
    assert_one_line_error(code, err)
    assert "housekeeping.batch" in err


def test_prune_needs_a_node(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATRIUM_DATA_DIR", raising=False)
    code, _, err = run(capsys, "maintenance", "prune")
    assert_one_line_error(code, err)
    code, _, err = run(capsys, "maintenance", "prune", "--data-dir", str(tmp_path / "none"))
    assert_one_line_error(code, err)


def test_audit_retention_defaults_to_forever(node_dir: Path) -> None:
    assert settings_mod.load(node_dir).audit_retention_days == 0
    assert "retention_days = 0" in (node_dir / settings_mod.SETTINGS_FILE).read_text()


def test_anchor_then_verify_and_a_rewrite_is_caught(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a trail of 4 entries (after what `atrium init` recorded)
    on_db(node_dir, lambda db: write(db, 4))
    # When its head is anchored
    code, out, err = run(capsys, "audit", "anchor", "--data-dir", str(node_dir))
    assert code == 0, err
    digest, word, number, at_word, when = out.split()
    head = on_db(node_dir, audit.anchor)
    # Then it prints the head's hash with its entry number and time
    assert (digest, word, int(number), at_word) == (head.hash, "entry", head.entry, "at")
    assert head.at is not None and when == head.at.isoformat(timespec="microseconds")
    # and verify with it passes, naming the entry
    code, out, err = run(capsys, "audit", "verify", "--anchor", digest, "--data-dir", str(node_dir))
    assert code == 0, err
    assert f"entry {number}" in out
    # When the whole chain is rewritten around a changed entry
    on_db(node_dir, lambda db: rewrite_whole_chain(db, 2, decision="delivered"))
    # Then verify alone passes, and with the anchor fails in one line
    code, _, _ = run(capsys, "audit", "verify", "--data-dir", str(node_dir))
    assert code == 0
    code, _, err = run(capsys, "audit", "verify", "--anchor", digest.upper(), "--data-dir", str(node_dir))
    assert_one_line_error(code, err)
    assert "rewritten" in err


@pytest.mark.parametrize("bad", ["", "abc", "z" * 64, "0" * 65, "../etc/passwd"])
def test_verify_refuses_what_is_not_a_hash(node_dir: Path, capsys: pytest.CaptureFixture[str], bad: str) -> None:
    code, _, err = run(capsys, "audit", "verify", "--anchor", bad, "--data-dir", str(node_dir))
    assert_one_line_error(code, err)
    assert "64 hexadecimal digits" in err
