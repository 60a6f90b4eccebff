"""vs Fedify: the same load generator, the same pre-signed Creates, against Fedify 2.3.6's
inbox (interop/fedify/server.mjs, Node 22, pinned to the core under test) and against
Atrium's (the `inbound_accepted_per_s_*` run). `vs_fedify_inbound_ratio` = Atrium's accepted/s ÷
Fedify's accepted/s (>1: Atrium accepts faster). Fedify's inbox verifies the signature and
the digest, parses the JSON-LD and runs its listener (which records the activity in memory)
before it answers: a comparable amount of work to Atrium's accept path, without a database.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from pathlib import Path

from benchmarks.common import CORE_UNDER_TEST, ROOT, Databases, Result, free_port, taskset
from benchmarks.inbound import blast

FEDIFY_DIR = ROOT / "interop" / "fedify"


def _node() -> Path:
    done = subprocess.run([str(FEDIFY_DIR / "setup")], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"could not install the Fedify peer: {done.stderr.strip() or done.stdout.strip()}")
    return Path(done.stdout.strip().splitlines()[-1])


async def run(dbs: Databases, quick: bool, out: Path, results: list[Result]) -> list[Result]:
    del dbs
    atrium = next((r for r in results if r.name == "inbound_accepted_per_s_sqlite"), None)
    if atrium is None or not atrium.value:
        raise RuntimeError("vs_fedify needs inbound_accepted_per_s_sqlite from the same run")
    n = atrium.params.get("activities", 20)
    node = await asyncio.get_running_loop().run_in_executor(None, _node)
    port = free_port()
    log = open(out / "fedify.log", "ab")
    proc = subprocess.Popen(
        taskset(CORE_UNDER_TEST) + [str(node), "server.mjs", str(port)], cwd=FEDIFY_DIR,
        env={"PATH": "/usr/bin:/bin", "FEDIFY_USER": "fedi", "FEDIFY_LOG_LEVEL": os.environ.get("FEDIFY_LOG_LEVEL", "error")},
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Fedify server did not start (see fedify.log)") from None
                await asyncio.sleep(0.1)

        async def nothing(actor: str) -> None:
            del actor

        report, _ = await blast(f"http://127.0.0.1:{port}/inbox", n, out, nothing)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    accepted = sum(v for k, v in report["statuses"].items() if k.startswith("2"))
    fedify_rate = accepted / report["elapsed"]
    if accepted != n:
        raise RuntimeError(f"Fedify accepted {accepted} of {n} ({report['statuses']}; see fedify.log)")
    ratio = atrium.value / fedify_rate
    return [Result("vs_fedify_inbound_ratio", ratio, "x", 1.0, True, target=8.0, met=ratio >= 8.0,
                   notes="Atrium inbound accepted/s (SQLite) ÷ Fedify 2.3.6 inbox accepted/s, same load generator and requests",
                   params={"atrium_per_s": round(atrium.value, 1), "fedify_per_s": round(fedify_rate, 1), "activities": n,
                           "fedify_p99_ms": round(report["p99_ms"], 2)})]
