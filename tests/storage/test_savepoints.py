"""Savepoints go to the driver as text (storage/savepoints.py) and still do what savepoints do:
a unit of work that fails inside a batch is undone alone, on both engines."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.sql.elements import ReleaseSavepointClause, RollbackToSavepointClause, SavepointClause

from storage.db import Database
from storage.models import Tombstone


async def test_a_failed_unit_of_work_in_a_batch_is_undone_alone_without_compiling_a_savepoint(db: Database) -> None:
    # Given SQLAlchemy's statement path watched for savepoint expressions
    compiled: list[Any] = []

    def seen(_conn: Any, clause: Any, *_args: Any) -> None:
        if isinstance(clause, SavepointClause | ReleaseSavepointClause | RollbackToSavepointClause):
            compiled.append(clause)

    event.listen(db.engine.sync_engine, "before_execute", seen)
    try:
        # When a batch holds three units of work, the second of which fails
        async with db.batch():
            async with db.session() as s:
                s.add(Tombstone(uri="https://peer.example/notes/1", actor_uri="https://peer.example/users/a"))
            with pytest.raises(RuntimeError):
                async with db.session() as s:
                    s.add(Tombstone(uri="https://peer.example/notes/2", actor_uri="https://peer.example/users/a"))
                    await s.flush()
                    raise RuntimeError("this one fails")
            async with db.session() as s:
                async with db.session() as inner:  # nested once more, as a handler's own work is
                    inner.add(Tombstone(uri="https://peer.example/notes/3", actor_uri="https://peer.example/users/a"))
    finally:
        event.remove(db.engine.sync_engine, "before_execute", seen)
    # Then the first and third are kept and the second is gone
    async with db.reader() as s:
        kept = set((await s.scalars(select(Tombstone.uri))).all())
    assert kept == {"https://peer.example/notes/1", "https://peer.example/notes/3"}
    # And no savepoint went through SQLAlchemy's compile-and-execute path
    assert compiled == []
