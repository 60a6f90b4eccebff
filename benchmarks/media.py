"""Media uploads: a 2 MB JPEG through `POST /api/v2/media` (the node's web app on loopback,
SQLite and the local store, the embedded default) until its thumbnail is ready, p99 over N
uploads (`media_upload_p99_ms`). The node processes an upload in a confined worker
subprocess before it answers; were the answer to come before the preview, the client polls
`GET /api/v1/media/:id` as Mastodon's clients do, and that wait counts.

Ceiling, same run, same process: Pillow's own decode of the same bytes and resize to the
preview's size (640 px), p99 over the same number of runs: the image work no node can skip.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from PIL import Image

from benchmarks.common import Databases, Result, free_port, percentile
from node import accounts
from node.context import NodeContext
from storage.media_store import LocalStore
from web.app import create_app

PASSWORD = "bench-password-long-enough"
TARGET_BYTES = 2 * 1024 * 1024
PREVIEW_SIDE = 640


def two_mb_jpeg() -> bytes:
    """A photo-like JPEG of about 2 MB: noise over a gradient (noise does not compress away)."""
    width, height = 2000, 1500
    noise = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    picture = Image.blend(gradient, noise, 0.35)
    for quality in (96, 95, 94, 93, 92, 91, 90):
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=quality)
        if len(out.getvalue()) <= TARGET_BYTES * 1.1:
            break
    return out.getvalue()


def decode_and_resize_ms(data: bytes) -> float:
    t0 = time.perf_counter()
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    return (time.perf_counter() - t0) * 1000


async def _token(http: aiohttp.ClientSession, base: str) -> str:
    async with http.post(f"{base}/api/v1/apps", data={"client_name": "bench", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                                      "scopes": "read write"}) as resp:
        app = await resp.json()
    async with http.post(f"{base}/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": "bench", "password": PASSWORD, "scope": "read write",
    }) as resp:
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["access_token"])


async def _upload_until_thumbnail(http: aiohttp.ClientSession, base: str, token: str, data: bytes) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    t0 = time.perf_counter()
    form = aiohttp.FormData()
    form.add_field("file", data, filename="photo.jpg", content_type="image/jpeg")
    async with http.post(f"{base}/api/v2/media", data=form, headers=headers) as resp:
        assert resp.status in (200, 202), await resp.text()
        body: dict[str, Any] = await resp.json()
    while not body.get("preview_url"):
        async with http.get(f"{base}/api/v1/media/{body['id']}", headers=headers) as resp:
            body = await resp.json()
    elapsed = (time.perf_counter() - t0) * 1000
    assert body["type"] == "image" and body["meta"]["small"]["width"] <= PREVIEW_SIDE, body
    return elapsed


async def run(dbs: Databases, quick: bool) -> list[Result]:
    uploads = 5 if quick else 100
    data = two_mb_jpeg()
    db = await dbs.make("sqlite")
    folder = Path(tempfile.mkdtemp(prefix="atrium-bench-media-"))
    port = free_port()
    ctx = NodeContext(db=db, domain=f"127.0.0.1:{port}", scheme="http", media=LocalStore(folder))
    runner = web.AppRunner(create_app(ctx), access_log=None)
    try:
        await accounts.create_user(ctx, "bench", PASSWORD)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            token = await _token(http, base)
            await _upload_until_thumbnail(http, base, token, data)  # warm: the first worker start, imports
            samples = [await _upload_until_thumbnail(http, base, token, data) for _ in range(uploads)]
        decode_and_resize_ms(data)
        ceiling = [decode_and_resize_ms(data) for _ in range(uploads)]
    finally:
        await runner.cleanup()
        await db.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    return [
        Result("media_upload_p99_ms", percentile(samples, 99), "ms", percentile(ceiling, 99), False,
               notes="a 2 MB JPEG through POST /api/v2/media until its thumbnail is ready (SQLite, local store); "
                     "ceiling = Pillow's decode + resize to 640 px of the same bytes, in this process",
               params={"uploads": uploads, "bytes": len(data), "p50_ms": round(percentile(samples, 50), 3)}),
    ]
