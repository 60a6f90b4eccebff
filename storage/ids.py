"""Time-ordered 64-bit ids, so that "newer" is "larger" and cursors page by id (as Mastodon's)."""

from __future__ import annotations

import os
import threading
import time

_lock = threading.Lock()
_last_ms = 0
_seq = 0
# 16 low bits: a per-process random start plus a counter, so ids made in the same
# millisecond by different processes (web and worker roles) do not collide in practice.
_salt = int.from_bytes(os.urandom(2), "big")


def new_id(at_ms: int | None = None) -> int:
    """A new id: milliseconds since the epoch in the high bits, a sequence in the low 16."""
    global _last_ms, _seq
    with _lock:
        now = at_ms if at_ms is not None else int(time.time() * 1000)
        if at_ms is None:
            if now <= _last_ms:
                _seq += 1
                if _seq >= 0x10000:
                    # Sequence exhausted within one millisecond: borrow the next one.
                    _last_ms += 1
                    _seq = 0
                now = _last_ms
            else:
                _last_ms = now
                _seq = 0
            low = (_salt + _seq) & 0xFFFF
        else:
            low = int.from_bytes(os.urandom(2), "big")
        return (now << 16) | low


def id_floor(at_ms: int) -> int:
    """The smallest id that could have been made at `at_ms` (for time-based cursors)."""
    return at_ms << 16


MAX_ID = 2**63 - 1  # ids are BIGINT


def parse_id(raw: object) -> int | None:
    """An id from request text: ASCII digits within BIGINT, else None. (`str.isdigit` also
    accepts digits such as "²" that `int` refuses, and 20 digits overflow the column.)"""
    text = str(raw)
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if value <= MAX_ID else None
