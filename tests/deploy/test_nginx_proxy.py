"""deploy/reverse-proxy/nginx.conf, run by Debian's nginx (scripts/lib/ensure-nginx installs it)
in front of a real `atrium serve`: the client API and both forms of the streaming API work
through it, over TLS from a local CA.

The config is used as shipped; only what this machine needs differs: loopback ports of the
test's own, the certificate's paths, the upstream's port. Every such change must apply, so an
edit of the shipped file that the test does not follow fails here instead of going untested.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme

from tests.factory import free_port
from tests.federation.nodes import ATRIUM, NodeProcess

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "reverse-proxy" / "nginx.conf"
NGINX = "/usr/sbin/nginx"
WAIT = 60.0  # generous: the machine is shared; events normally arrive within a second
PASSWORD = "alice-password"


def rendered(shipped: str, *, http_port: int, tls_port: int, node_port: int, cert: Path, key: Path) -> str:
    """The shipped config with this machine's ports and files."""
    changes = {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{tls_port} ssl http2;",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{node_port};",
        "/etc/ssl/atrium/eng.acme.example.pem": str(cert),
        "/etc/ssl/atrium/eng.acme.example.key": str(key),
        "server_name eng.acme.example;": "server_name 127.0.0.1;",
    }
    for old, new in changes.items():
        assert old in shipped, f"nginx.conf no longer says {old!r}: teach this test the new form"
        shipped = shipped.replace(old, new)
    return shipped


def main_config(root: Path, site: Path) -> str:
    """nginx's own main file around the site, everything under `root`, in the foreground."""
    temp = " ".join(f"{kind}_temp_path {root / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""
daemon off;
master_process off;  # one process: as root it keeps root's access to the test's directory
pid {root / "nginx.pid"};
error_log {root / "error.log"} info;
events {{ worker_connections 256; }}
http {{
    access_log {root / "access.log"};
    {temp}
    include {site};
}}
"""


class ProxiedNode(NodeProcess):
    """A node whose public address is nginx's TLS port; it serves plain HTTP on a port of its
    own behind it, as in the systemd install."""

    def __init__(self, root: Path, public_port: int) -> None:
        super().__init__("eng", root)
        self.domain = f"127.0.0.1:{public_port}"

    def init(self) -> None:
        subprocess.run([*ATRIUM, "init", "--domain", self.domain], check=True, env=self.env, capture_output=True)
        settings, changed = re.subn(r"^# port = \d+$", f"port = {self.port}", (self.data_dir / "atrium.toml").read_text(),
                                    count=1, flags=re.M)
        assert changed == 1
        (self.data_dir / "atrium.toml").write_text(settings)


@dataclass
class Proxy:
    base: str  # https://127.0.0.1:PORT, through nginx
    ssl: ssl.SSLContext
    access_log: Path
    node: ProxiedNode


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    if not os.access(NGINX, os.X_OK):
        pytest.fail(f"{NGINX} is missing: run scripts/lib/ensure-nginx (scripts/test does)")
    root = tmp_path_factory.mktemp("nginx")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(root / "cert.pem"))
    for pem in cert.cert_chain_pems[1:]:
        pem.write_to_path(str(root / "cert.pem"), append=True)
    cert.private_key_pem.write_to_path(str(root / "key.pem"))
    tls_port = free_port()
    node = ProxiedNode(root, tls_port)
    node.init()
    node.create_user("alice")
    site = root / "atrium-eng.conf"
    site.write_text(rendered(SHIPPED.read_text(), http_port=free_port(), tls_port=tls_port, node_port=node.port,
                             cert=root / "cert.pem", key=root / "key.pem"))
    (root / "nginx.conf").write_text(main_config(root, site))
    command = [NGINX, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", str(root / "error.log")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, f"nginx refuses the config: {checked.stderr}"
    node.start()
    nginx = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        context = ssl.create_default_context()
        ca.configure_trust(context)
        _wait_for(f"https://127.0.0.1:{tls_port}/health/ready", context, nginx, root / "error.log")
        yield Proxy(f"https://127.0.0.1:{tls_port}", context, root / "access.log", node)
    finally:
        nginx.terminate()
        nginx.wait(timeout=15)
        node.stop()


def _wait_for(url: str, context: ssl.SSLContext, nginx: subprocess.Popen[bytes], error_log: Path) -> None:
    async def ready() -> bool:
        try:
            async with aiohttp.ClientSession() as s, s.get(url, ssl=context) as r:
                return r.status == 200
        except aiohttp.ClientError:
            return False

    deadline = time.monotonic() + 30
    while not asyncio.run(ready()):
        assert nginx.poll() is None, f"nginx exited: {error_log.read_text()[-2000:]}"
        assert time.monotonic() < deadline, f"no answer through nginx: {error_log.read_text()[-2000:]}"
        time.sleep(0.2)


async def _token(http: aiohttp.ClientSession, proxy: Proxy) -> str:
    """alice's bearer token by the password grant, asked through nginx."""
    async with http.post(f"{proxy.base}/api/v1/apps", data={
        "client_name": "through nginx", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write"}) as r:
        assert r.status == 200, await r.text()
        app = await r.json()
    async with http.post(f"{proxy.base}/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": "alice", "password": PASSWORD, "scope": "read write"}) as r:
        assert r.status == 200, await r.text()
        token: str = (await r.json())["access_token"]
        return token


async def _post(http: aiohttp.ClientSession, proxy: Proxy, token: str, text: str) -> str:
    async with http.post(f"{proxy.base}/api/v1/statuses", data={"status": text},
                         headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 200, await r.text()
        status_id: str = (await r.json())["id"]
        return status_id


def _logged(proxy: Proxy, path: str) -> list[str]:
    """nginx's access-log lines for requests to `path` (its status follows the request line)."""
    return [line for line in proxy.access_log.read_text().splitlines() if f"GET {path}" in line]


async def test_a_websocket_stream_through_nginx_delivers_an_event(proxy: Proxy) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=proxy.ssl)) as http:
        # Given alice's user stream opened through nginx, as a Mastodon app opens it
        token = await _token(http, proxy)
        async with http.ws_connect(f"{proxy.base.replace('https', 'wss')}/api/v1/streaming?stream=user&access_token={token}") as ws:
            # When she posts (also through nginx)
            status_id = await _post(http, proxy, token, "through the proxy, live")
            # Then the stream delivers the post as an update event
            while True:
                message: dict[str, Any] = await ws.receive_json(timeout=WAIT)
                if message["event"] == "update" and json.loads(message["payload"])["id"] == status_id:
                    break
        assert json.loads(message["payload"])["content"].endswith("through the proxy, live</p>")
    # And nginx switched protocols for it (101) rather than answering the upgrade as plain HTTP
    await asyncio.sleep(0.2)  # nginx writes the line when the connection closes
    lines = _logged(proxy, "/api/v1/streaming?stream=user")
    assert lines and all('" 101 ' in line for line in lines), lines


async def _events(stream: aiohttp.ClientResponse) -> AsyncIterator[tuple[str, str]]:
    """(event, data) as a browser's EventSource reads text/event-stream; comments skipped."""
    fields: dict[str, str] = {}
    while True:
        raw = await asyncio.wait_for(stream.content.readline(), WAIT)
        assert raw, "the stream ended"
        line = raw.decode().rstrip("\n")
        if line.startswith(":"):
            continue
        if line:
            name, _, value = line.partition(": ")
            fields[name] = value
        elif fields:
            yield fields.get("event", "message"), fields.get("data", "")
            fields = {}


async def test_server_sent_events_through_nginx_arrive_unbuffered(proxy: Proxy) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=proxy.ssl)) as http:
        token = await _token(http, proxy)
        # Given alice's user stream as server-sent events, through nginx
        async with http.get(f"{proxy.base}/api/v1/streaming/user",
                            headers={"Authorization": f"Bearer {token}"}) as stream:
            assert stream.status == 200 and stream.content_type == "text/event-stream"
            # When she posts
            status_id = await _post(http, proxy, token, "through the proxy, as events")
            # Then the event arrives while the response is still open (nginx does not hold it back)
            async for event, data in _events(stream):
                if event == "update" and json.loads(data)["id"] == status_id:
                    break
        assert json.loads(data)["content"].endswith("through the proxy, as events</p>")
