"""The event loop `atrium serve` runs on: uvloop where it is installed (a dependency on Linux and
macOS), asyncio's own elsewhere. The benchmarks run the node under test on the same loop.

What it gives, measured by the inbound benchmark on this machine kind (3,000 signed Creates,
the node pinned to one core, the same run with and without): about 14 % more activities
processed per second; the accept rate moved within its run-to-run noise.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop, or None (asyncio's default) where uvloop is not installed or the
    environment says `ATRIUM_EVENT_LOOP=asyncio`."""
    if os.environ.get("ATRIUM_EVENT_LOOP") == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:  # Windows: uvloop has no build there
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
