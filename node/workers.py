"""Background workers that run beside the web server: each has `run_once()` so tests can step it.

`JobWorker` claims jobs of the durable queue and dispatches each queue to its handler.
A handler that raises `RetryLater` is retried at the time it names; any other exception is
retried with exponential backoff until `max_attempts`, then failed with its reason. The
worker itself never dies of a handler's error.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from node import audit
from storage import jobs
from storage.db import Database
from storage.models import utcnow

log = logging.getLogger(__name__)

Handler = Callable[[jobs.ClaimedJob], Awaitable[None]]


class RetryLater(Exception):
    def __init__(self, reason: str, at: datetime | None = None) -> None:
        super().__init__(reason)
        self.at = at


class PermanentFailure(Exception):
    """The job can never succeed (a 4xx from a peer, a malformed payload)."""


def backoff(attempt: int, base: float = 30.0, cap: float = 6 * 3600.0) -> timedelta:
    """Exponential backoff with full jitter (attempt 1 → up to 30 s, doubling, capped)."""
    return timedelta(seconds=random.uniform(0.5, 1.0) * min(cap, base * 2 ** (attempt - 1)))


class JobWorker:
    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, Handler],
        *,
        batch: int = 20,
        max_attempts: int = 16,
        idle_sleep: float = 0.5,
        concurrent: frozenset[str] = frozenset(),
    ) -> None:
        self.db = db
        self.concurrent = concurrent
        self.handlers = dict(handlers)
        self.batch = batch
        self.max_attempts = max_attempts
        self.idle_sleep = idle_sleep
        self._stop = asyncio.Event()

    async def run_once(self) -> int:
        """Claim and process one batch of each queue; return how many jobs were handled."""
        handled = 0
        for queue, handler in self.handlers.items():
            claimed = await jobs.claim(self.db, queue, limit=self.batch)
            if queue in self.concurrent:
                # One slow peer must not hold up the rest of the batch.
                await asyncio.gather(*(self._process(job, handler) for job in claimed))
            else:
                # In arrival order: an Update must not be handled before its Create.
                for job in claimed:
                    await self._process(job, handler)
            handled += len(claimed)
        return handled

    async def _process(self, job: jobs.ClaimedJob, handler: Handler) -> None:
        try:
            await handler(job)
        except RetryLater as exc:
            when = exc.at or utcnow() + backoff(job.attempts)
            await jobs.retry_at(self.db, job, when, str(exc))
        except PermanentFailure as exc:
            await jobs.fail(self.db, job, str(exc))
        except Exception as exc:  # noqa: BLE001 - a handler bug must not kill the worker
            log.exception("job %s on %s failed", job.id, job.queue)
            reason = f"{type(exc).__name__}: {exc}"
            if job.attempts >= self.max_attempts:
                await jobs.fail(self.db, job, reason)
            else:
                await jobs.retry_at(self.db, job, utcnow() + backoff(job.attempts), reason)
        else:
            await jobs.complete(self.db, job)

    async def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                handled = await self.run_once()
            except Exception:  # noqa: BLE001 - e.g. the database is briefly away: wait, resume
                log.exception("job worker cycle failed; retrying")
                handled = 0
            if not handled:
                try:
                    await asyncio.wait_for(self._stop.wait(), self.idle_sleep)
                except TimeoutError:
                    pass

    def stop(self) -> None:
        self._stop.set()


class MaintenanceWorker:
    """Housekeeping: forget finished jobs after a while; apply the audit trail's retention."""

    def __init__(
        self,
        db: Database,
        *,
        keep_done: timedelta = timedelta(days=1),
        every: float = 3600,
        audit_retention_days: int = 0,
    ) -> None:
        self.db = db
        self.keep_done = keep_done
        self.audit_retention_days = audit_retention_days
        self.every = every
        self._stop = asyncio.Event()

    async def run_once(self) -> int:
        removed = await jobs.purge_done(self.db, self.keep_done)
        if self.audit_retention_days > 0:
            removed += await audit.purge_older_than(self.db, self.audit_retention_days)
        return removed

    async def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                await self.run_once()
            except Exception:  # noqa: BLE001
                log.exception("maintenance cycle failed")
            try:
                await asyncio.wait_for(self._stop.wait(), self.every)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self._stop.set()
