"""The `atrium` command-line contract, on SQLite and PostgreSQL, including its error cases."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from node import settings as settings_mod
from storage import migrate
from storage.db import Database
from tests.cli.conftest import assert_one_line_error, init_args, run
from tests.factory import free_port

ATRIUM = [sys.executable, "-m", "atrium"]


def test_init_creates_a_complete_node(tmp_path: Path, node_db_url: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    # When a node is created
    data_dir = tmp_path / "eng"
    code, out, err = run(capsys, *init_args(data_dir, node_db_url, domain="Eng.Acme.Test.:443"))
    # Then it has a settings file (canonical domain, every key documented), a safe policy,
    # a migrated database with its instance key pair, and a one-time token printed once
    assert code == 0, err
    settings = tomllib.loads((data_dir / "atrium.toml").read_text())
    assert settings["domain"] == "eng.acme.test" and settings["scheme"] == "https"
    policy = tomllib.loads((data_dir / "policy.toml").read_text())
    assert policy["mode"] == "allowlist" and "peers" not in policy
    tokens = re.findall(r"setup token[^:]*: (\S+)", out)
    assert len(tokens) == 1 and len(tokens[0]) >= 24
    loaded = settings_mod.load(data_dir)
    if node_db_url is None:
        assert (data_dir / "atrium.db").is_file()

    async def check() -> None:
        db = Database(loaded.resolved_database_url)
        try:
            assert await migrate.current_revision(db) == migrate.head_revision()
            from node.instance import get_instance

            instance = await get_instance(db)
            assert instance.domain == "eng.acme.test"
            assert "BEGIN PRIVATE KEY" in instance.private_key_pem
            assert instance.setup_token_hash and tokens[0] not in instance.setup_token_hash
        finally:
            await db.dispose()

    asyncio.run(check())


def test_init_refuses_to_overwrite_a_node(node_dir: Path, node_db_url: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    before = (node_dir / "atrium.toml").read_bytes()
    code, _, err = run(capsys, *init_args(node_dir, node_db_url))
    assert_one_line_error(code, err)
    assert "already exists" in err
    assert (node_dir / "atrium.toml").read_bytes() == before


def test_init_refuses_a_database_that_already_holds_a_node(
    node_dir: Path, node_db_url: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a second data dir pointed at the first node's database
    url = node_db_url or f"sqlite+aiosqlite:///{node_dir / 'atrium.db'}"
    other = tmp_path / "other"
    code, _, err = run(capsys, *init_args(other, url))
    assert_one_line_error(code, err)
    assert "already holds" in err
    assert not other.exists()  # nothing half-created
    # and the first node's database is intact
    code, _, err = run(capsys, "user", "list", "--data-dir", str(node_dir))
    assert code == 0, err


def test_init_with_unreachable_database_leaves_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "n"
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nope"
    code, _, err = run(capsys, *init_args(data_dir, url))
    assert_one_line_error(code, err)
    assert "database" in err
    assert not data_dir.exists()


def test_init_in_an_existing_directory_cleans_only_what_it_made(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "keep"
    data_dir.mkdir()
    (data_dir / "notes.txt").write_text("mine")
    code, _, err = run(capsys, *init_args(data_dir, "postgresql+asyncpg://postgres@127.0.0.1:1/x"))
    assert_one_line_error(code, err)
    assert sorted(os.listdir(data_dir)) == ["notes.txt"]


@pytest.mark.parametrize(
    "args, reason",
    [
        (["--domain", "not a domain"], "not a domain"),
        (["--domain", "ok.test", "--database-url", "mysql://x/y"], "unsupported database"),
        (["--domain", "ok.test", "--database-url", "::::"], "not a database URL"),
        (["--domain", "ok.test:99999"], "bad port"),
    ],
)
def test_init_rejects_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], reason: str) -> None:
    code, _, err = run(capsys, "init", "--data-dir", str(tmp_path / "n"), *args)
    assert_one_line_error(code, err)
    assert reason in err
    assert not (tmp_path / "n").exists()


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["bogus"], ["init"], ["user", "set-role", "alice", "overlord", "--data-dir", "x"], ["serve", "--port", "x"]):
        code, _, err = run(capsys, *argv)
        assert code == 2
        assert "Traceback" not in err and err.count("\natrium: ") == 0 and "atrium: " in err


def test_commands_without_a_node_say_so(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATRIUM_DATA_DIR", raising=False)
    for argv in (["user", "list"], ["serve"], ["migrate"]):
        code, _, err = run(capsys, *argv)
        assert_one_line_error(code, err)
        assert "--data-dir" in err
    code, _, err = run(capsys, "user", "list", "--data-dir", str(tmp_path))
    assert_one_line_error(code, err)
    assert "atrium init" in err


def test_user_lifecycle(node_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # ATRIUM_DATA_DIR stands in for --data-dir
    monkeypatch.setenv("ATRIUM_DATA_DIR", str(node_dir))
    code, out, err = run(capsys, "user", "create", "alice", "--password-stdin", "--admin", "--display-name", "Alice A.", stdin="alice-password\n")
    assert code == 0, err
    assert "admin alice" in out
    code, _, err = run(capsys, "user", "create", "bob", "--password", "bob-password")
    assert code == 0, err
    # duplicate and weak-password errors are one line
    code, _, err = run(capsys, "user", "create", "ALICE", "--password", "another-password")
    assert_one_line_error(code, err)
    assert "already exists" in err
    code, _, err = run(capsys, "user", "create", "weak", "--password", "short")
    assert_one_line_error(code, err)
    code, _, err = run(capsys, "user", "create", "nopw", "--password-stdin", stdin="")
    assert_one_line_error(code, err)
    # roles, disabling, passwords
    assert run(capsys, "user", "set-role", "bob", "moderator")[0] == 0
    assert run(capsys, "user", "disable", "bob")[0] == 0
    assert run(capsys, "user", "set-password", "alice", "--password-stdin", stdin="new-alice-password\n")[0] == 0
    code, _, err = run(capsys, "user", "disable", "nobody")
    assert_one_line_error(code, err)
    code, out, _ = run(capsys, "user", "list")
    rows = {line.split()[0]: line.split()[1:3] for line in out.strip().splitlines()[1:]}
    assert rows == {"alice": ["admin", "active"], "bob": ["moderator", "disabled"]}


def downgrade(url: str, revision: str) -> None:
    """Take the database at `url` back to `revision`."""

    async def back() -> None:
        db = Database(url)
        try:
            await migrate.downgrade(db, revision)
        finally:
            await db.dispose()

    asyncio.run(back())


def test_migrate_brings_an_old_database_to_head(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "migrate", "--data-dir", str(node_dir))
    assert code == 0 and "already at" in out
    url = settings_mod.load(node_dir).resolved_database_url

    downgrade(url, "base")
    # an out-of-date database is refused by commands that need the schema
    code, _, err = run(capsys, "user", "list", "--data-dir", str(node_dir))
    assert_one_line_error(code, err)
    assert "atrium" in err and ("migrate" in err or "init" in err)
    code, out, err = run(capsys, "migrate", "--data-dir", str(node_dir))
    assert code == 0, err
    assert f"-> {migrate.head_revision()}" in out


def test_migrate_refuses_to_leave_a_sqlite_database_with_broken_references(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a SQLite node one revision behind, holding a bookmark of a post that is not there
    # (written with foreign keys off, as a damaged or hand-edited database may be)
    data_dir = tmp_path / "node"
    assert run(capsys, *init_args(data_dir, None))[0] == 0
    url = settings_mod.load(data_dir).resolved_database_url

    downgrade(url, "0028")
    with sqlite3.connect(url.split("///", 1)[1]) as raw:
        raw.execute("INSERT INTO bookmarks (id, account_id, post_id, created_at) VALUES (5, 99, 10, '2026-01-01')")
    # When it is migrated
    code, _, err = run(capsys, "migrate", "--data-dir", str(data_dir))
    # Then a one-line error names the table, and the schema stays where it was
    assert_one_line_error(code, err)
    assert "bookmarks" in err and "unchanged" in err
    code, _, err = run(capsys, "user", "list", "--data-dir", str(data_dir))
    assert_one_line_error(code, err)
    assert "migrate" in err


def test_serve_answers_nodeinfo_and_health_then_stops_cleanly(tmp_path: Path, node_db_url: str | None) -> None:
    # Given a node with one user, served as a real process
    port = free_port()
    data_dir = tmp_path / "served"
    env = {**os.environ, "ATRIUM_DATA_DIR": str(data_dir)}
    init = [*ATRIUM, "init", "--domain", f"127.0.0.1:{port}", "--scheme", "http"]
    if node_db_url:
        init += ["--database-url", node_db_url]
    subprocess.run(init, check=True, env=env, capture_output=True)
    subprocess.run([*ATRIUM, "user", "create", "alice", "--password-stdin"], input=b"alice-password\n", check=True, env=env, capture_output=True)
    proc = subprocess.Popen([*ATRIUM, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "node did not come up"
                time.sleep(0.2)
        # When a peer reads NodeInfo
        with urllib.request.urlopen(f"{base}/.well-known/nodeinfo", timeout=5) as r:
            import json

            href = json.load(r)["links"][0]["href"]
        assert href == f"{base}/nodeinfo/2.1"
        with urllib.request.urlopen(href, timeout=5) as r:
            info = json.load(r)
            content_type = r.headers["Content-Type"]
        # Then it names the software, counts users and advertises the audiences
        assert "nodeinfo.diaspora.software/ns/schema/2.1" in content_type
        assert info["software"]["name"] == "atrium"
        assert info["usage"]["users"]["total"] == 1
        assert set(info["metadata"]["visibilities"]) == {"public", "unlisted", "followers", "direct", "organization", "local"}
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert f"http://127.0.0.1:{port}/" in out
    assert "Traceback" not in err
