"""Group commit: many concurrent callers, one transaction.

A durable 202 at thousands of requests a second cannot afford a transaction (and on SQLite a
turn at the single write lock) per request. Callers `submit` an item and wait; the first one
in becomes the leader and writes everything queued so far in one `write_batch` call, then hands
the lead to the first caller still waiting, so no caller flushes more than one batch beyond its
own. No background task: nothing to start, nothing left behind when a loop or app closes, and a
caller only hears its outcome after the batch holding its item has committed.

A batch that fails fails every caller in it with the same exception; nothing of it was written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from storage import batches
from storage.errors import AtriumError

T = TypeVar("T")
R = TypeVar("R")
_LEAD = object()  # "your turn to flush", set on a waiter's future


class BatchAbandoned(AtriumError):
    """The caller leading the batch went away (cancelled) before it committed."""

    status = 503


@dataclass
class _Waiter(Generic[T]):
    item: T
    future: asyncio.Future[object] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupCommit(Generic[T, R]):
    def __init__(self, write_batch: Callable[[list[T]], Awaitable[list[R]]], max_batch: int = 500) -> None:
        self.write_batch = write_batch
        self.max_batch = max_batch
        self._pending: list[_Waiter[T]] = []
        self._busy = False
        self.batches = 0  # how many batches were written (for the metrics and the tests)

    async def submit(self, item: T) -> R:
        if batches.held() is not None:
            # The caller's batch is already the group (storage/batches.py): written in it. Waiting
            # for another caller's flush could wait on the write lock the batch itself holds.
            return (await self.write_batch([item]))[0]
        me: _Waiter[T] = _Waiter(item)
        self._pending.append(me)
        if self._busy:
            try:
                result = await me.future
            except asyncio.CancelledError:
                if me.future.done() and not me.future.cancelled() and me.future.result() is _LEAD:
                    self._pending.remove(me)  # handed the lead as we were cancelled: pass it on
                    self._hand_off()
                raise
            if result is not _LEAD:
                return result  # type: ignore[return-value]
        self._busy = True
        # We are first in line: either nobody was writing, or the last leader handed over.
        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
        try:
            results = await self.write_batch([w.item for w in batch])
        except asyncio.CancelledError:
            self._settle(batch, me, BatchAbandoned("the request leading this write went away; try again"))
            raise
        except BaseException as exc:
            self._settle(batch, me, exc)
            raise
        self.batches += 1
        mine: R | None = None
        for waiter, result in zip(batch, results, strict=True):
            if waiter is me:
                mine = result
            elif not waiter.future.done():
                waiter.future.set_result(result)
        self._hand_off()
        return mine  # type: ignore[return-value]

    def _settle(self, batch: list[_Waiter[T]], me: _Waiter[T], exc: BaseException) -> None:
        for waiter in batch:
            if waiter is not me and not waiter.future.done():
                waiter.future.set_exception(exc)
        self._hand_off()

    def _hand_off(self) -> None:
        # Callers that went away while waiting are dropped: nobody hears about their item.
        while self._pending and self._pending[0].future.done():
            self._pending.pop(0)
        if self._pending:
            self._pending[0].future.set_result(_LEAD)
        else:
            self._busy = False
