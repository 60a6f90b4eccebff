"""A batch: one transaction in which a worker handles many jobs, each in a savepoint of its own.

While a task holds a batch (`Database.batch()`), every unit of work that task opens —
`Database.session()` and `Database.reader()`, by whatever code calls them — runs inside the
batch's one transaction: a `session()` is a savepoint (rolled back alone when it fails) and a
`reader()` is the batch's session itself, so it sees what the batch wrote so far. The code that
handles a job is therefore the same whether it runs alone or in a batch: a batch of one is the
same path, with the transaction around it being its own.

Two things must not happen inside a held batch, and are refused here rather than left to chance:
- talking to another host (a fetch, a delivery): the batch would hold its transaction, and on
  SQLite the node's one write lock, for as long as the peer takes. `deferred()` raises
  `BatchDeferred`, which the batch's owner catches for that job: its savepoint is rolled back
  and the job is handled again after the batch commits, alone, where it may fetch.
- telling anyone of a change before it is committed: `after_commit(callback)` keeps the callback
  until the batch commits (dropped with a job whose savepoint is rolled back).

The batch belongs to the task that opened it: a task that task starts (it inherits the context
variable) does not join it, since one session cannot serve two tasks at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


class BatchDeferred(BaseException):
    """This job cannot be handled inside a batch (it would contact another host): the batch's
    owner rolls its savepoint back and handles it alone after the batch commits.

    A BaseException, like CancelledError, so that no handler's `except Exception` (a fetch
    "that failed" is often answered with a fallback) mistakes it for a failure of its own."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@dataclass
class Batch:
    session: Any  # the AsyncSession of the batch's transaction
    owner: asyncio.Task[Any] | None
    committed: list[Callable[[], None]] = field(default_factory=list)  # kept by jobs that succeeded
    pending: list[Callable[[], None]] = field(default_factory=list)  # the current job's
    # Rows read once for the whole batch (the inbox's actors): set-based reads by memo. Emptied
    # with a job rolled back, and by a job that may change what is kept here (`forget`).
    memo: dict[object, Any] = field(default_factory=dict)

    def keep(self) -> None:
        """The current job succeeded: what it asked to run after the commit is kept."""
        self.committed.extend(self.pending)
        self.pending.clear()

    def drop(self) -> None:
        """The current job's savepoint was rolled back: nothing of it is announced, and nothing
        it read is trusted further."""
        self.pending.clear()
        self.memo.clear()


_current: ContextVar[Batch | None] = ContextVar("atrium_batch", default=None)


def held() -> Batch | None:
    """The batch the running task holds, if any."""
    batch = _current.get()
    if batch is None:
        return None
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return None
    return batch if batch.owner is task else None


def enter(batch: Batch) -> object:
    return _current.set(batch)


def leave(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def memo() -> dict[object, Any] | None:
    """The held batch's memo of rows read (None outside a batch: nothing is kept)."""
    batch = held()
    return batch.memo if batch is not None else None


def forget() -> None:
    """What the held batch read may have changed: read it again."""
    batch = held()
    if batch is not None:
        batch.memo.clear()


def deferred(why: str) -> None:
    """Called before any contact with another host: inside a held batch, the job is put off."""
    if held() is not None:
        raise BatchDeferred(why)


def after_commit(callback: Callable[[], None]) -> bool:
    """Run `callback` once the held batch commits; False (the caller runs it now) outside one."""
    batch = held()
    if batch is None:
        return False
    batch.pending.append(callback)
    return True
