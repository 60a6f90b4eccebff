"""The delivery sink: an aiohttp server that checks every delivery as a receiving node would
(draft-cavage signature against the signer's registered key, date window, Digest against the
body, the body is a JSON activity), counts what passed and what did not, and reports.

Run by the benchmarks as a separate process pinned to the load core:

    python -m benchmarks.sink --ports 8101,8102 --control 8100

It listens for deliveries on every port in `--ports` (one port per simulated peer domain, so
fan-out sees distinct domains) and takes commands on `--control`:
`POST /keys` `{key_id: public PEM}` registers signers, `POST /reset` zeroes the counters,
`GET /stats` answers `{"ok", "bad", "reasons", "per_port"}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web  # noqa: E402

from federation.signatures import SignatureError, load_public_key_pem, parse_signature, verify_request  # noqa: E402


class Sink:
    def __init__(self) -> None:
        self.keys: dict[str, object] = {}
        self.ok = 0
        self.bad = 0
        self.reasons: Counter[str] = Counter()
        self.per_port: Counter[int] = Counter()

    async def inbox(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            parsed = parse_signature(request.headers)
            key = self.keys.get(parsed.key_id)
            if key is None:
                raise SignatureError(f"unknown key {parsed.key_id}")
            verify_request(request.method, request.raw_path, request.headers, body, key)  # type: ignore[arg-type]
            activity = json.loads(body)
            if not isinstance(activity, dict) or "type" not in activity:
                raise ValueError("not an activity")
        except (SignatureError, ValueError) as exc:
            self.bad += 1
            self.reasons[str(getattr(exc, "reason", exc))[:200]] += 1
            return web.json_response({"error": str(exc)}, status=401)
        self.ok += 1
        self.per_port[request.url.port or 0] += 1
        return web.Response(status=202)

    async def add_keys(self, request: web.Request) -> web.Response:
        for key_id, pem in (await request.json()).items():
            self.keys[key_id] = load_public_key_pem(pem)
        return web.json_response({"keys": len(self.keys)})

    async def reset(self, request: web.Request) -> web.Response:
        self.ok = self.bad = 0
        self.reasons.clear()
        self.per_port.clear()
        return web.json_response({})

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": self.ok, "bad": self.bad, "reasons": dict(self.reasons), "per_port": {str(k): v for k, v in self.per_port.items()}}
        )


async def main(ports: list[int], control: int) -> None:
    sink = Sink()
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post("/inbox", sink.inbox)
    app.router.add_post("/users/{name}/inbox", sink.inbox)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    for port in ports:
        await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    capp = web.Application()
    capp.router.add_post("/keys", sink.add_keys)
    capp.router.add_post("/reset", sink.reset)
    capp.router.add_get("/stats", sink.stats)
    crunner = web.AppRunner(capp, access_log=None)
    await crunner.setup()
    await web.TCPSite(crunner, "127.0.0.1", control).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--ports", required=True)
    parser.add_argument("--control", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(main([int(p) for p in args.ports.split(",")], args.control))
