"""Inbound: the node's own inbox route (web.app → node.inbound.receive) in this process on the
core under test, fed by the load generator process on the other core with pre-signed Creates;
then the `inbox` queue drained by the node's JobWorker (node.inbox.handle_inbox).

- `inbound_accepted_per_s`: 202s per second at the inbox (verify, origin checks, policy,
  dedupe, queue).
- `inbound_processed_per_s`: queued activities handled per second by the worker (a Create of a
  followed actor: stored, sanitised, put on the follower's home timeline).
- `inbound_p99_ms`: the 99th-percentile request latency the load generator saw in the accepted
  run (closed loop, 16 concurrent connections).
- `rss_mb_after_inbound`: this process's resident memory (the node under test, /proc/self/status
  VmRSS, after a garbage collection) once the first run is accepted and processed; and
  `rss_growth_pct`: how much it grew from there over ROUNDS-1 more runs of the same load, each
  round's reading in `params` so that growth that levels off can be told from growth that does
  not. The SQLite run's entries carry the issue's names; PostgreSQL's end in `_postgresql`.

Ceiling, same run, same core: verify (signature + digest, key already loaded) + parse (JSON,
JSON-LD normalise, activity parse) of one such request, per second.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from pathlib import Path

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from benchmarks.common import Databases, Result, free_port, rate_for
from benchmarks.procs import Child
from federation.addresses import AddressPolicy
from federation.parsing import parse_activity
from federation.signatures import load_public_key_pem, sign_request, verify_request
from node import contact, remote
from node.context import NodeContext
from node.inbound import INBOX, parse_body
from node.inbox import handle_inbox
from node.policy import Policy
from node.ratelimit import Limits
from node.workers import JobWorker
from storage.models import Account, Follow, InboxEntry
from web.app import create_app

CONCURRENCY = 16
ROUNDS = 4  # runs of the same load for the memory reading (2 with --quick)
ACCEPTED_TARGET = 4000.0  # per core (issue #19)
ACCEPTED_P99_TARGET_MS = 10.0
PROCESSED_TARGET = {"sqlite": 2000.0, "postgresql": 1500.0}


def rss_mb() -> float:
    """This process's resident set size, in MiB (after a collection, so garbage awaiting one
    does not count as growth)."""
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def verify_parse_rate(seconds: float) -> float:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = load_public_key_pem(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())
    actor = "http://127.0.0.1:9/users/load"
    note = {"id": f"{actor}/notes/1", "type": "Note", "attributedTo": actor,
            "content": "<p>load 1: " + "some words " * 20 + "</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [f"{actor}/followers"],
            "published": "2026-11-25T10:00:00Z"}
    body = json.dumps({"@context": "https://www.w3.org/ns/activitystreams", "id": f"{note['id']}/activity",
                       "type": "Create", "actor": actor, "to": note["to"], "cc": note["cc"], "object": note}).encode()
    url = "http://127.0.0.1:8/inbox"
    headers = sign_request("POST", url, {"Content-Type": "application/activity+json"}, body, f"{actor}#main-key", key)

    def once() -> None:
        verify_request("POST", "/inbox", headers, body, pub)
        parse_activity(parse_body(body))

    return rate_for(once, seconds)


class InboundNode:
    def __init__(self, dbs: Databases, engine: str) -> None:
        self.dbs, self.engine = dbs, engine

    async def __aenter__(self) -> InboundNode:
        self.db = await self.dbs.make(self.engine)
        self.port = free_port()
        policy = Policy(mode="open", default_trust="public")
        # The inbox limits on, as on a served node, with budgets this load never reaches: the
        # figures include their cost (both are in-process buckets, node/ratelimit.py).
        limits = Limits(inbox_per_address_per_s=1e9, inbox_per_address_burst=10**9,
                        inbox_per_peer_per_s=1e9, inbox_per_peer_burst=10**9)
        self.ctx = NodeContext(db=self.db, domain=f"127.0.0.1:{self.port}", scheme="http", policy=lambda: policy,
                               limits=limits)
        contact.open_gate(self.ctx, AddressPolicy(allow_loopback=True, allow_http=True))
        self.runner = web.AppRunner(create_app(self.ctx), access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port, backlog=1024).start()
        self.inbox = f"http://127.0.0.1:{self.port}/inbox"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()
        await contact.close_gate(self.ctx)
        await self.db.dispose()

    async def follow(self, actor: str) -> None:
        """A local user follows the load generator's actor, so its posts are wanted here (each
        round's generator is a new actor; the reader is made once)."""
        remote_actor = await remote.actor_by_uri(self.ctx, actor)
        async with self.db.session() as s:
            local = await s.scalar(select(Account).where(Account.username == "reader", Account.domain.is_(None)))
            if local is None:
                local = Account(username="reader", domain=None)
                s.add(local)
                await s.flush()
            s.add(Follow(follower_id=local.id, target_id=remote_actor.id, state="accepted",
                         uri=f"{self.ctx.base_url}/follows/{remote_actor.id}"))

    async def process(self) -> tuple[int, float]:
        worker = JobWorker(self.db, {INBOX: lambda job: handle_inbox(self.ctx, job)}, idle_sleep=0.2)
        total = 0
        start = time.perf_counter()
        while n := await worker.run_once():
            total += n
        return total, time.perf_counter() - start

    async def outcomes(self) -> dict[str, int]:
        async with self.db.reader() as s:
            rows = (await s.execute(select(InboxEntry.outcome, func.count()).group_by(InboxEntry.outcome))).all()
        return {k: v for k, v in rows}


async def blast(target: str, n: int, out: Path, prepare, after=None) -> tuple[dict, object]:  # type: ignore[no-untyped-def]
    """Start the load generator toward `target`, let `prepare(actor)` run, send, run `after()`
    while the generator (the peer) still answers; its report and what `after` returned."""
    port = free_port()
    gen = Child(["-m", "benchmarks.loadgen", "--port", str(port), "--target", target, "--n", str(n),
                 "--concurrency", str(CONCURRENCY)], log=out / "loadgen.log", ready_timeout=600)
    try:
        actor = json.loads(gen.readline())["actor"]
        await prepare(actor)
        gen.send("go")
        report = json.loads(await asyncio.get_running_loop().run_in_executor(None, gen.readline))
        later = await after() if after else None
    finally:
        gen.stop()
    return report, later


async def run(dbs: Databases, engine: str, quick: bool, checks: list[dict], out: Path) -> list[Result]:
    n = 20 if quick else 10_000
    rounds = 2 if quick else ROUNDS
    ceiling = verify_parse_rate(0.5 if quick else 3.0)
    sfx = f"_{engine}"
    async with InboundNode(dbs, engine) as node:
        report, (processed, p_elapsed) = await blast(node.inbox, n, out, node.follow, node.process)
        accepted = report["statuses"].get("202", 0)
        outcomes = await node.outcomes()
        memory = [rss_mb()]
        for _ in range(rounds - 1):  # the same load again: does the node's memory level off?
            more, (done, _elapsed) = await blast(node.inbox, n, out, node.follow, node.process)
            checks.append({"name": "inbound_round" + sfx, "sent": more["statuses"].get("202", 0), "counted": done})
            memory.append(rss_mb())
    checks.append({"name": "inbound" + sfx, "sent": accepted, "counted": processed})
    acc_rate = accepted / report["elapsed"]
    proc_rate = proc_rate_of(processed, p_elapsed)
    params = {"activities": n, "concurrency": CONCURRENCY, "verify_parse_per_s": round(ceiling, 1),
              "statuses": report["statuses"], "outcomes": outcomes}
    mem_sfx = "" if engine == "sqlite" else sfx
    growth = (memory[-1] - memory[0]) / memory[0] * 100
    p99 = report["p99_ms"]
    return [
        Result("inbound_accepted_per_s" + sfx, acc_rate, "activities/s", ceiling, True, target=ACCEPTED_TARGET,
               met=acc_rate >= ACCEPTED_TARGET and p99 < ACCEPTED_P99_TARGET_MS,
               notes=f"signed Creates POSTed to /inbox until 202; ceiling = verify+parse rate; target also needs p99 < {ACCEPTED_P99_TARGET_MS:g} ms",
               params=params),
        Result("inbound_processed_per_s" + sfx, proc_rate, "activities/s", ceiling, True,
               target=PROCESSED_TARGET[engine], met=proc_rate >= PROCESSED_TARGET[engine],
               notes="inbox queue drained by JobWorker(handle_inbox); ceiling = verify+parse rate",
               params={"processed": processed}),
        Result("inbound_p99_ms" + sfx, p99, "ms", 1000.0 / ceiling, False,
               notes=f"p99 request latency at {CONCURRENCY} concurrent connections (p50 {report['p50_ms']:.2f} ms); ceiling = one verify+parse",
               params={"p50_ms": round(report["p50_ms"], 3)}),
        Result("rss_mb_after_inbound" + mem_sfx, memory[0], "MiB", memory[0], False,
               notes=f"resident memory of the process under test after {n} activities accepted and processed; ceiling = the value (no bound applies)",
               params={"activities": n}),
        Result("rss_growth_pct" + mem_sfx, growth, "%", 0.0, False,
               notes=f"resident memory growth over {rounds - 1} more runs of {n} activities; ceiling = 0 (none)",
               params={"rss_mb_per_round": [round(m, 1) for m in memory], "activities_per_round": n}),
    ]


def proc_rate_of(processed: int, elapsed: float) -> float:
    return processed / elapsed if elapsed else 0.0
