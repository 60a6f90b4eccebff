"""The policy every process of a node shares (node_settings['policy']), on both engines.

Each `PolicyStore` stands for one process on its own machine: its own policy.toml (or none),
one database. `sync()` is what each process runs every second."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from atrium.server import agree_on_identity
from node import shared_settings
from node.policy import PolicyStore
from node.settings import Settings
from storage.db import Database
from storage.errors import AtriumError
from storage.models import AuditEntry

PARTNER = 'mode = "allowlist"\n[peers."partner.example"]\ntrust = "partner"\n'
BLOCKED = 'mode = "allowlist"\n'


def policy_file(tmp_path: Path, name: str, text: str | None) -> Path:
    path = tmp_path / name / "policy.toml"
    path.parent.mkdir()
    if text is not None:
        path.write_text(text)
    return path


def touch_later(path: Path, text: str) -> None:
    """Save `text` with an mtime past every earlier one, however coarse the file system's clock."""
    path.write_text(text)
    later = time.time_ns() + 2_000_000_000
    os.utime(path, ns=(later, later))


def trust(store: PolicyStore) -> str:
    return store.policy.trust_of("partner.example")[0]


async def test_an_edit_on_one_machine_reaches_a_process_without_the_file(db: Database, tmp_path: Path) -> None:
    # Given a web process whose policy.toml admits the partner, and a worker with no policy.toml
    web = PolicyStore(policy_file(tmp_path, "web", PARTNER), db)
    worker = PolicyStore(policy_file(tmp_path, "worker", None), db)
    await web.start()
    await worker.start()
    # Then both enforce the web's file, as version 1
    assert (trust(web), web.version, trust(worker), worker.version) == ("partner", 1, "partner", 1)
    # When the operator blocks the partner in the web machine's file
    touch_later(web.path, BLOCKED)
    # Then the web process enforces it at once, and the worker at its next sync
    assert trust(web) == "blocked"
    assert await web.sync() is False  # published; nothing new to adopt here
    assert trust(worker) == "partner"
    assert await worker.sync() is True
    assert (trust(worker), worker.version, web.version) == ("blocked", 2, 2)
    # And the change is in the audit trail
    async with db.reader() as s:
        reasons = (await s.execute(select(AuditEntry.reason).where(AuditEntry.rule == "policy").order_by(AuditEntry.id))).scalars().all()
    assert len(reasons) == 2 and str(web.path) in reasons[1]


async def test_a_stale_file_does_not_undo_a_newer_shared_policy(db: Database, tmp_path: Path) -> None:
    # Given a file saved before the shared policy was changed from elsewhere
    stale = policy_file(tmp_path, "old", PARTNER)
    os.utime(stale, ns=(1_000_000_000, 1_000_000_000))
    await shared_settings.publish(db, shared_settings.POLICY, BLOCKED, source="atrium policy apply")
    # When a process starts with it
    store = PolicyStore(stale, db)
    await store.start()
    # Then the shared policy is in force and stays so
    assert (trust(store), store.version) == ("blocked", 1)
    assert await shared_settings.version(db, shared_settings.POLICY) == 1


async def test_a_file_edited_while_the_node_was_stopped_wins_at_start(db: Database, tmp_path: Path) -> None:
    await shared_settings.publish(db, shared_settings.POLICY, BLOCKED, source="earlier")
    path = policy_file(tmp_path, "node", None)
    touch_later(path, PARTNER)
    store = PolicyStore(path, db)
    await store.start()
    assert (trust(store), store.version) == ("partner", 2)


async def test_an_invalid_shared_policy_is_refused_and_the_previous_one_stays(db: Database, tmp_path: Path) -> None:
    store = PolicyStore(policy_file(tmp_path, "node", PARTNER), db)
    await store.start()
    # When something writes a broken policy to the database directly
    await shared_settings.publish(db, shared_settings.POLICY, 'mode = "closed"\n', source="a bad tool")
    # Then the process keeps the policy in force and says why
    assert await store.sync() is False
    assert trust(store) == "partner"
    assert store.problems and "mode must be one of" in store.problems[0].message


async def test_the_same_policy_published_twice_is_one_version(db: Database) -> None:
    first, changed = await shared_settings.publish(db, shared_settings.POLICY, PARTNER, source="a")
    again, changed_again = await shared_settings.publish(db, shared_settings.POLICY, PARTNER, source="b")
    assert (first.version, changed, again.version, changed_again) == (1, True, 1, False)


async def test_a_process_of_another_domain_is_refused(db: Database, tmp_path: Path) -> None:
    # Given the node's first process recorded its identity
    await agree_on_identity(db, Settings(data_dir=tmp_path, domain="eng.acme.test"))
    await agree_on_identity(db, Settings(data_dir=tmp_path, domain="eng.acme.test"))  # the same: fine
    # When a process with a copied atrium.toml naming another domain starts on the same database
    with pytest.raises(AtriumError, match="belongs to the node https://eng.acme.test"):
        await agree_on_identity(db, Settings(data_dir=tmp_path, domain="sales.acme.test"))
