"""Child processes of the benchmarks (sink, load generator, Fedify): started pinned to the
load core, ready when they print `ready`, always stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import CORE_LOAD, ROOT, taskset


class Child:
    def __init__(self, argv: list[str], *, core: int = CORE_LOAD, log: Path | None = None, python: bool = True,
                 ready_timeout: float = 60.0, cwd: Path | None = None) -> None:
        cmd = taskset(core) + ([sys.executable] if python else []) + argv
        self.log = log
        self.proc = subprocess.Popen(
            cmd, cwd=str(cwd or ROOT), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(log, "ab") if log else subprocess.DEVNULL,
            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True,
        )
        deadline = time.monotonic() + ready_timeout
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{argv[:3]} exited before it was ready (see {log})")
            if line.strip() == "ready":
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{argv[:3]} was not ready in {ready_timeout} s")

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def readline(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"child exited (see {self.log})")
        return line

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
