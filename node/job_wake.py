"""The job workers' wake-up from other processes (node side of storage/job_signals.py).

PostgreSQL: a worker process keeps one connection LISTENing for the enqueues of every process
of the node (`atrium serve --role web` enqueues, `--role worker` handles). The loop reconnects
when the connection is lost (the database restarted) and then wakes the workers once, for any
job enqueued while nobody listened; meanwhile the workers' slow poll finds them.

SQLite has no NOTIFY, and one process owns the queue; but a command or script writing beside
it (`atrium` CLI, a test acting on a served node) should not wait out the slow poll. The
watch looks at the database files' stamp — a stat(), no query — a few times a second and
wakes the workers when anything committed; they then ask with one read whether a job is due.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from node.loops import BackgroundLoop
from storage import job_signals
from storage.db import Database

RECONNECT_CHECK = 5.0  # seconds between looks at a listening connection (a lost one says so at once)
WATCH_EVERY = 0.5  # seconds between stat()s of an SQLite database's files: the pickup of a job another process wrote


class JobListener(BackgroundLoop):
    """Keeps the LISTEN connection of one process's workers of `queues` open."""

    def __init__(self, db: Database, queues: Sequence[str], *, every: float = RECONNECT_CHECK) -> None:
        super().__init__("job listener", every)
        self.db = db
        self.queues = list(queues)
        self.key = job_signals.database_key(db.engine.url)
        self.listening: job_signals.Listening | None = None

    async def run_once(self) -> bool:
        """Connect and LISTEN unless already listening; True when it (re)connected."""
        if self.listening is not None and not self.listening.closed:
            return False
        await self._close()
        self.listening = await job_signals.Listening.open(self.db.url, self.key, self.wake)
        for queue in self.queues:  # notifications sent while nobody listened are lost
            job_signals.woken(self.key, queue)
        return True

    async def _close(self) -> None:
        listening, self.listening = self.listening, None
        if listening is not None:
            await listening.close()

    async def _finish(self) -> None:
        await self._close()


class SqliteWatch(BackgroundLoop):
    """Calls `changed()` when an SQLite database's files change (anything committed, by any
    process: what it was, the worker asks the database with one read)."""

    def __init__(self, db: Database, changed: Callable[[], None], *, every: float = WATCH_EVERY) -> None:
        super().__init__("job watch", every)
        self.db = db
        self.changed = changed
        self._seen = db.change_stamp()

    async def run_once(self) -> bool:
        """True when something committed since the last look."""
        stamp = self.db.change_stamp()
        if stamp == self._seen:
            return False
        self._seen = stamp
        self.changed()
        return True
