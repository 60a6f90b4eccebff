"""A real Fedify 2.3.6 server on loopback, as a peer for Atrium nodes (interop/fedify/).

`ensure_fedify()` installs it (npm ci from interop/fedify/package-lock.json, Node 22 from the npm
package `node`) when it is missing, and fails the test with the reason when it cannot: an
interop test that cannot run its peer is a failure, never a skip.

`FedifyPeer` runs `interop/fedify/server.mjs`: one actor (`fedi`), in-memory state, answers a
Follow with an Accept that embeds it, and exposes what it received (verified by Fedify) and
what it sent (with how each request was signed) as JSON for the tests.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.factory import free_port, stop_process, wait_listening

FEDIFY_DIR = Path(__file__).resolve().parents[2] / "interop" / "fedify"
SETUP = FEDIFY_DIR / "setup"
NODE = FEDIFY_DIR / "node_modules" / ".bin" / "node"
RFC9421 = "rfc9421"
CAVAGE = "draft-cavage-http-signatures-12"


def run_setup(setup: Path, what: str) -> Path:
    """Run an interop `setup` script (npm ci of a committed lock file, Node 22 from npm) and
    return the Node binary it prints; fail the test with its reason when it cannot (never a skip)."""
    try:
        done = subprocess.run([str(setup)], capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"could not install {what} ({setup}): {exc}", pytrace=False)
    if done.returncode != 0:
        pytest.fail(f"could not install {what}; setup said:\n{done.stderr.strip() or done.stdout.strip()}",
                    pytrace=False)
    return Path(done.stdout.strip().splitlines()[-1])


def ensure_fedify() -> Path:
    """The Node 22 binary that runs the peer, installing everything first if needed."""
    return run_setup(SETUP, f"the Fedify peer (@fedify/fedify 2.3.6 on Node 22, via npm ci in {FEDIFY_DIR})")


class FedifyPeer:
    def __init__(self, root: Path, user: str = "fedi", group: str | None = None) -> None:
        self.user = user
        self.group = group  # a Lemmy-style community it also serves (FEDIFY_GROUP), if any
        self.port = free_port()
        self.domain = f"127.0.0.1:{self.port}"
        self.base_url = f"http://{self.domain}"
        self.actor_uri = f"{self.base_url}/users/{user}"
        self.handle = f"{user}@{self.domain}"
        self.log = root / "fedify.log"
        self.proc: subprocess.Popen[str] | None = None

    def start(self, node: Path) -> None:
        out = self.log.open("a")
        self.proc = subprocess.Popen(
            [str(node), "server.mjs", str(self.port)],
            cwd=FEDIFY_DIR,
            env={
                "PATH": "/usr/bin:/bin",
                "FEDIFY_USER": self.user,
                **({"FEDIFY_GROUP": self.group} if self.group else {}),
                "FEDIFY_LOG_LEVEL": os.environ.get("FEDIFY_LOG_LEVEL", "warning"),
            },
            stdout=out, stderr=subprocess.STDOUT, text=True,
        )
        wait_listening(self.proc, self.port, "the Fedify peer", self.log_tail)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    async def _call(self, method: str, path: str, body: object | None = None) -> Any:
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as http, http.request(
            method, f"{self.base_url}{path}", json=body
        ) as response:
            text = await response.text()
            if response.status != 200:
                raise AssertionError(f"Fedify peer {method} {path} answered {response.status}: {text}")
            return json.loads(text)

    async def received(self) -> list[dict[str, Any]]:
        """Activities Fedify's inbox verified and handed to a listener, oldest first."""
        return await self._call("GET", "/_received")

    async def sent(self) -> list[dict[str, Any]]:
        """Every POST the peer sent: url, spec (how it was signed), status, activity."""
        return await self._call("GET", "/_sent")

    async def errors(self) -> list[dict[str, Any]]:
        return await self._call("GET", "/_errors")

    async def follow(self, actor_uri: str) -> str:
        """Make the Fedify actor follow `actor_uri`; returns the Follow's id."""
        return (await self._call("POST", "/_follow", {"target": actor_uri}))["follow_id"]

    async def post(self, to: str, content: str, attachments: Sequence[Mapping[str, Any]] = ()) -> dict[str, str]:
        """A public Create(Note) mentioning `to`, sent to its inbox: {note_id, activity_id}.
        `attachments` ({type: Image|Document, url, mediaType, name, width, height}) are written
        by Fedify's own vocabulary classes."""
        return await self._call("POST", "/_post", {"to": to, "content": content, "attachments": list(attachments)})

    async def group_post(self, content: str) -> dict[str, str]:
        """The actor writes a public note to the group, which announces the Create (embedded)
        to its followers, as Lemmy does: {note_id, create_id, announce_id}."""
        return await self._call("POST", "/_group_post", {"content": content})

    def log_tail(self) -> str:
        return self.log.read_text()[-3000:] if self.log.exists() else ""

