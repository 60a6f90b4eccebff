"""The node has one way out: only the outbound gate (federation/gate.py) may build or call an
HTTP client. Checked over the syntax tree of every module of the application packages, so a
new fetch that bypasses the trust policy fails here rather than in production.

What counts as building or calling a client: aiohttp's ClientSession, request and connectors,
`make_session`; a get/post/put/patch/delete/head/options/request/ws_connect call on something
named like a session or client, or any call passing `allow_redirects`; raw connections
(`asyncio.open_connection`, `create_connection`, a socket's `connect`); and imports of requests,
httpx, urllib3, pycurl, urllib.request, http.client and the AWS SDKs (aiobotocore, botocore,
boto3, aioboto3: each opens its own connections).

One module besides the gate may connect: the S3 media store (`storage/media_s3.py`). The trust
policy governs peers, other organisations' nodes, and the gate enforces it; the bucket is the
operator's own storage, named in atrium.toml beside the database, contacted for no peer and at
no peer's asking (SECURITY.md says the same).
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("atrium", "node", "federation", "web", "storage")
# The only modules that may make a client, and why.
GATE_MODULES = {
    "federation/gate.py": "the outbound gate: owns the node's only HTTP session",
    "federation/addresses.py": "defines make_session (the address-guarded session), which only the gate calls",
}
# Modules that connect to the operator's own services, never to a peer: the policy, which
# governs peers, does not apply. Allowed whole, by name.
OPERATOR_MODULES = {
    "storage/media_s3.py": "the S3 media store: the operator's own bucket (media.s3.*), not a peer",
}
AWS_SDKS = ("aiobotocore", "botocore", "boto3", "aioboto3")
# Single exceptions, each with its reason: (module, what) -> why.
EXCEPTIONS = {
    ("atrium/demo.py", "asyncio.open_connection"):
        "the demo launcher waits for its own node processes to listen on loopback; no peer is contacted",
}
CLIENT_MODULES = ("requests", "httpx", "urllib3", "pycurl", "urllib.request", "http.client", "aiohttp.client",
                  "aiohttp.connector")
AIOHTTP_CLIENTS = frozenset({"ClientSession", "request", "TCPConnector", "UnixConnector", "NamedPipeConnector",
                             "BaseConnector"})
HTTP_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "ws_connect"})
CLIENT_WORDS = ("session", "client", "http", "connector")
RAW_CONNECTS = frozenset({"asyncio.open_connection", "asyncio.open_unix_connection", "socket.create_connection"})
SOCKET_CONNECTS = frozenset({"connect", "connect_ex", "sock_connect"})


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    what: str


def _dotted(node: ast.expr) -> str:
    """`a.b.c` for a Name/Attribute chain; what a call's receiver ends in otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return _dotted(node.func) + "()"
    return "?"


def _looks_like_a_client(receiver: ast.expr) -> bool:
    if isinstance(receiver, ast.Call):  # `db.session()` is a database session, `ClientSession()` is not
        return _dotted(receiver.func).rsplit(".", 1)[-1] in AIOHTTP_CLIENTS
    last = _dotted(receiver).rsplit(".", 1)[-1].lower()
    if _dotted(receiver).endswith("db.session"):
        return False
    return any(word in last for word in CLIENT_WORDS)


class _Finder(ast.NodeVisitor):
    def __init__(self, module: str) -> None:
        self.module = module
        self.found: list[Violation] = []

    def _flag(self, node: ast.AST, what: str) -> None:
        if (self.module, what) not in EXCEPTIONS:
            self.found.append(Violation(self.module, getattr(node, "lineno", 0), what))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name in CLIENT_MODULES or alias.name.split(".")[0] in ("requests", "httpx", "urllib3", "pycurl", *AWS_SDKS):
                self._flag(node, f"import {alias.name}")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            full = f"{module}.{alias.name}"
            if (module in CLIENT_MODULES or full in CLIENT_MODULES
                    or module.split(".")[0] in ("requests", "httpx", "urllib3", "pycurl", *AWS_SDKS)
                    or (module == "aiohttp" and alias.name in AIOHTTP_CLIENTS)
                    or alias.name == "make_session"):
                self._flag(node, f"from {module} import {alias.name}")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name) and node.value.id == "aiohttp" and node.attr in AIOHTTP_CLIENTS:
            self._flag(node, f"aiohttp.{node.attr}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        if name.rsplit(".", 1)[-1] == "make_session":
            self._flag(node, "make_session()")
        if name in RAW_CONNECTS or name.endswith(".create_connection"):
            self._flag(node, name)
        if (isinstance(node.func, ast.Attribute) and node.func.attr in SOCKET_CONNECTS
                and any(w in _dotted(node.func.value).lower() for w in ("sock", "loop"))):
            self._flag(node, f"{name}()")
        if isinstance(node.func, ast.Attribute) and node.func.attr in HTTP_VERBS and _looks_like_a_client(node.func.value):
            self._flag(node, f"{name}()")
        if any(k.arg == "allow_redirects" for k in node.keywords):
            self._flag(node, f"{name}(allow_redirects=…)")
        self.generic_visit(node)


def violations(root: Path, packages: tuple[str, ...] = PACKAGES) -> list[Violation]:
    """Every place in `packages` under `root`, outside the gate's modules, that builds or
    calls an HTTP client (or opens a raw connection)."""
    found: list[Violation] = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            module = path.relative_to(root).as_posix()
            if module in GATE_MODULES or module in OPERATOR_MODULES:
                continue
            finder = _Finder(module)
            finder.visit(ast.parse(path.read_text(encoding="utf-8"), filename=module))
            found.extend(finder.found)
    return found


def test_no_module_but_the_gate_makes_an_http_client() -> None:
    # Given every module of the application packages
    # When their syntax trees are searched for HTTP clients
    found = violations(ROOT)
    # Then there are none outside the gate: every request the node makes goes through it
    assert found == [], "\n".join(f"{v.module}:{v.line}: {v.what}" for v in found)


PLANTED = {
    "node/bypass.py": '''
        import aiohttp
        import requests
        import urllib.request
        import http.client as hc
        from httpx import AsyncClient
        from aiohttp import ClientSession, TCPConnector
        from federation.addresses import make_session
        import asyncio, socket
        import boto3
        from aiobotocore.session import get_session
        from botocore.config import Config

        async def sneak(ctx, url):
            async with aiohttp.ClientSession() as session:
                await session.get(url)
            await aiohttp.request("GET", url)
            await ctx.http_client.post(url, data=b"")
            await self._session.ws_connect(url)
            await asyncio.open_connection("10.0.0.1", 80)
            socket.create_connection(("10.0.0.1", 80))
            sock = socket.socket()
            sock.connect(("10.0.0.1", 80))
            await asyncio.get_running_loop().sock_connect(sock, ("10.0.0.1", 80))
            aiohttp.TCPConnector()
            await ctx.gate._session.request("GET", url, allow_redirects=True)
            make_session(None)
    ''',
    "web/fine.py": '''
        import aiohttp
        import socket
        from urllib.parse import quote

        async def fine(ctx, d, s):
            d.get("key")
            await s.get(object, 1)
            async with ctx.db.session() as s2:
                await s2.get(object, 1)
            request.app.get("x")
            timeout = aiohttp.ClientTimeout(total=1)
            with socket.socket() as listener:
                listener.bind(("127.0.0.1", 0))
            async with ctx.gate.request("GET", "https://peer.example/x", purpose=None) as r:
                return r, quote("x"), timeout
    ''',
}


def test_the_checker_catches_a_planted_bypass(tmp_path: Path) -> None:
    # Given a tree with a module that reaches out in every way the rule forbids, and one
    # that only uses dicts, database sessions, timeouts and the gate
    for name, source in PLANTED.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(source), encoding="utf-8")
    # When the checker reads it
    found = violations(tmp_path, ("node", "web"))
    # Then every bypass is reported, at its line, and nothing in the harmless module is
    assert {v.module for v in found} == {"node/bypass.py"}
    whats = {v.what for v in found}
    assert whats >= {
        "import requests", "import urllib.request", "import http.client", "from httpx import AsyncClient",
        "from aiohttp import ClientSession", "from aiohttp import TCPConnector",
        "from federation.addresses import make_session", "aiohttp.ClientSession", "session.get()",
        "aiohttp.request", "ctx.http_client.post()", "self._session.ws_connect()", "asyncio.open_connection",
        "socket.create_connection", "sock.connect()", "asyncio.get_running_loop().sock_connect()",
        "aiohttp.TCPConnector", "ctx.gate._session.request()",
        "ctx.gate._session.request(allow_redirects=…)", "make_session()",
        "import boto3", "from aiobotocore.session import get_session", "from botocore.config import Config",
    }, sorted(whats)
    assert all(v.line > 1 for v in found)


def test_only_the_operators_own_store_is_allowed_beside_the_gate() -> None:
    # Given the modules allowed to connect without the gate
    # Then the one that is not the gate's own is exactly the S3 media store, and it exists
    assert set(OPERATOR_MODULES) == {"storage/media_s3.py"}
    assert all((ROOT / module).is_file() for module in OPERATOR_MODULES)
    # And without its allowance the checker would flag it (it does connect: the AWS SDK)
    finder = _Finder("storage/media_s3.py")
    finder.visit(ast.parse((ROOT / "storage/media_s3.py").read_text(encoding="utf-8")))
    assert any("aiobotocore" in v.what for v in finder.found)


def test_the_node_says_why_it_fetches() -> None:
    # Every fetch the node and the web layer make names its purpose (the audit entry of a
    # refusal says what the node was trying to do), never the fetcher's default
    missing = []
    for package in ("node", "web"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in ("fetch_object", "fetch_json")
                        and not any(k.arg == "purpose" for k in node.keywords)):
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert missing == []
