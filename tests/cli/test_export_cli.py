"""`atrium export` and `atrium export verify`, run as an operator runs them, on SQLite and on
PostgreSQL: an account, a hold's case, a query; verification by the node's key or a PEM file;
one-line errors."""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path

import pytest

from atrium.assembly import context_for
from federation.keys import generate_rsa_keypair
from node import accounts, posts
from node.instance import get_instance
from node.posts import NewPost
from node.settings import load
from storage.db import Database
from storage.models import LegalHold
from tests.cli.conftest import assert_one_line_error, run


async def _seed(data_dir: Path) -> str:
    """alice's post, bob's post, alice held under a case; the instance public key (PEM)."""
    settings = load(data_dir)
    db = Database(settings.resolved_database_url)
    try:
        ctx = context_for(settings, db)
        alice = await accounts.create_user(ctx, "alice", "alice-password")
        bob = await accounts.create_user(ctx, "bob", "bob-password")
        await posts.create_post(ctx, alice, NewPost("alice on the merger"))
        await posts.create_post(ctx, bob, NewPost("bob on the picnic"))
        async with db.session() as s:
            s.add(LegalHold(case_name="merger", account_id=alice.id, reason="", created_by="admin"))
        return (await get_instance(db)).public_key_pem
    finally:
        await db.dispose()


@pytest.fixture
def seeded(node_dir: Path) -> tuple[Path, str]:
    return node_dir, asyncio.run(_seed(node_dir))


def _sources(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("posts.jsonl").decode()


def test_export_an_account_a_case_and_a_query_then_verify(
    seeded: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node, public_pem = seeded
    d = ["--data-dir", str(node)]
    # When alice's account, the merger case and a query are exported
    for args, name in ((["--account", "alice"], "a.zip"), (["--hold", "merger"], "h.zip"), (["--query", "MERGER"], "q.zip")):
        code, out, err = run(capsys, "export", *args, "--out", str(tmp_path / name), *d)
        assert code == 0, err
        assert "signed with the instance key" in out
        # Then each holds alice's post and not bob's
        assert "alice on the merger" in _sources(tmp_path / name) and "picnic" not in _sources(tmp_path / name)
    # And verifies with the node's key from its database, or with the key as a PEM file
    code, out, err = run(capsys, "export", "verify", str(tmp_path / "a.zip"), *d)
    assert code == 0 and out.startswith("verified"), err
    code, out, err = run(capsys, "export", *d, "verify", str(tmp_path / "a.zip"))
    assert code == 0 and out.startswith("verified"), err
    pem = tmp_path / "node.pem"
    pem.write_text(public_pem)
    code, out, err = run(capsys, "export", "verify", str(tmp_path / "h.zip"), "--key", str(pem))
    assert code == 0, err
    # But not with another key
    other = tmp_path / "other.pem"
    other.write_text(generate_rsa_keypair()[1])
    code, _, err = run(capsys, "export", "verify", str(tmp_path / "q.zip"), "--key", str(other))
    assert_one_line_error(code, err)
    assert "signature" in err
    # Nor once one byte of it changed
    data = bytearray((tmp_path / "a.zip").read_bytes())
    data[40] ^= 1
    (tmp_path / "bad.zip").write_bytes(bytes(data))
    code, _, err = run(capsys, "export", "verify", str(tmp_path / "bad.zip"), *d)
    assert_one_line_error(code, err)
    assert "verification failed" in err


def test_since_and_until(seeded: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    node, _ = seeded
    # When the export ends before anything was posted, it holds no post
    code, _, err = run(capsys, "export", "--account", "alice", "--until", "2000-01-01", "--out", str(tmp_path / "old.zip"),
                       "--data-dir", str(node))
    assert code == 0, err
    assert _sources(tmp_path / "old.zip") == ""
    code, _, err = run(capsys, "export", "--account", "alice", "--since", "2000-01-01T00:00:00+02:00",
                       "--out", str(tmp_path / "all.zip"), "--data-dir", str(node))
    assert code == 0, err
    assert "merger" in _sources(tmp_path / "all.zip")


@pytest.mark.parametrize("args, reason", [
    (["--account", "nobody"], "no such local account"),
    (["--hold", "no-such-case"], "no legal hold"),
    (["--query", " "], "needs some text"),
    (["--account", "alice", "--since", "last week"], "not an ISO 8601"),
    (["--account", "alice", "--since", "2026-02-01", "--until", "2026-01-01"], "before --until"),
    (["--account", "alice", "--hold", "merger"], "not allowed with"),
    ([], "say what to export"),
])
def test_bad_exports_are_one_line_errors_and_write_nothing(
    seeded: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], reason: str
) -> None:
    node, _ = seeded
    code, _, err = run(capsys, "export", *args, "--out", str(tmp_path / "x.zip"), "--data-dir", str(node))
    assert_one_line_error(code, err)
    assert reason in err
    assert list(tmp_path.glob("*.zip")) == [] and list(tmp_path.glob(".*part")) == []


def test_an_existing_file_is_never_replaced(seeded: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    node, _ = seeded
    (tmp_path / "x.zip").write_text("evidence")
    code, _, err = run(capsys, "export", "--account", "alice", "--out", str(tmp_path / "x.zip"), "--data-dir", str(node))
    assert_one_line_error(code, err)
    assert "exists" in err and (tmp_path / "x.zip").read_text() == "evidence"
    code, _, err = run(capsys, "export", "--account", "alice", "--out", str(tmp_path / "no" / "x.zip"), "--data-dir", str(node))
    assert_one_line_error(code, err)
    assert "is not a directory" in err


def test_verify_errors(seeded: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                       monkeypatch: pytest.MonkeyPatch) -> None:
    node, _ = seeded
    monkeypatch.delenv("ATRIUM_DATA_DIR", raising=False)
    (tmp_path / "junk.zip").write_bytes(b"not a zip at all, not even close")
    (tmp_path / "junk.pem").write_text("-----BEGIN NOTHING-----")
    for args, reason in (
        (["verify", str(tmp_path / "junk.zip"), "--data-dir", str(node)], "verification failed"),
        (["verify", str(tmp_path / "missing.zip"), "--data-dir", str(node)], "cannot read"),
        (["verify", str(tmp_path / "junk.zip"), "--key", str(tmp_path / "junk.pem")], "not a PEM public key"),
        (["verify", str(tmp_path / "junk.zip"), "--key", str(tmp_path / "none.pem")], "cannot read the key"),
        (["verify", str(tmp_path / "junk.zip")], "give the key to trust"),
    ):
        code, _, err = run(capsys, "export", *args)
        assert_one_line_error(code, err)
        assert reason in err, err
