"""What judging a delivery again costs (node.delivery_check), per delivery, against what the
delivery worker did before deliveries carried their audience and post.

`python -m benchmarks.recheck [--engines sqlite,postgresql] [--seconds S]`

- CPU: reading the payload and asking the policy — before: `json.loads` and
  `Policy.outbound("direct", domain)`; now: `Delivery.from_json` and `recheck` on the post as
  read (without content rules, and with two).
- Database: the reads of one batch of concurrent deliveries — before: the ordering checks
  (`jobs.earlier_unfinished_many`); now: the ordering checks and the posts in one transaction
  (`delivery_check.read_many`), per batch and per delivery, for batches of 1 and 20.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from sqlalchemy import insert

from benchmarks.common import Databases, rate_for
from node import delivery_check
from node.policy import ContentRule, PeerRule, Policy
from node.queues import DELIVER, Delivery
from storage import jobs
from storage.ids import new_id
from storage.models import Account, Post

DOMAIN = "peer.example"
BODY = json.dumps({"type": "Create", "object": {"type": "Note", "content": "<p>" + "benchmark text " * 20 + "</p>"}})
RULES = (ContentRule("confidential", "(?i)confidential", "organization"), ContentRule("embargo", "(?i)embargoed", "partner"))


def cpu(seconds: float) -> dict[str, float]:
    """Microseconds per delivery of each way of reading and judging it."""
    policy = Policy(peers=(PeerRule(DOMAIN, "partner"),))
    ruled = Policy(peers=(PeerRule(DOMAIN, "partner"),), rules=RULES)
    old = json.dumps({"inbox": f"https://{DOMAIN}/inbox", "domain": DOMAIN, "signer": 1, "body": BODY,
                      "object": "https://n.example/s/1"}).encode()
    new = Delivery(f"https://{DOMAIN}/inbox", DOMAIN, 1, BODY, "https://n.example/s/1", "public", 1, True).to_json()
    post = delivery_check.PostNow("public", "benchmark text " * 20, "<p>" + "benchmark text " * 20 + "</p>", None)

    def before() -> None:
        p = json.loads(old)
        policy.outbound("direct", p["domain"])

    def now(with_rules: Policy) -> None:
        d = Delivery.from_json(new)
        delivery_check.recheck(with_rules, d, post)

    return {
        "before": 1e6 / rate_for(before, seconds),
        "now": 1e6 / rate_for(lambda: now(policy), seconds),
        "now, two content rules": 1e6 / rate_for(lambda: now(ruled), seconds),
    }


async def reads(dbs: Databases, engine: str, seconds: float) -> dict[str, float]:
    """Microseconds per delivery of a batch's reads, before and now."""
    db = await dbs.make(engine)
    try:
        async with db.session() as s:
            author = Account(username="author", domain=None)
            s.add(author)
        ids = [new_id() for _ in range(20)]
        async with db.session() as s:
            await s.execute(insert(Post), [{"id": i, "account_id": author.id, "local": True, "uri": f"https://n.example/s/{i}",
                                            "source": "benchmark text", "content_html": "<p>benchmark text</p>",
                                            "visibility": "public"} for i in ids])
            job_ids = [await jobs.enqueue_in(s, DELIVER, b"{}", ordering_key=f"https://n.example/s/{i} inbox") for i in ids]
        out: dict[str, float] = {}
        for size in (1, 20):
            old = [(job_ids[k], f"https://n.example/s/{ids[k]} inbox") for k in range(size)]
            new = [delivery_check.Asked(j, key, ids[k]) for k, (j, key) in enumerate(old)]
            before, now = await _alternating(lambda o=old: jobs.earlier_unfinished_many(db, o),
                                             lambda n=new: delivery_check.read_many(db, n), seconds)
            out[f"before, batch of {size}"], out[f"now, batch of {size}"] = before / size, now / size
        return out
    finally:
        await db.dispose()


async def _alternating(before, now, seconds: float, rounds: int = 15) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Microseconds per call of each, the median of `rounds` turns taken in alternation (a busy
    machine slows both alike)."""
    for _ in range(20):  # warm the pool and the statement caches
        await before()
        await now()
    times: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(rounds):
        for k, call in enumerate((before, now)):
            n, start = 0, time.perf_counter()
            while (elapsed := time.perf_counter() - start) < seconds / rounds or n < 5:
                await call()
                n += 1
            times[k].append(1e6 * elapsed / n)
    return statistics.median(times[0]), statistics.median(times[1])


async def _main(args: argparse.Namespace) -> None:
    print("CPU, microseconds per delivery:")
    for name, us in cpu(args.seconds).items():
        print(f"  {name:28} {us:8.2f}")
    dbs = Databases()
    try:
        for engine in [e for e in args.engines.split(",") if e]:
            print(f"Reads on {engine}, microseconds per delivery:")
            for name, us in (await reads(dbs, engine, args.seconds)).items():
                print(f"  {name:28} {us:8.1f}")
    finally:
        await dbs.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=float, default=2.0)
    asyncio.run(_main(parser.parse_args()))
