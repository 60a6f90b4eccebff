"""Sign-in rate limiting: failures counted per account name and per client address.

Written here rather than taken from a library: it is a dozen lines over a dict and needs no
shared store (one process serves a node's web UI; a restart forgetting counts is harmless).
"""

from __future__ import annotations

import time
from collections import deque


class FailureLimiter:
    def __init__(self, max_failures: int, window_seconds: float) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] > self.window:
            q.popleft()
        if not q:
            del self._failures[key]
            return deque()
        return q

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 when it may now."""
        now = time.monotonic()
        q = self._recent(key, now)
        if len(q) < self.max_failures:
            return 0
        return max(1, int(self.window - (now - q[0])) + 1)

    def fail(self, key: str) -> None:
        now = time.monotonic()
        self._recent(key, now)
        self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > 100_000:  # a flood of distinct keys must not grow memory forever
            self._failures.clear()

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)
