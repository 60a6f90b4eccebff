"""A real OpenID provider on loopback: oidc-provider (npm, certified OpenID Connect) on Node 22,
installed by interop/oidc/setup (npm ci from the committed lock file, Node 22 from the npm
package `node`, as the Fedify peer is). A provider that cannot be installed or started fails
the test with the reason: never a skip.

`RealProvider` runs interop/oidc/provider.mjs with one client (the node) and the people of
`USERS`; its keys are a JWKS file written here, so `rotate()` restarts it signing with a new
key while still publishing the old one (how providers roll keys).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from joserfc.jwk import RSAKey

from tests.factory import free_port, stop_process, wait_listening
from tests.interop.fedify_peer import run_setup
from tests.sso.fake_idp import CLIENT_ID, CLIENT_SECRET

OIDC_DIR = Path(__file__).resolve().parents[2] / "interop" / "oidc"
SETUP = OIDC_DIR / "setup"
USERS: dict[str, dict[str, Any]] = {
    "alice": {"preferred_username": "alice", "name": "Alice Liddell", "email": "alice@acme.example",
              "email_verified": True, "groups": ["staff"]},
}


def ensure_provider() -> Path:
    """The Node 22 binary that runs the provider, installing everything first if needed."""
    return run_setup(SETUP, f"the OpenID provider (oidc-provider on Node 22, npm ci in {OIDC_DIR})")


class RealProvider:
    def __init__(self, node_binary: Path, root: Path, redirect_uri: str) -> None:
        self.node_binary, self.root, self.redirect_uri = node_binary, root, redirect_uri
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.users = json.loads(json.dumps(USERS))
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": "first", "use": "sig", "alg": "RS256"})]
        self.log = root / "oidc-provider.log"
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        keys_file = self.root / "oidc-keys.json"
        keys_file.write_text(json.dumps({"keys": [k.as_dict(private=True) for k in self.keys]}))
        clients = [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [self.redirect_uri]}]
        self.proc = subprocess.Popen(
            [str(self.node_binary), "provider.mjs"], cwd=OIDC_DIR,
            env={"PATH": "/usr/bin:/bin", "PORT": str(self.port), "CLIENTS": json.dumps(clients),
                 "USERS": json.dumps(self.users), "KEYS_FILE": str(keys_file)},
            stdout=self.log.open("a"), stderr=subprocess.STDOUT, text=True,
        )
        wait_listening(self.proc, self.port, "oidc-provider", self.log_tail)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def restart(self) -> None:
        """Start again with the people and keys as they are now (its sessions are forgotten)."""
        self.stop()
        self.start()

    def rotate(self, kid: str) -> None:
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}), *self.keys]
        self.restart()

    def log_tail(self) -> str:
        return self.log.read_text()[-3000:] if self.log.exists() else ""


@asynccontextmanager
async def real_provider(root: Path, node_url: str) -> AsyncIterator[RealProvider]:
    provider = RealProvider(ensure_provider(), root, f"{node_url}/auth/oidc/callback")
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()
