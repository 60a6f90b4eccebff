"""The one shape of a node process's background loops: `start()`, `stop()`, `run_once()`.

Every loop of a process — the job workers and housekeeping (node/workers.py), the policy and
instance-key syncs (node/policy.py, node/keys_rotation.py), the serving heartbeat
(node/serving.py) and the streaming feed (node/stream_feed.py) — is a `BackgroundLoop`: one
iteration is `run_once()` (what a test calls to step it), and the loop owns, once for all of
them, the pause between iterations, the prompt stop, and what a failed iteration does: it is
logged (one line for a database that is away, a traceback for anything else) and the loop
goes on after a pause that grows with each failure in a row. No loop dies of an iteration.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager

from storage.errors import DATABASE_AWAY

log = logging.getLogger(__name__)

MAX_FAILURE_PAUSE = 5.0  # seconds: the longest a failing loop waits between tries (unless `every` is longer)


def first_line(exc: BaseException) -> str:
    """An exception in one short line, for logs that must not be a wall of text."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def failure_pause(every: float, failures: int) -> float:
    """The pause after `failures` failed iterations in a row: `every`, doubled per failure,
    never beyond MAX_FAILURE_PAUSE (or `every` itself, for a loop slower than that)."""
    return min(max(every, MAX_FAILURE_PAUSE), every * 2.0 ** min(failures, 10))


class BackgroundLoop(ABC):
    """A loop that calls `run_once()` every `every` seconds from `start()` until `stop()`."""

    # Wait `every` before the first iteration (a loop whose first step its owner already took).
    delay_first = False

    def __init__(self, name: str, every: float) -> None:
        self.name = name
        self.every = every
        self._stop = asyncio.Event()
        self._prompt = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._bell: asyncio.Future[None] | None = None  # the pause under way

    @abstractmethod
    async def run_once(self) -> object:
        """One iteration: what a test calls to step the loop."""

    async def _step(self) -> object:
        """What each turn of the running loop does; `run_once()` unless a loop steps otherwise."""
        return await self.run_once()

    def _pause_after(self, outcome: object) -> float:
        """Seconds to wait after an iteration that returned `outcome`; 0 goes on at once."""
        return self.every

    def _keep_going(self) -> bool:
        """Whether there is still work for the loop (a loop may end of itself, not only on `stop()`)."""
        return True

    async def _prompted(self) -> None:
        """Returns when something asks for the next iteration before its pause is over (a
        `wake()` during an iteration counts: it is cleared only as the next one begins)."""
        await self._prompt.wait()

    async def _begin(self) -> None:
        """Run as the loop starts, before its first iteration."""
        return None

    async def _finish(self) -> None:
        """Run once the loop has stopped, before its task ends."""
        return None

    def wake(self) -> None:
        """End the current pause now (or skip the next one): there is work."""
        self._prompt.set()
        self._ring()

    def _ring(self) -> None:
        """End the pause under way, if any (a wake-up, a stop, or its time is over)."""
        if self._bell is not None and not self._bell.done():
            self._bell.set_result(None)

    def prompt(self) -> None:
        """`wake()` (the older name, for what frees work inside the loop)."""
        self.wake()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Run the loop as a task of the current event loop (again, if it had ended)."""
        if self.running:
            return
        self._stop.clear()
        self._task = asyncio.create_task(self.run_forever(), name=self.name)

    def stop(self) -> None:
        """Ask the loop to stop: it does not begin another iteration and ends its pause now."""
        self._stop.set()
        self._ring()

    async def join(self) -> None:
        """Wait until a started loop has ended (after `stop()`, or of itself)."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def run_forever(self) -> None:
        """The loop itself (`start()` runs it as a task; a caller may also await it)."""
        failures = 0
        outcome: object = None
        await self._begin()
        if self.delay_first:
            await self._idle(self.every)
        while not self._stop.is_set() and self._keep_going():
            self._prompt.clear()  # a wake() from here on ends the pause after this iteration
            try:
                outcome = await self._step()
            except DATABASE_AWAY as exc:
                # The database restarts or is locked: one line per try, no traceback.
                failures += 1
                log.warning("%s: the database is unavailable (%s); retrying", self.name, first_line(exc))
            except Exception:  # noqa: BLE001 - a failed iteration must not end the loop
                failures += 1
                log.exception("%s: an iteration failed; retrying", self.name)
            else:
                if failures:
                    log.warning("%s: resumed after %d failed iterations", self.name, failures)
                failures = 0
            pause = failure_pause(self.every, failures) if failures else self._pause_after(outcome)
            if pause > 0 and not self._stop.is_set():
                await self._idle(pause)
        await self._finish()

    async def _idle(self, pause: float) -> None:
        """Wait `pause` seconds, less if asked to stop or woken."""
        if type(self)._prompted is BackgroundLoop._prompted:
            # One future and one timer: an idle node pauses a few times a second, and two
            # waiting tasks per pause cost more than the rest of a quiet loop's turn.
            if self._stop.is_set() or self._prompt.is_set():
                return
            loop = asyncio.get_running_loop()
            self._bell = bell = loop.create_future()
            timer = loop.call_later(pause, self._ring)
            try:
                await bell
            finally:
                timer.cancel()
                self._bell = None
            return
        waits = [asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(self._prompted())]
        try:
            await asyncio.wait(waits, timeout=pause, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
            await asyncio.gather(*waits, return_exceptions=True)


class Periodic(BackgroundLoop):
    """A loop whose iteration is one call: `step()` every `every` seconds."""

    def __init__(
        self, name: str, step: Callable[[], Awaitable[object]], every: float, *, delay_first: bool = False
    ) -> None:
        super().__init__(name, every)
        self._call = step
        self.delay_first = delay_first

    async def run_once(self) -> object:
        return await self._call()


async def stop_all(loops: Iterable[BackgroundLoop]) -> None:
    """Stop every loop, then wait for each to end (they wind down together, not one by one)."""
    loops = list(loops)
    for one in loops:
        one.stop()
    for one in loops:
        await one.join()


@asynccontextmanager
async def running(*loops: BackgroundLoop) -> AsyncIterator[None]:
    """Start the loops for the block, and stop them (and wait for them) when it ends."""
    for one in loops:
        one.start()
    try:
        yield
    finally:
        await stop_all(loops)
