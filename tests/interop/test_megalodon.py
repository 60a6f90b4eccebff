"""Recognition: megalodon's `detector` (the library Whalebird and Fedistar identify a server
with before signing in; interop/megalodon/, megalodon 10.3.0 on Node 22) recognises an Atrium
node as Mastodon-compatible from its NodeInfo, while NodeInfo still says the software is Atrium.

Without `metadata.upstream` the detector throws "Unknown SNS" (the issue's symptom): the test
runs the real library against a real node on loopback, through axios over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import StartNode
from tests.factory import free_port

MEGALODON_DIR = Path(__file__).resolve().parents[2] / "interop" / "megalodon"


def ensure_megalodon() -> Path:
    """The Node 22 binary that runs megalodon, installing it first if needed (a failure, never a skip)."""
    try:
        done = subprocess.run([str(MEGALODON_DIR / "setup")], capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"could not install megalodon ({MEGALODON_DIR}): {exc}", pytrace=False)
    if done.returncode != 0:
        pytest.fail(f"could not install megalodon (npm ci in {MEGALODON_DIR}):\n{done.stderr.strip()}", pytrace=False)
    return Path(done.stdout.strip().splitlines()[-1])


def detect(node_binary: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(node_binary), "detect.mjs", url], cwd=MEGALODON_DIR, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin"})


async def _json(url: str) -> Any:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return json.loads(await resp.text())


async def test_megalodons_detector_recognises_atrium_as_mastodon(start_node: StartNode) -> None:
    node_binary = await asyncio.to_thread(ensure_megalodon)
    # Given a running Atrium node
    node = await start_node()
    # When megalodon's detector (what Whalebird and Fedistar call first) looks at it
    done = await asyncio.to_thread(detect, node_binary, node.url)
    # Then it says "mastodon": the apps go on to sign in with the Mastodon API
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "mastodon"
    # And NodeInfo still names the software Atrium, with the Mastodon API it speaks as upstream
    info = await _json(f"{node.url}/nodeinfo/2.0")
    assert info["software"]["name"] == "atrium"
    assert info["metadata"]["upstream"]["name"] == "mastodon"


async def test_the_detector_still_refuses_a_server_it_does_not_know(start_node: StartNode) -> None:
    """The test has teeth: the same detector fails on the node's NodeInfo without `upstream`."""
    node_binary = await asyncio.to_thread(ensure_megalodon)
    node = await start_node()
    info = await _json(f"{node.url}/nodeinfo/2.1")
    info["metadata"].pop("upstream")
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    async def well_known(request: web.Request) -> web.Response:
        return web.json_response({"links": [{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                                             "href": f"{base}/nodeinfo/2.1"}]})

    async def document(request: web.Request) -> web.Response:
        return web.json_response(info)

    # Given the node's own NodeInfo, less `upstream`, served on another port
    app = web.Application()
    app.router.add_get("/.well-known/nodeinfo", well_known)
    app.router.add_get("/nodeinfo/2.1", document)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        done = await asyncio.to_thread(detect, node_binary, base)
    finally:
        await runner.cleanup()
    # Then the detector gives up as Whalebird did before: "Unknown SNS"
    assert done.returncode == 1 and "Unknown SNS" in done.stderr
