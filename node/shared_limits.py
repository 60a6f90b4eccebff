"""Limits whose state is in the database, so they hold across every process of a node:
posting (a token bucket per account) and failed sign-ins (a growing back-off per login and
client address, and per client address).

Both are a few requests a minute, so one short transaction each is affordable: the row is
locked (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's writers take turns), read, changed and
written back. Rows are keyed by a kind and a hash, so no login or address is stored in the
clear; `prune` drops rows that no longer hold anything back (node/workers.py, hourly).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database, insert_ignoring_conflicts
from storage.errors import RateLimited
from storage.models import LimitState

KEEP_SECONDS = 86_400.0  # no limit here needs a row older than a day (see each limit's numbers)


def row_key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    return f"{kind}:{digest}"


async def _locked(s: AsyncSession, keys: Sequence[str], level: float, now: float) -> dict[str, LimitState]:
    """The rows of `keys`, made (at `level`) where missing, locked until the transaction ends.
    Sorted, so two transactions locking the same keys never wait on each other in a circle."""
    ordered = sorted(set(keys))
    await s.execute(insert_ignoring_conflicts(s, LimitState).values(
        [{"key": k, "level": level, "stamp": now} for k in ordered]))
    rows = await s.scalars(select(LimitState).where(LimitState.key.in_(ordered)).order_by(LimitState.key)
                           .with_for_update())
    return {r.key: r for r in rows}


@dataclass
class SharedBuckets:
    """Token buckets in the database: `rate` tokens a second up to `burst` per key, for the
    whole node. rate 0 turns the limit off."""

    rate: float
    burst: int
    what: str = "requests"
    clock: Callable[[], float] = time.time

    async def take(self, db: Database, key: str) -> None:
        """Spend one token for `key`, or raise RateLimited saying when the next one comes."""
        if self.rate <= 0 or self.burst <= 0:
            return
        now = self.clock()
        async with db.session() as s:
            row = (await _locked(s, [row_key("bucket", key)], float(self.burst), now))[row_key("bucket", key)]
            tokens = min(float(self.burst), row.level + max(0.0, now - row.stamp) * self.rate)
            if tokens < 1.0:
                raise RateLimited(f"too many {self.what} for {key}; try again later", (1.0 - tokens) / self.rate)
            row.level, row.stamp = tokens - 1.0, now


@dataclass(frozen=True)
class Backoff:
    """How one kind of sign-in key is slowed: `free` failures at once, then each further one
    doubles the wait before the next try, from `first` seconds up to `cap`; failures are
    forgotten at `leak` a second. Guessing from one key thus never runs faster than `leak`
    a second in the long run, and a burst of it meets waits that grow."""

    free: int
    leak: float
    first: float = 15.0
    cap: float = 900.0

    def level(self, row: LimitState, now: float) -> float:
        return max(0.0, row.level - max(0.0, now - row.stamp) * self.leak)

    def wait(self, row: LimitState, now: float) -> float:
        """Seconds before `row`'s key may try again (0: now). `row.stamp` is its last failure.
        A failure counts until it has leaked away whole (the level, rounded up)."""
        over = math.ceil(self.level(row, now) - 1e-9) - self.free
        if over < 0:
            return 0.0
        return max(0.0, row.stamp + min(self.cap, self.first * 2.0 ** min(over, 32)) - now)


@dataclass
class SigninLimit:
    """Failed sign-ins, counted per (login, client address) and per client address, never
    per login alone: a wrong password from one address never stops the right one from
    another, so nobody can lock a colleague out, while guessing from any one address stays
    slow. A try is counted as a failure before the password is checked (two tries at once
    cannot both slip through), and a success takes it back: it clears its (login, address)
    key and returns the address's one failure.

    Numbers: per (login, address) 5 at once, then 15 s, 30 s, … up to 15 min between tries,
    one failure forgotten every 10 minutes (about 6 guesses an hour at length); per address
    (an office behind one NAT shares it) 30 at once, then the same waits, one forgotten every
    2 minutes (about 30 guesses an hour over every login)."""

    per_login: Backoff = Backoff(free=5, leak=1 / 600)
    per_address: Backoff = Backoff(free=30, leak=1 / 120)
    clock: Callable[[], float] = time.time

    def _keys(self, login: str | None, address: str) -> list[tuple[str, Backoff]]:
        keys = [(row_key("signin-address", address), self.per_address)]
        if login is not None:
            keys.append((row_key("signin", login.strip().lower(), address), self.per_login))
        return keys

    async def attempt(self, db: Database, login: str | None, address: str) -> None:
        """Count a try by `login` (None: a try with no login, e.g. a setup token) from
        `address` as a failure, or raise RateLimited without counting it while it must wait."""
        now = self.clock()
        keys = self._keys(login, address)
        async with db.session() as s:
            rows = await _locked(s, [k for k, _ in keys], 0.0, now)
            wait = max(rule.wait(rows[k], now) for k, rule in keys)
            if wait > 0:
                raise RateLimited("too many failed sign-ins from this address; try again later", wait)
            for k, rule in keys:
                rows[k].level, rows[k].stamp = rule.level(rows[k], now) + 1.0, now

    async def succeeded(self, db: Database, login: str | None, address: str) -> None:
        """The try was right: clear its (login, address) key, return the address's failure."""
        keys = self._keys(login, address)
        async with db.session() as s:
            address_row = await s.get(LimitState, keys[0][0], with_for_update=True)
            if address_row is not None:
                address_row.level = max(0.0, address_row.level - 1.0)  # as if never counted
            if len(keys) > 1:
                await s.execute(delete(LimitState).where(LimitState.key == keys[1][0]))


async def prune(db: Database, now: float | None = None) -> int:
    """Forget rows untouched for a day. A back-off has forgotten its failures by then (the
    slowest forgets 6 an hour, and its waits keep it near its free 5); a bucket at the
    default numbers is full again within an hour. Only a bucket slower than its burst a day
    comes back full a little early: at most one burst a day more, never a lockout."""
    cutoff = (time.time() if now is None else now) - KEEP_SECONDS
    async with db.session() as s:
        result = await s.execute(delete(LimitState).where(LimitState.stamp < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
