"""A soak run: several fake peers sign Create(Note)s into a real node's shared inbox, all at
once, for a while; then every activity the node accepted must be stored exactly once, and the
node's resident memory after warm-up must not have grown by 10 % or more.

    python -m tests.faults.soak --seconds 600 [--peers 4] [--database-url postgresql://…]

(the test, tests/faults/test_soak.py, runs the same code for ATRIUM_SOAK_SECONDS, default 30).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.faults.harness import Traffic, fault_peers, start_node, stored_uris
from tests.federation.nodes import NodeProcess, eventually

WARM_UP_SHARE = 0.3  # the first part of the run, while caches and pools fill
PAUSE = 0.1  # between one peer's requests: below the node's default inbox rate limit per peer


@dataclass(frozen=True)
class SoakResult:
    seconds: float
    sent: int
    accepted: int
    stored: int
    duplicates: int
    answers: dict[int, int]
    rss_after_warm_up_kb: int
    rss_at_end_kb: int

    @property
    def rss_growth(self) -> float:
        return self.rss_at_end_kb / self.rss_after_warm_up_kb - 1

    def summary(self) -> str:
        return (
            f"{self.seconds:.0f} s: sent {self.sent}, accepted {self.accepted}, stored {self.stored} "
            f"({self.duplicates} duplicates), answers {self.answers}; resident memory "
            f"{self.rss_after_warm_up_kb} kB after warm-up, {self.rss_at_end_kb} kB at the end "
            f"({self.rss_growth:+.1%})"
        )


def rss_kb(node: NodeProcess) -> int:
    """The node process's resident set size, as the kernel reports it."""
    assert node.proc is not None
    for line in Path(f"/proc/{node.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/PID/status")


async def soak(root: Path, seconds: float, peers: int = 4, database_url: str | None = None) -> SoakResult:
    async with fault_peers(peers) as fakes:
        node = start_node(root, fakes, database_url)
        traffic = Traffic(node, fakes, pause=PAUSE)
        try:
            traffic.start()
            await asyncio.sleep(seconds * WARM_UP_SHARE)
            warm = rss_kb(node)
            await asyncio.sleep(seconds * (1 - WARM_UP_SHARE))
            await traffic.stop()

            async def drained() -> bool:
                return set(await stored_uris(node)) >= traffic.accepted

            await eventually(drained, timeout=max(120.0, seconds), what="every accepted note stored")
            end = rss_kb(node)
            uris = await stored_uris(node)
            answers: dict[int, int] = {}
            for status in traffic.answers.values():
                answers[status] = answers.get(status, 0) + 1
            return SoakResult(seconds, len(traffic.answers), len(traffic.accepted), len(set(uris)),
                              len(uris) - len(set(uris)), answers, warm, end)
        finally:
            await traffic.stop()
            node.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--peers", type=int, default=4)
    parser.add_argument("--database-url", help="PostgreSQL database for the node (default: its own SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="atrium-soak-") as root:
        result = asyncio.run(soak(Path(root), args.seconds, args.peers, args.database_url))
    print(result.summary())
    ok = result.accepted == result.stored and result.duplicates == 0 and result.rss_growth < 0.10
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
