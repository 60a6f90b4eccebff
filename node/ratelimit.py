"""Token buckets: per peer domain on the inbox, per account on posting.

Hand-written because the job is a dozen lines and must run inside the request without a
store: each process keeps its own buckets (a node with several processes admits a little
more than one process would, which is still a bound). The table of buckets is capped, so a
flood of made-up domains or key ids cannot grow it without end.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from node.settings import Settings
from storage.errors import AtriumError

MAX_TRACKED = 10_000  # buckets kept; the least recently used is forgotten beyond this


class RateLimited(AtriumError):
    """429 with the seconds to wait in Retry-After (RFC 9110 §10.2.3, an integer)."""

    status = 429

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.retry_after = max(1, math.ceil(retry_after))

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


@dataclass
class TokenBuckets:
    """`rate` tokens a second up to `burst`; a key starts full. rate 0 turns the limit off."""

    rate: float
    burst: int
    what: str = "requests"
    clock: Callable[[], float] = time.monotonic
    max_tracked: int = MAX_TRACKED
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def take(self, key: str) -> None:
        """Spend one token for `key`, or raise RateLimited saying when the next one comes."""
        if self.rate <= 0 or self.burst <= 0:
            return
        now = self.clock()
        tokens, then = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            raise RateLimited(f"too many {self.what} from {key}; slow down", (1.0 - tokens) / self.rate)
        self._buckets[key] = (tokens - 1.0, now)
        while len(self._buckets) > self.max_tracked:
            self._buckets.popitem(last=False)

    def check(self, key: str) -> None:
        """Raise RateLimited if `key` has no token left, without spending one."""
        if self.rate <= 0 or self.burst <= 0 or key not in self._buckets:
            return
        tokens, then = self._buckets[key]
        tokens = min(float(self.burst), tokens + (self.clock() - then) * self.rate)
        if tokens < 1.0:
            raise RateLimited(f"too many {self.what} for {key}; try again later", (1.0 - tokens) / self.rate)


@dataclass
class Limits:
    """The node's rate limits. `Limits()` limits nothing: a context made without settings
    (benchmarks, tests, the CLI) is unthrottled; `atrium serve` uses `from_settings`, whose
    defaults (`limits.*` in docs/configuration.md) apply to every real node. The one exception
    is failed sign-ins, limited everywhere: every way of signing in (web UI, OAuth password
    grant, the authorize form) goes through node.accounts.authenticate, which counts them per
    login name, so password guessing is bounded whichever door it knocks on."""

    inbox_per_peer_per_s: float = 0.0
    inbox_per_peer_burst: int = 0
    statuses_per_account_per_hour: float = 0.0
    statuses_per_account_burst: int = 0
    signin_failures_per_15_min: int = 10
    clock: Callable[[], float] = time.monotonic
    inbox: TokenBuckets = field(init=False)
    statuses: TokenBuckets = field(init=False)
    signin_failures: TokenBuckets = field(init=False)

    def __post_init__(self) -> None:
        self.inbox = TokenBuckets(self.inbox_per_peer_per_s, self.inbox_per_peer_burst, "deliveries", self.clock)
        self.statuses = TokenBuckets(self.statuses_per_account_per_hour / 3600.0, self.statuses_per_account_burst,
                                     "posts", self.clock)
        self.signin_failures = TokenBuckets(self.signin_failures_per_15_min / 900.0, self.signin_failures_per_15_min,
                                            "failed sign-ins", self.clock)

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(float(settings.inbox_per_peer_per_s), settings.inbox_per_peer_burst,
                   float(settings.statuses_per_account_per_hour), settings.statuses_per_account_burst)
