"""A loop that polls a row every second (the policy sync) asks the database only when it may
have changed: on SQLite a stat() of its files stands in for the query while nothing commits."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from node import shared_settings
from node.policy import PolicyStore
from storage.db import Database, WhenChanged


class Looks:
    """A look at the database that counts how often it ran."""

    def __init__(self) -> None:
        self.n = 0

    async def __call__(self) -> bool:
        self.n += 1
        return True


async def test_a_look_is_skipped_while_nothing_commits_and_runs_after_a_commit(db: Database) -> None:
    # Given a first look at the database
    look, gate = Looks(), WhenChanged(db)
    assert await gate(look, False) is True
    # When nothing commits, and the loop looks again
    again = await gate(look, False)
    # Then SQLite skips it (PostgreSQL asks the server every time)
    assert (again, look.n) == ((False, 1) if db.is_sqlite else (True, 2))
    # When another process commits (here: the policy published by `atrium policy apply`)
    await shared_settings.publish(db, shared_settings.POLICY, 'mode = "open"\n', source="another process")
    # Then the next look runs
    assert await gate(look, False) is True


async def test_a_skipped_look_is_taken_anyway_after_the_backstop(db: Database) -> None:
    # Given a gate whose backstop is over at once
    look, gate = Looks(), WhenChanged(db, backstop=0.0)
    # When it is asked twice with nothing committed in between
    await gate(look, False)
    await gate(look, False)
    # Then both looks ran
    assert look.n == 2


async def test_an_idle_policy_sync_on_sqlite_adopts_a_change_written_by_another_connection(
    db: Database, tmp_path: Path
) -> None:
    # Given a process's policy store in sync, its next sync skipping the query
    store = PolicyStore(tmp_path / "policy.toml", db)
    await shared_settings.publish(db, shared_settings.POLICY, 'mode = "allowlist"\n', source="init")
    await store.start()
    assert await store.sync() is False
    # When another program changes the shared policy (on SQLite through a connection of its own)
    if db.is_sqlite:
        path = make_url(db.url).database
        assert path
        with sqlite3.connect(path) as conn:
            conn.execute(
                "UPDATE node_settings SET value = ?, version = version + 1 WHERE key = 'policy'", ('mode = "open"\n',)
            )
    else:
        await shared_settings.publish(db, shared_settings.POLICY, 'mode = "open"\n', source="another process")
    # Then the next sync adopts it
    assert await store.sync() is True
    assert store.policy.mode == "open"
