"""Outbound: signed deliveries per second, and 10k-follower fan-outs, through the node's own
`fanout` and `deliver` jobs (node.outbox, node.delivery, JobWorker as `atrium serve` runs it)
to the sink process on the other core, which verifies and counts every delivery.

Ceiling, measured in the same run on the same core: the RSA-2048 signing rate and the raw
HTTP POST rate of one pre-signed request to the same sink; a delivery needs one of each, so
the ceiling is 1 / (1/sign + 1/post).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import aiohttp
from sqlalchemy import func, insert, select, text

from benchmarks.common import Databases, Result, rate_for
from federation.addresses import AddressPolicy, make_session
from federation.keys import load_private_key
from federation.signatures import sign_request
from federation.vocab import AP_CONTENT_TYPE
from node import accounts, contact, peers
from node.actors import key_id
from node.context import NodeContext
from node.delivery import handle_delivery
from node.outbox import handle_fanout
from node.policy import Policy
from node.queues import DELIVER, FANOUT, Delivery, PostCreated
from node.workers import JobWorker
from storage import jobs
from storage.ids import new_id
from storage.models import Account, Follow, Job, Post

DELIVERIES_TARGET = 1400.0  # per core, and at least 75 % of the ceiling (issue #19)

DOMAIN = "bench.atrium.test"
BODY = {
    "@context": "https://www.w3.org/ns/activitystreams",
    "type": "Create",
    "actor": f"https://{DOMAIN}/users/author",
    "object": {"type": "Note", "content": "<p>" + "benchmark text " * 20 + "</p>"},
}


@dataclass
class SinkInfo:
    ports: list[int]
    control: int
    _poller: aiohttp.ClientSession | None = None

    def inbox(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i % len(self.ports)]}/inbox"

    def domain(self, i: int) -> str:
        return f"127.0.0.1:{self.ports[i % len(self.ports)]}"

    async def call(self, method: str, path: str, data: object = None, keep: bool = False) -> dict:
        """A control call to the sink; `keep` reuses one connection (for polling)."""
        if not keep:
            async with aiohttp.ClientSession() as s, s.request(method, f"http://127.0.0.1:{self.control}{path}", json=data) as r:
                return await r.json()
        if self._poller is None or self._poller.closed:
            self._poller = aiohttp.ClientSession()
        async with self._poller.request(method, f"http://127.0.0.1:{self.control}{path}", json=data) as r:
            return await r.json()

    async def close(self) -> None:
        if self._poller is not None:
            await self._poller.close()


class Outbound:
    def __init__(self, dbs: Databases, engine: str, sink: SinkInfo) -> None:
        self.dbs, self.engine, self.sink = dbs, engine, sink

    async def __aenter__(self) -> Outbound:
        self.db = await self.dbs.make(self.engine)
        # A raw session for the ceiling (`post_rate`); the node itself sends through its gate.
        self.session = make_session(AddressPolicy(allow_loopback=True, allow_http=True))
        policy = Policy(mode="open", default_trust="public")
        self.ctx = NodeContext(db=self.db, domain=DOMAIN, policy=lambda: policy)
        contact.open_gate(self.ctx, AddressPolicy(allow_loopback=True, allow_http=True))
        async with self.db.session() as s:
            author = Account(username="author", domain=None)
            s.add(author)
        self.author = await accounts.ensure_keys(self.ctx, author.id)
        self.key_id = key_id(self.ctx, self.author)
        self.private_key = load_private_key(self.author.private_key_pem or "")
        await self.sink.call("POST", "/keys", {self.key_id: self.author.public_key_pem})
        # The sink's domains are known peers already (steady state). This also sidesteps a race
        # in node.peers: concurrent first deliveries to one new domain both INSERT its `peers`
        # row; on PostgreSQL one fails with a unique violation and its job is retried (re-sent).
        for i in range(len(self.sink.ports)):
            await peers.record_success(self.db, self.sink.domain(i))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()
        await contact.close_gate(self.ctx)
        await self.db.dispose()

    def worker(self) -> JobWorker:
        # As `atrium serve` runs it (atrium.server): deliveries of a batch concurrently.
        return JobWorker(
            self.db,
            {FANOUT: lambda job: handle_fanout(self.ctx, job), DELIVER: lambda job: handle_delivery(self.ctx, job)},
            idle_sleep=0.2,
            concurrent=frozenset({DELIVER}),
        )

    async def drain(self, expect: int, start: float, timeout: float = 1800.0) -> float:
        """Run the worker as `atrium serve` does (`run_forever`: a rolling pool of deliveries,
        claims as slots free) until the sink has counted `expect` deliveries; the seconds from
        `start` to then. Then let every job's outcome be recorded, and stop the worker."""
        worker = self.worker()
        task = asyncio.create_task(worker.run_forever())
        deadline = time.perf_counter() + timeout
        try:
            # Polled on one kept-alive connection, 20 times a second: the poll's own cost on
            # the core under test stays under 1 % (a new connection every 10 ms cost 20 %).
            while (await self.sink.call("GET", "/stats", keep=True))["ok"] < expect:
                if task.done():
                    raise RuntimeError(f"the worker stopped: {task.exception()!r}")
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"the sink did not get {expect} deliveries within {timeout:.0f} s")
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - start
            while await self._unfinished() and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
        finally:
            worker.stop()
            await task
        async with self.db.reader() as s:
            left = (await s.scalars(select(Job).where(Job.status != "done"))).all()
        if left:
            why = sorted({f"{j.queue}: {j.status}: {j.last_error}" for j in left})[:5]
            raise RuntimeError(f"{len(left)} jobs were not done after the benchmark ({self.engine}): {why}")
        return elapsed

    async def _unfinished(self) -> int:
        async with self.db.reader() as s:
            return int(await s.scalar(select(func.count()).select_from(Job).where(Job.status != "done")) or 0)

    # ---------------------------------------------------------------- ceilings

    def sign_rate(self, seconds: float) -> float:
        body = json.dumps(BODY).encode()
        url = self.sink.inbox(0)
        return rate_for(
            lambda: sign_request("POST", url, {"Content-Type": AP_CONTENT_TYPE}, body, self.key_id, self.private_key),
            seconds,
        )

    async def post_rate(self, n: int, concurrency: int = 20) -> float:
        """Raw aiohttp POSTs of pre-signed requests (one per sink port) on this core."""
        body = json.dumps(BODY).encode()
        signed = [(self.sink.inbox(i), sign_request("POST", self.sink.inbox(i), {"Content-Type": AP_CONTENT_TYPE}, body,
                                                    self.key_id, self.private_key)) for i in range(len(self.sink.ports))]
        counter = iter(range(n))

        async def one() -> None:
            for i in counter:
                url, headers = signed[i % len(signed)]
                async with self.session.post(url, data=body, headers=headers) as r:
                    await r.content.read(4096)
                    if r.status != 202:
                        raise RuntimeError(f"the sink refused a ceiling request: {r.status}")

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(concurrency)))
        return n / (time.perf_counter() - start)

    # ---------------------------------------------------------------- benchmarks

    async def deliveries(self, n: int) -> tuple[float, int]:
        """`n` deliveries, each of its own post (so each is judged again on a post it reads at
        delivery, node.delivery_check), to the sink's domains in turn."""
        body = json.dumps(BODY)
        ids = [new_id() for _ in range(n)]
        async with self.db.session() as s:
            await s.execute(insert(Post), [
                {"id": ids[i], "account_id": self.author.id, "local": True, "uri": self.obj(i), "source": "benchmark text",
                 "content_html": "<p>benchmark text</p>", "visibility": "public"} for i in range(n)])
            for i in range(n):
                delivery = Delivery(self.sink.inbox(i), self.sink.domain(i), self.author.id, body, self.obj(i),
                                    "public", ids[i], carries_post=True)
                await jobs.enqueue_in(s, DELIVER, delivery.to_json(), ordering_key=f"{self.obj(i)} {self.sink.inbox(i)}",
                                      target=self.sink.domain(i))
        await self.sink.call("POST", "/reset")
        elapsed = await self.drain(n, time.perf_counter())
        return n / elapsed, (await self.sink.call("GET", "/stats"))["ok"]

    @staticmethod
    def obj(i: int) -> str:
        return f"https://{DOMAIN}/users/author/statuses/{i}"

    async def followers(self, n: int, domains: int, shared_inbox: bool) -> None:
        rows, follows = [], []
        for i in range(n):
            d = i % domains
            host = self.sink.domain(d)
            actor = f"http://{host}/users/f{i}"
            rows.append({"id": new_id(), "username": f"f{i}", "domain": host, "actor_uri": actor,
                         "inbox_uri": f"{actor}/inbox", "shared_inbox_uri": f"http://{host}/inbox" if shared_inbox else None,
                         "display_name": "", "bio": "", "role": "user", "disabled": False, "locked": False,
                         "credentials_version": 0})
        for r in rows:
            follows.append({"id": new_id(), "follower_id": r["id"], "target_id": self.author.id, "state": "accepted",
                            "uri": f"{r['actor_uri']}#follow"})
        async with self.db.session() as s:
            for k in range(0, n, 2000):
                await s.execute(insert(Account), rows[k:k + 2000])
                await s.execute(insert(Follow), follows[k:k + 2000])
        async with self.db.session() as s:
            # As autovacuum would have on a live node (10k rows are a tenth of a small table):
            # without statistics PostgreSQL joins 10k followers by a nested loop, 8 s.
            await s.execute(text("ANALYZE accounts"))
            await s.execute(text("ANALYZE follows"))

    async def fanout(self, followers: int, domains: int, shared_inbox: bool) -> tuple[float, int, int]:
        await self.followers(followers, domains, shared_inbox)
        async with self.db.session() as s:
            post = Post(account_id=self.author.id, local=True, content_html="<p>hello, followers</p>", source="hello, followers",
                        visibility="public")
            s.add(post)
        await self.sink.call("POST", "/reset")
        expected = domains if shared_inbox else followers
        start = time.perf_counter()
        await jobs.enqueue(self.db, FANOUT, PostCreated(post.id).to_json())
        elapsed = await self.drain(expected, start)
        return elapsed, expected, (await self.sink.call("GET", "/stats"))["ok"]


async def run(dbs: Databases, engine: str, sink: SinkInfo, quick: bool, checks: list[dict]) -> list[Result]:
    # Quick sizes keep CI in seconds; the full run uses the sizes the names say.
    n_deliveries = 30 if quick else 5000
    n_domains = len(sink.ports)
    sizes = {True: (100, 20) if quick else (10_000, 10_000)}
    results: list[Result] = []
    sfx = f"_{engine}"
    async with Outbound(dbs, engine, sink) as ob:
        sign = ob.sign_rate(0.5 if quick else 3.0)
        post = await ob.post_rate(100 if quick else 5000)
        ceiling = 1 / (1 / sign + 1 / post)
        await sink.call("POST", "/reset")
        rate, counted = await ob.deliveries(n_deliveries)
        checks.append({"name": "outbound_deliveries" + sfx, "sent": n_deliveries, "counted": counted})
        results.append(Result(
            "outbound_deliveries_per_s" + sfx, rate, "deliveries/s", ceiling, True, target=DELIVERIES_TARGET,
            met=rate >= DELIVERIES_TARGET and rate >= 0.75 * ceiling,
            notes="deliver jobs through JobWorker → sink (verifies every signature and digest); ceiling = 1/(1/sign + 1/POST) on one core; target also needs value ≥ 0.75 × the ceiling",
            params={"deliveries": n_deliveries, "sign_per_s": round(sign, 1), "post_per_s": round(post, 1)},
        ))
    for shared, name, target in ((True, "fanout_10k_wall_s", 1.0), (False, "fanout_10k_no_shared_inbox_wall_s", 8.0)):
        n_followers = sizes[True][0 if shared else 1]
        async with Outbound(dbs, engine, sink) as ob:
            wall, expected, counted = await ob.fanout(n_followers, n_domains, shared)
            checks.append({"name": name + sfx, "sent": expected, "counted": counted})
            results.append(Result(
                name + sfx, wall, "s", expected / ceiling, False, target=target,
                met=(wall < target) if target is not None else None,
                notes=f"fanout job + {expected} deliveries until the sink has them all; ceiling = deliveries / delivery ceiling",
                params={"followers": n_followers, "domains": n_domains, "deliveries": expected},
            ))
    return results
