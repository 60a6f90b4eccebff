"""Background workers that run beside the web server: background loops (node/loops.py), each
with `run_once()` so tests can step it.

`JobWorker` claims jobs of the durable queue and dispatches each queue to its handler.
A handler that raises `RetryLater` is retried at the time it names; `PermanentFailure`, or an
expected failure that no retry can mend — an error carrying a 4xx status (`AtriumError`, the
base of them all: a contact the policy refused, an invalid document, ...) — fails the job at
once with its reason; any other exception is retried with exponential backoff until
`max_attempts`, then failed with its reason. The worker itself never dies of a handler's error,
nor of a failed cycle (the loop logs it and tries again, node/loops.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta

from node import audit, shared_limits
from node.group_commit import GroupCommit
from node.job_wake import JobListener, SqliteWatch
from node.loops import BackgroundLoop, first_line
from storage import batches, job_signals, jobs
from storage.db import Database
from storage.errors import DATABASE_AWAY, AtriumError
from storage.models import utcnow

log = logging.getLogger(__name__)

# A handler may return statements to commit together with its job's completion (one
# transaction for a whole batch of jobs, instead of one of its own per job).
Handler = Callable[[jobs.ClaimedJob], Awaitable[Sequence[jobs.Final] | None]]
Finished = tuple[jobs.ClaimedJob, Sequence[jobs.Final]]
CLAIM_FRACTION = 4  # the rolling pool claims again once a quarter of its slots are free
# Jobs of a concurrent queue (deliveries) in flight at once. The pool's size is the size of
# every group the deliveries share (claims, completions, audit entries, post and key reads):
# at 20 those groups held three or four deliveries each and the bookkeeping cost twice the
# signing; at 200 they hold about thirty (benchmarks: 180 -> 500 deliveries/s on one core).
# A peer never holds more than `per_target` of the slots.
DELIVERY_POOL = 200
# An idle worker sleeps until an enqueue wakes it (storage/job_signals.py); it still looks this
# often, for what no wake-up announces: a retry or delayed job coming due, a dead worker's
# lease running out, a job written by another process on SQLite, a notification lost while
# the LISTEN connection was down.
FALLBACK_POLL = 5.0


def _final(exc: BaseException) -> bool:
    """An expected failure that retrying cannot mend: an error of ours with a 4xx status (a
    refusal, an invalid document, something gone). 5xx ones (a peer failing, the database
    away) may pass, and are retried."""
    return isinstance(exc, AtriumError) and 400 <= exc.status < 500


class RetryLater(Exception):
    def __init__(self, reason: str, at: datetime | None = None) -> None:
        super().__init__(reason)
        self.at = at


class PermanentFailure(Exception):
    """The job can never succeed (a 4xx from a peer, a malformed payload)."""


def backoff(attempt: int, base: float = 30.0, cap: float = 6 * 3600.0) -> timedelta:
    """Exponential backoff with full jitter (attempt 1 → up to 30 s, doubling, capped)."""
    return timedelta(seconds=random.uniform(0.5, 1.0) * min(cap, base * 2 ** (attempt - 1)))


class JobWorker(BackgroundLoop):
    """The job queues' worker: `run_once()` handles a batch of each queue; started, it loops on
    `_cycle` at once while there is work, and when a cycle found nothing it sleeps until an
    enqueue wakes it — in this process, or (PostgreSQL) any process, through its `listener` —
    or `idle_sleep` seconds have passed."""

    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, Handler],
        *,
        batch: int = 20,
        max_attempts: int = 16,
        idle_sleep: float = 0.5,
        concurrent: frozenset[str] = frozenset(),
        per_target: int = 4,
        batched: frozenset[str] | None = None,
        pool: int = DELIVERY_POOL,
    ) -> None:
        from node.queues import INBOX  # node.queues imports this module

        self.db = db
        self.concurrent = concurrent
        # Queues whose jobs share one transaction per batch (`_in_batch`): the inbox's.
        self.batched = (frozenset({INBOX}) if batched is None else batched) - concurrent
        self.per_target = per_target
        self._flying: dict[str, dict[asyncio.Task[None], str | None]] = {q: {} for q in concurrent}
        self.handlers = dict(handlers)
        self.batch = batch
        self.pool = pool
        self.max_attempts = max_attempts
        self.idle_sleep = idle_sleep
        super().__init__("job worker", idle_sleep)
        # Concurrent jobs that finish together are marked done in one transaction.
        self._completions: GroupCommit[Finished, None] = GroupCommit(self._complete)
        # What wakes this process's workers for another process's jobs.
        self.listener: BackgroundLoop = (
            SqliteWatch(db, self._maybe_work) if db.is_sqlite else JobListener(db, list(self.handlers))
        )
        self._rested = False  # the last cycle found nothing, and the loop paused
        self._woken = False  # something woke the worker since its last cycle began
        self._unsubscribe: Callable[[], None] | None = None

    async def _begin(self) -> None:
        key = job_signals.database_key(self.db.engine.url)
        loop = asyncio.get_running_loop()

        def woken(_queue: str) -> None:
            # A commit in this loop wakes the worker directly; one in another thread's loop
            # (a CLI command run beside it, a test) hands the wake-up over to this loop.
            try:
                here = asyncio.get_running_loop() is loop
            except RuntimeError:
                here = False
            if here:
                self.wake()
            elif not loop.is_closed():
                loop.call_soon_threadsafe(self.wake)

        self._unsubscribe = job_signals.subscribe(key, self.handlers, woken)
        self.listener.start()

    async def run_once(self) -> int:
        """Claim and process one batch of each queue; return how many jobs were handled."""
        handled = 0
        for queue, handler in self.handlers.items():
            claimed = await jobs.claim(self.db, queue, limit=self.batch)
            if queue in self.concurrent:
                # One slow peer must not hold up the rest of the batch.
                await asyncio.gather(*(self._process(job, handler) for job in claimed))
            else:
                await self._ordered(queue, claimed, handler)
            handled += len(claimed)
        return handled

    async def _ordered(self, queue: str, claimed: list[jobs.ClaimedJob], handler: Handler) -> None:
        if queue in self.batched and claimed:
            await self._in_batch(claimed, handler)
        else:
            await self._in_order(claimed, handler)

    async def _in_batch(self, claimed: list[jobs.ClaimedJob], handler: Handler) -> None:
        """In arrival order, in one transaction (storage/batches.py): each job's handler in a
        savepoint of its own, so one that fails is rolled back alone and recorded as it would
        be alone; the jobs' completions commit with their effects, so a crash in the middle
        leaves nothing of the batch and it is handed out again whole. A job whose handler
        would contact another host is rolled back: what came before it commits, it is handled
        alone (the same handler, without a batch around it), and the rest follow in a batch
        of their own, so the order holds and no transaction waits for a peer."""
        rest = claimed
        while rest:
            put_off = await self._batch_until_deferred(rest, handler)
            if put_off is None:
                return
            await self._in_order([rest[put_off]], handler)
            rest = rest[put_off + 1 :]

    async def _batch_until_deferred(self, claimed: list[jobs.ClaimedJob], handler: Handler) -> int | None:
        """Handle `claimed` in one batch, up to the first job that must be handled alone (its
        index; None: every job was handled)."""
        done: list[Finished] = []
        put_off: int | None = None
        async with self.db.batch() as batch:

            async def in_savepoint(job: jobs.ClaimedJob) -> Sequence[jobs.Final] | None:
                try:
                    async with self.db.session():  # the job's savepoint
                        finals = await handler(job)
                except BaseException:
                    batch.drop()  # nothing of it happened: nobody is told of it
                    raise
                batch.keep()
                return finals

            for index, job in enumerate(claimed):
                try:
                    await self._process(job, in_savepoint, done)
                except batches.BatchDeferred:
                    put_off = index
                    break
            if done:
                await self._complete(done)
        return put_off

    async def _in_order(self, claimed: list[jobs.ClaimedJob], handler: Handler) -> None:
        """In arrival order (an Update must not be handled before its Create), marked done
        together at the end: one transaction per batch, not per job. A crash in between
        hands the batch out again when the leases end; handlers are idempotent."""
        done: list[Finished] = []
        try:
            for job in claimed:
                await self._process(job, handler, done)
        finally:
            if done:
                await self._complete(done)

    async def _complete(self, done: list[Finished]) -> list[None]:
        await jobs.complete_many(self.db, [job for job, _ in done], [f for _, finals in done for f in finals])
        return [None] * len(done)

    def wake(self) -> None:
        self._woken = True  # there is work: claim without asking first
        super().wake()

    def _maybe_work(self) -> None:
        """Something committed that may have been a job: end the pause, ask with one read."""
        super().wake()

    async def _step(self) -> int:
        quiet, self._woken = self._rested and not self._woken, False
        if quiet and not any(self._flying.values()):
            # The fallback poll of an idle worker: one read says whether any queue has a due
            # job, rather than a claim (a write transaction) of each queue.
            if not await jobs.due_queues(self.db, list(self.handlers)):
                return 0
        return await self._cycle()

    def _pause_after(self, outcome: object) -> float:
        self._rested = not outcome
        return 0.0 if outcome else self.every  # work was found: look for more at once

    async def _finish(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.listener.stop()
        in_flight = [task for flying in self._flying.values() for task in flying]
        await asyncio.gather(*in_flight, return_exceptions=True)
        await self.listener.join()

    async def _cycle(self) -> int:
        """One cycle of the running loop. Ordered queues go batch by batch as in `run_once`; a
        concurrent queue keeps up to `pool` jobs in flight and claims more as any finishes,
        so a peer that accepts connections and never answers holds only its own slots (at most
        `per_target` of them) until its timeout, never the deliveries to everyone else."""
        handled = 0
        for queue, handler in self.handlers.items():
            if queue not in self.concurrent:
                claimed = await jobs.claim(self.db, queue, limit=self.batch)
                await self._ordered(queue, claimed, handler)
                handled += len(claimed)
                continue
            flying = self._flying[queue]
            free = self.pool - len(flying)
            if free <= 0 or (flying and free < self.pool // CLAIM_FRACTION):
                # Claim when a share of the pool is free, not for every slot as it frees: a
                # claim is a write transaction, and one per delivery cost more than the rest.
                continue
            per_target = Counter(t for t in flying.values() if t is not None)
            busy = [t for t, n in per_target.items() if n >= self.per_target]
            # One claim fills every free slot, each peer capped at per_target in flight.
            claimed = await jobs.claim(self.db, queue, limit=free, exclude_targets=busy, per_target=self.per_target,
                                       in_flight=per_target)
            for job in claimed:
                task = asyncio.create_task(self._process_logged(job, handler))
                flying[task] = job.target
                task.add_done_callback(self._freed)
            handled += len(claimed)
        return handled

    async def _process_logged(self, job: jobs.ClaimedJob, handler: Handler) -> None:
        """`_process` as a task of its own: nobody awaits it, so it reports its own failure."""
        try:
            await self._process(job, handler)
        except DATABASE_AWAY as exc:
            # The outcome could not be recorded: the job is claimed again when its lease ends.
            log.warning("job %s on %s: the database is unavailable (%s)", job.id, job.queue, first_line(exc))
        except Exception:  # noqa: BLE001
            log.exception("job %s on %s could not be recorded", job.id, job.queue)

    async def _process(self, job: jobs.ClaimedJob, handler: Handler, done: list[Finished] | None = None) -> None:
        """Run one job; record a retry or failure now, its success now (through the group
        commit) or, given `done`, by adding it there for the caller to record."""
        try:
            finals = await handler(job)
        except RetryLater as exc:
            when = exc.at or utcnow() + backoff(job.attempts)
            await jobs.retry_at(self.db, job, when, str(exc))
            self._wake_at(when)
        except PermanentFailure as exc:
            await jobs.fail(self.db, job, str(exc))
        except Exception as exc:  # noqa: BLE001 - a handler bug must not kill the worker
            if _final(exc):
                log.info("job %s on %s ended: %s", job.id, job.queue, first_line(exc))
                await jobs.fail(self.db, job, f"{type(exc).__name__}: {exc}")
                return
            if isinstance(exc, DATABASE_AWAY):  # an outage, not a bug: no traceback
                log.warning("job %s on %s failed: %s", job.id, job.queue, first_line(exc))
            else:
                log.exception("job %s on %s failed", job.id, job.queue)
            reason = f"{type(exc).__name__}: {exc}"
            if job.attempts >= self.max_attempts:
                await jobs.fail(self.db, job, reason)
            else:
                await jobs.retry_at(self.db, job, utcnow() + backoff(job.attempts), reason)
        else:
            if done is not None:
                done.append((job, finals or ()))
            else:
                await self._completions.submit((job, finals or ()))

    def _wake_at(self, when: datetime) -> None:
        """A retry due before the fallback poll (a delivery waiting for an earlier one to its
        inbox: two seconds) wakes the worker when it is due, not at the next poll."""
        delay = (when - utcnow()).total_seconds()
        if self.running and delay < self.every:
            asyncio.get_running_loop().call_later(max(delay, 0.0), self.wake)

    def _freed(self, task: asyncio.Task[None]) -> None:
        for flying in self._flying.values():
            flying.pop(task, None)
        self.prompt()  # a slot is free: claim again without waiting out the pause


class MaintenanceWorker(BackgroundLoop):
    """Housekeeping: forget finished jobs after a while, and limits' rows that hold nothing back;
    apply the audit trail's retention."""

    def __init__(
        self,
        db: Database,
        *,
        keep_done: timedelta = timedelta(days=1),
        every: float = 3600,
        audit_retention_days: int = 0,
    ) -> None:
        super().__init__("maintenance", every)
        self.db = db
        self.keep_done = keep_done
        self.audit_retention_days = audit_retention_days

    async def run_once(self) -> int:
        removed = await jobs.purge_done(self.db, self.keep_done)
        removed += await shared_limits.prune(self.db)
        if self.audit_retention_days > 0:
            removed += await audit.purge_older_than(self.db, self.audit_retention_days)
        return removed
