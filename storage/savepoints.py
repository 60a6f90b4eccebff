"""Savepoints sent to the driver as they are, not compiled as SQLAlchemy statements.

A batch of inbound activities is one transaction with a savepoint per activity, and the
activity's own units of work nest one more (storage/batches.py): four savepoint statements per
stored note. SQLAlchemy builds each as an expression (`SavepointClause`) and compiles it afresh
every time — the name changes with every savepoint, so its statement cache never helps — then
runs it through the whole execution path: about a tenth of processing an inbound activity on
the benchmark, for three words of SQL. The dialect's three savepoint hooks are replaced here,
on this node's engines only, with the text handed straight to the DBAPI cursor (SQLAlchemy's
own names, quoted by its own preparer). Nothing else changes: the Connection and the Session
still track the savepoints, and the statements run on the same connection in the same order.

Written here because it is a few lines against SQLAlchemy's documented dialect hooks
(`Dialect.do_savepoint`, `do_release_savepoint`, `do_rollback_to_savepoint`), which no library
offers to replace.
"""

from __future__ import annotations

import types
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


def _sending(verb: str) -> Any:
    """A dialect hook that sends `<verb> <savepoint name>` straight to the DBAPI cursor."""

    def hook(dialect: Any, connection: Connection, name: str) -> None:
        cursor = connection.connection.cursor()  # the pooled DBAPI connection's own cursor
        try:
            cursor.execute(f"{verb} {dialect.identifier_preparer.format_savepoint(None, name)}")
        finally:
            cursor.close()

    return hook


def send_directly(engine: AsyncEngine) -> None:
    """This engine's savepoints go to the driver as text (its dialect instance only)."""
    dialect = engine.sync_engine.dialect
    dialect.do_savepoint = types.MethodType(_sending("SAVEPOINT"), dialect)  # type: ignore[method-assign]
    dialect.do_release_savepoint = types.MethodType(_sending("RELEASE SAVEPOINT"), dialect)  # type: ignore[method-assign]
    dialect.do_rollback_to_savepoint = types.MethodType(_sending("ROLLBACK TO SAVEPOINT"), dialect)  # type: ignore[method-assign]
