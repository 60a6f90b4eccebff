"""The operations in docs/operations.md that can run here, run as documented: the compose
init script (install, then upgrade), SQLite backup and restore with the sqlite3 shell, and
PostgreSQL backup and restore with pg_dump / pg_restore.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from atrium.cli_db import switch_database_url
from node.settings import load
from storage import migrate
from storage.db import Database
from tests.conftest import drop_pg_database, recreate_pg_database, worker_tag

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "compose" / "init-node.sh"
BIN = Path(sys.executable).parent


def atrium(data_dir: Path, *argv: str, stdin: str | None = None) -> str:
    """`atrium ARGV --data-dir DATA_DIR` as an operator types it; fails the test on an error."""
    done = subprocess.run(
        [str(BIN / "atrium"), *argv, "--data-dir", str(data_dir)],
        input=stdin, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def users(data_dir: Path) -> list[str]:
    return [line.split()[0] for line in atrium(data_dir, "user", "list").splitlines()[1:]]


def create(data_dir: Path, name: str) -> None:
    atrium(data_dir, "user", "create", name, "--password-stdin", stdin=f"{name}-password\n")


def libpq(url: str) -> str:
    """The URL pg_dump and psql take: the same database without SQLAlchemy's driver name."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture
def pg_databases() -> Iterator[list[str]]:
    names = [f"atrium_ops_{worker_tag()}_{i}" for i in range(2)]
    urls = [recreate_pg_database(n) for n in names]
    yield urls
    for n in names:
        drop_pg_database(n)


def test_the_compose_init_script_installs_a_node_then_upgrades_it(tmp_path: Path, pg_databases: list[str]) -> None:
    data = tmp_path / "data"
    ca = tmp_path / "root.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")  # only its presence is awaited by the script
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "ATRIUM_DATA_DIR": str(data),
        "ATRIUM_DOMAIN": "eng.acme.example",
        "ATRIUM_DATABASE_URL": pg_databases[0],
        "ATRIUM_PRIVATE_NETWORKS": "172.28.0.0/16",
        "ATRIUM_CA_FILE": str(ca),
        "ATRIUM_POLICY_FILE": str(ROOT / "deploy" / "compose" / "eng" / "policy.toml"),
    }
    # When the script runs for the first time
    first = subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=180)
    assert first.returncode == 0, first.stderr + first.stdout
    # Then it made the node on PostgreSQL, reaching peers through the proxy with its CA
    settings = load(data)
    assert settings.database_url == pg_databases[0] and settings.domain == "eng.acme.example"
    assert settings.allowed_private_networks == ("172.28.0.0/16",) and settings.ca_file == str(ca)
    assert settings.trusted_proxies == ("172.28.0.0/16",)  # the proxy names each client
    assert "One-time setup token" in first.stdout and "valid" in first.stdout
    assert (data / "policy.toml").read_text() == Path(env["ATRIUM_POLICY_FILE"]).read_text()
    create(data, "alice")
    # When it runs again (a restart, or an upgrade with a new image)
    again = subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=180)
    # Then it keeps the node and its data, and only brings the schema forward
    assert again.returncode == 0, again.stderr + again.stdout
    assert "One-time setup token" not in again.stdout and "already at" in again.stdout
    assert users(data) == ["alice"]


@pytest.fixture
def sqlite_node(tmp_path: Path) -> Path:
    data = tmp_path / "eng"
    subprocess.run(
        [str(BIN / "atrium"), "init", "--data-dir", str(data), "--domain", "eng.acme.example"],
        check=True, capture_output=True, timeout=120,
    )
    create(data, "alice")
    return data


@pytest.mark.parametrize("command", [".backup '{dest}'", "VACUUM INTO '{dest}'"])
def test_a_sqlite_node_is_backed_up_and_restored_with_the_sqlite3_shell(
    sqlite_node: Path, tmp_path: Path, command: str
) -> None:
    db = sqlite_node / "atrium.db"
    backup = tmp_path / "backup.db"
    # Given a backup taken as docs/operations.md says (safe while the node runs: WAL)
    subprocess.run(["sqlite3", str(db), command.format(dest=backup)], check=True, timeout=60)
    # And an account made after it
    create(sqlite_node, "bob")
    assert users(sqlite_node) == ["alice", "bob"]
    # When the backup is put back in place (node stopped; the WAL files go with the old file)
    for leftover in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copy2(backup, db)
    # Then the node is as it was at the backup, and its audit chain is whole
    assert users(sqlite_node) == ["alice"]
    assert "already at" in atrium(sqlite_node, "migrate")
    atrium(sqlite_node, "audit", "verify")


def test_a_postgresql_node_is_backed_up_with_pg_dump_and_restored_with_pg_restore(
    tmp_path: Path, pg_databases: list[str]
) -> None:
    source, restored = pg_databases
    data = tmp_path / "eng"
    subprocess.run(
        [str(BIN / "atrium"), "init", "--data-dir", str(data), "--domain", "eng.acme.example", "--database-url", source],
        check=True, capture_output=True, timeout=120,
    )
    create(data, "alice")
    dump = tmp_path / "eng.dump"
    # Given a dump in pg_dump's custom format
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", libpq(source)], check=True, timeout=120)
    # When it is restored into an empty database and the node pointed at it
    subprocess.run(["pg_restore", "--no-owner", f"--dbname={libpq(restored)}", str(dump)], check=True, timeout=120)
    switch_database_url(data, restored)
    # Then the node reads the same accounts, at the same schema, with a whole audit chain
    assert users(data) == ["alice"]
    assert "already at" in atrium(data, "migrate")
    atrium(data, "audit", "verify")


def test_an_upgrade_is_refused_until_migrate_brings_the_schema_forward(sqlite_node: Path) -> None:
    # Given a node whose database is one schema revision behind the code (an older release's)
    settings = load(sqlite_node)
    previous = str(int(migrate.head_revision()) - 1).zfill(4)

    async def step_back() -> None:
        db = Database(settings.resolved_database_url)
        try:
            await migrate.downgrade(db, previous)
        finally:
            await db.dispose()

    asyncio.run(step_back())
    # Then the new code refuses it, naming the step that is missing
    refused = subprocess.run(
        [str(BIN / "atrium"), "user", "list", "--data-dir", str(sqlite_node)], capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == 1 and "atrium migrate" in refused.stderr
    # When the operator runs the documented upgrade step
    out = atrium(sqlite_node, "migrate")
    # Then the schema moves forward and the node's accounts are all there
    assert f"{previous} -> {migrate.head_revision()}" in out
    assert users(sqlite_node) == ["alice"]
