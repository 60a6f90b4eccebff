"""Shared pieces: results, core pinning, databases, timing, machine facts."""

from __future__ import annotations

import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

POSTGRES_URL = os.environ.get("ATRIUM_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")

# The process under test runs on core 0; the load generator and sink on core 1.
CORE_UNDER_TEST = 0
CORE_LOAD = 1


@dataclass
class Result:
    name: str
    value: float | None
    unit: str
    ceiling: float | None
    higher_is_better: bool
    target: float | None = None
    met: bool | None = None
    notes: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.value is None or self.ceiling is None or self.value <= 0 or self.ceiling <= 0:
            return None
        return self.value / self.ceiling if self.higher_is_better else self.ceiling / self.value

    @property
    def short_of_target(self) -> str | None:
        """By how much a missed target was missed, in words; None when met or not applicable."""
        if self.met is not False or self.target is None or self.value is None:
            return None
        if self.higher_is_better:
            return f"{self.target - self.value:,.4g} {self.unit} short ({self.value / self.target:.1%} of the target)"
        return f"{self.value - self.target:,.4g} {self.unit} over ({self.value / self.target:.2f}× the target)"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("higher_is_better")
        ratio = self.ratio
        return {
            "name": self.name,
            "value": _round(self.value),
            "unit": self.unit,
            "ceiling": _round(self.ceiling),
            "ratio": _round(ratio, 4),
            "target": self.target,
            "met": self.met,
            "short_of_target": self.short_of_target,
            "notes": d["notes"],
            "params": d["params"],
        }


def _round(v: float | None, digits: int = 3) -> float | None:
    return None if v is None else round(float(v), digits)


def cores() -> int:
    return os.cpu_count() or 1


def pin_self(core: int) -> None:
    """Pin this process to `core` (the same as `taskset -c core`), when the machine has it."""
    if hasattr(os, "sched_setaffinity") and core < cores():
        os.sched_setaffinity(0, {core})


def taskset(core: int) -> list[str]:
    """The `taskset -c core` prefix for a child process, or nothing where it cannot apply."""
    import shutil

    if shutil.which("taskset") and core < cores():
        return ["taskset", "-c", str(core)]
    return []


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """`n` distinct free ports: all held open until every one is chosen (ports taken one at a
    time can repeat, the kernel handing out a just-released one again)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(values: list[float]) -> float:
    return statistics.median(values)


def rate_for(fn, seconds: float, *, min_calls: int = 20) -> float:  # type: ignore[no-untyped-def]
    """Calls per second of a synchronous `fn` on this core, over about `seconds`."""
    n = 0
    start = time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and n >= min_calls:
            return n / elapsed


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    versions = {}
    for dist in ("aiohttp", "sqlalchemy", "aiosqlite", "asyncpg", "cryptography", "pyld", "atrium"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    import sqlite3

    versions["sqlite"] = sqlite3.sqlite_version
    return {
        "cores": cores(),
        "cpu": cpu_name(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


# ---------------------------------------------------------------- databases

class Databases:
    """Fresh, migrated databases per benchmark, cleaned up at the end."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="atrium-bench-"))
        self.pg_names: list[str] = []
        self._n = 0

    async def make(self, engine: str):  # type: ignore[no-untyped-def]
        """A fresh database at the code's schema: migrated once per engine, then copied."""
        import shutil

        from storage import migrate
        from storage.db import Database

        self._n += 1
        if engine == "sqlite":
            template = self.tmp / "template.db"
            if not template.exists():
                db = Database(f"sqlite+aiosqlite:///{template}")
                await migrate.upgrade(db)
                await db.dispose()
            path = self.tmp / f"bench{self._n}.db"
            shutil.copyfile(template, path)
            return Database(f"sqlite+aiosqlite:///{path}")
        base = POSTGRES_URL.rsplit("/", 1)[0]
        template_name = f"atrium_bench_{os.getpid()}_template"
        if template_name not in self.pg_names:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{template_name}" WITH (FORCE)', f'CREATE DATABASE "{template_name}"')
            self.pg_names.append(template_name)
            db = Database(f"{base}/{template_name}")
            await migrate.upgrade(db)
            await db.dispose()
        name = f"atrium_bench_{os.getpid()}_{self._n}"
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
        self.pg_names.append(name)
        return Database(f"{base}/{name}")

    async def cleanup(self) -> None:
        import shutil

        for name in self.pg_names:
            try:
                await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception:  # noqa: BLE001 - best effort
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)


def _pg_dsn() -> str:
    return POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")


async def _pg_admin(*statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_pg_dsn(), timeout=10)
    try:
        for st in statements:
            await conn.execute(st)
    finally:
        await conn.close()


async def postgres_available() -> str | None:
    """None when the benchmark PostgreSQL answers, else why not."""
    import asyncpg

    try:
        conn = await asyncpg.connect(_pg_dsn(), timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}"
    await conn.close()
    return None
