"""The inbound load generator: a fake peer that serves its actor document (so the node under
test can fetch its key) and POSTs pre-signed Create activities to an inbox.

    python -m benchmarks.loadgen --port P --target URL --n N [--concurrency C]

Signs all N requests before it prints `ready` (signing is the sender's cost, not the
receiver's); on a line `go` on stdin it sends them with C concurrent connections and prints
one JSON line: sent, status counts, elapsed seconds, p50/p99 latency in ms. It keeps serving
its actor document until it is stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from federation.signatures import sign_request  # noqa: E402

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = AS + "#Public"
CT = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


async def main(args: argparse.Namespace) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    base = f"http://127.0.0.1:{args.port}"
    actor = f"{base}/users/{args.name}"
    doc = {
        "@context": [AS, "https://w3id.org/security/v1"],
        "id": actor, "type": "Person", "preferredUsername": args.name, "name": "Load",
        "inbox": f"{actor}/inbox", "outbox": f"{actor}/outbox", "followers": f"{actor}/followers",
        "endpoints": {"sharedInbox": f"{base}/inbox"},
        "publicKey": {"id": f"{actor}#main-key", "owner": actor, "publicKeyPem": pem},
    }

    async def actor_route(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(doc), content_type="application/activity+json")

    async def webfinger(request: web.Request) -> web.Response:
        return web.json_response({"subject": f"acct:{args.name}@127.0.0.1:{args.port}",
                                  "links": [{"rel": "self", "type": "application/activity+json", "href": actor}]})

    async def sink(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=202)

    app = web.Application()
    app.router.add_get(f"/users/{args.name}", actor_route)
    app.router.add_get("/.well-known/webfinger", webfinger)
    app.router.add_post("/inbox", sink)
    app.router.add_post(f"/users/{args.name}/inbox", sink)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()

    requests = []
    run = int(time.time() * 1000)
    for i in range(args.n):
        note = {"id": f"{actor}/notes/{run}-{i}", "type": "Note", "attributedTo": actor,
                "content": f"<p>load {i}: " + "some words " * 20 + "</p>", "to": [PUBLIC], "cc": [f"{actor}/followers"],
                "published": "2026-11-25T10:00:00Z"}
        activity = {"@context": AS, "id": f"{note['id']}/activity", "type": "Create", "actor": actor,
                    "to": note["to"], "cc": note["cc"], "object": note}
        body = json.dumps(activity).encode()
        headers = sign_request("POST", args.target, {"Content-Type": CT}, body, f"{actor}#main-key", key)
        requests.append((body, headers))
    print("ready", flush=True)
    print(json.dumps({"actor": actor}), flush=True)

    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        if line.strip() != "go":
            continue
        statuses: Counter[int] = Counter()
        latencies: list[float] = []
        pending = iter(requests)
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(pending=pending, latencies=latencies, statuses=statuses, session=session) -> None:  # type: ignore[no-untyped-def]
                for body, headers in pending:
                    t0 = time.perf_counter()
                    async with session.post(args.target, data=body, headers=headers) as r:
                        await r.read()
                    latencies.append((time.perf_counter() - t0) * 1000)
                    statuses[r.status] += 1

            start = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(args.concurrency)))
            elapsed = time.perf_counter() - start
        print(json.dumps({"sent": len(requests), "statuses": {str(k): v for k, v in statuses.items()}, "elapsed": elapsed,
                          "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99)}), flush=True)
    await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--name", default="load")
    asyncio.run(main(parser.parse_args()))
