"""The processes serving a node's HTTP, as the database knows them: how the inbox's
in-process limits learn how many shares the node's budget is split into (node/ratelimit.py).

Each `atrium serve --role web` (or `all`) process keeps a row in `serving_processes`, refreshed
every HEARTBEAT seconds and removed when it stops. Those refreshed within STALE seconds are
alive; each process counts them at every heartbeat and holds 1/N of every inbox limit. A
process that dies without a word is out of the count within STALE seconds; until then its
share is unused (the node refuses a little early, never admits more).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import bindparam, delete, func, select, update

from node.loops import Periodic
from storage.db import Database
from storage.models import ServingProcess, utcnow

HEARTBEAT = 4.0  # seconds between a process's refreshes of its row (and its count of the others)
STALE = 3 * HEARTBEAT  # a row not refreshed for this long is a process gone
FORGET = timedelta(hours=1)  # rows of processes gone this long are deleted

_TOUCH = update(ServingProcess).where(ServingProcess.id == bindparam("process")).values(seen_at=bindparam("now"))
_FORGET = delete(ServingProcess).where(ServingProcess.seen_at < bindparam("before"))
_ALIVE = select(func.count()).select_from(ServingProcess).where(ServingProcess.seen_at >= bindparam("since"))


class ServingProcesses:
    """This process's row, and the count of the live ones handed to `on_count`."""

    def __init__(self, db: Database, role: str, address: str, on_count: Callable[[int], None]) -> None:
        self.db = db
        self.id = secrets.token_hex(16)
        self.role = role
        self.address = address
        self.on_count = on_count
        self.count = 1

    async def join(self) -> int:
        """Register this process and learn how many serve the node (itself included)."""
        async with self.db.session() as s:
            # Rows of processes long gone are forgotten here, not at every beat: the count
            # ignores them anyway, and an idle node's beats are most of what it costs.
            await (await s.connection()).execute(_FORGET, {"before": utcnow() - FORGET})
            s.add(ServingProcess(id=self.id, role=self.role, address=self.address[:255], pid=os.getpid()))
        return await self._recount()

    async def beat(self) -> int:
        """Refresh this process's row (again, if something removed it) and recount, in one
        transaction of statements built once: an idle node's beats, each an ORM write and a
        second session, were most of what idling cost (benchmarks/idle.py)."""
        now = utcnow()
        async with self.db.session() as s:
            conn = await s.connection()
            if not (await conn.execute(_TOUCH, {"process": self.id, "now": now})).rowcount:
                s.add(ServingProcess(id=self.id, role=self.role, address=self.address[:255], pid=os.getpid()))
                await s.flush()
            alive = (await conn.execute(_ALIVE, {"since": now - timedelta(seconds=STALE)})).scalar()
        return self._counted(alive)

    async def _recount(self) -> int:
        async with self.db.reader() as s:
            alive = (await (await s.connection()).execute(_ALIVE, {"since": utcnow() - timedelta(seconds=STALE)})).scalar()
        return self._counted(alive)

    def _counted(self, alive: int | None) -> int:
        self.count = max(1, int(alive or 0))
        self.on_count(self.count)
        return self.count

    def heartbeat(self, every: float = HEARTBEAT) -> Periodic:
        """The loop that `beat()`s every `every` seconds, starting one beat after `join()`; a
        failed beat is logged and the last count kept (the others see this process as gone
        after STALE and take up its share)."""
        return Periodic("serving heartbeat", self.beat, every, delay_first=True)

    async def leave(self) -> None:
        """Remove this process's row, so the others take up its share at their next beat."""
        async with self.db.session() as s:
            await s.execute(delete(ServingProcess).where(ServingProcess.id == self.id))
