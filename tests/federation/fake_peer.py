"""A fake remote server over real HTTP on loopback: serves actor documents, records every
request it gets, and signs activities it sends to a node under test."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cache

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.signatures import sign_request
from federation.vocab import AP_CONTENT_TYPE, PUBLIC


@cache
def rsa_key(n: int = 0) -> rsa.RSAPrivateKey:
    """Keys made once per test process (RSA generation costs ~46 ms)."""
    del n
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@dataclass
class FakePeer:
    port: int
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)  # each request's headers, as `requests`
    received: list[dict[str, object]] = field(default_factory=list)
    also_known_as: dict[str, list[str]] = field(default_factory=dict)
    objects: dict[str, dict[str, object]] = field(default_factory=dict)  # URI -> document served
    actor_extra: dict[str, dict[str, object]] = field(default_factory=dict)  # name -> more actor fields
    actor_delay: float = 0.0  # seconds the peer takes to serve an actor document (a slow peer)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    def actor(self, name: str) -> str:
        return f"{self.base}/users/{name}"

    def key_id(self, name: str) -> str:
        return f"{self.actor(name)}#main-key"

    def add_actor(self, name: str, key: rsa.RSAPrivateKey | None = None) -> str:
        self.keys[name] = key or rsa_key(len(self.keys))
        return self.actor(name)

    def actor_document(self, name: str) -> dict[str, object]:
        uri = self.actor(name)
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": uri,
            "type": "Person",
            "preferredUsername": name,
            "name": name.title(),
            "inbox": f"{uri}/inbox",
            "outbox": f"{uri}/outbox",
            "followers": f"{uri}/followers",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {"id": self.key_id(name), "owner": uri, "publicKeyPem": public_pem(self.keys[name])},
            "alsoKnownAs": self.also_known_as.get(name, []),
            **self.actor_extra.get(name, {}),
        }

    def note(self, name: str, n: int, text: str, *, to: list[str] | None = None, cc: list[str] | None = None, **extra: object) -> dict[str, object]:
        return {
            "id": f"{self.actor(name)}/notes/{n}",
            "type": "Note",
            "attributedTo": self.actor(name),
            "content": text,
            "to": to if to is not None else [PUBLIC],
            "cc": cc if cc is not None else [f"{self.actor(name)}/followers"],
            "published": "2026-11-25T10:00:00Z",
            **extra,
        }

    def create(self, name: str, note: dict[str, object]) -> dict[str, object]:
        return {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{note['id']}/activity",
            "type": "Create",
            "actor": self.actor(name),
            "to": note.get("to"),
            "cc": note.get("cc"),
            "object": note,
        }

    async def post(
        self,
        inbox: str,
        activity: dict[str, object] | bytes,
        *,
        as_actor: str,
        key: rsa.RSAPrivateKey | None = None,
        headers: dict[str, str] | None = None,
        sign: bool = True,
    ) -> tuple[int, str]:
        body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
        send = {"Content-Type": AP_CONTENT_TYPE}
        if sign:
            send = sign_request("POST", inbox, send, body, self.key_id(as_actor), key or self.keys[as_actor])
        send.update(headers or {})
        async with aiohttp.ClientSession() as session, session.post(inbox, data=body, headers=send) as r:
            return r.status, await r.text()

    def app(self) -> web.Application:
        async def actor_route(request: web.Request) -> web.Response:
            name = request.match_info["name"]
            if name not in self.keys:
                return web.json_response({"error": "no"}, status=404)
            if self.actor_delay:
                await asyncio.sleep(self.actor_delay)
            return web.Response(text=json.dumps(self.actor_document(name)), content_type=AP_CONTENT_TYPE)

        async def inbox_route(request: web.Request) -> web.Response:
            self.received.append(json.loads(await request.read()))
            return web.Response(status=202)

        @web.middleware
        async def record(request: web.Request, handler):  # type: ignore[no-untyped-def]
            self.requests.append((request.method, request.path))
            self.headers.append(dict(request.headers))
            return await handler(request)

        async def object_route(request: web.Request) -> web.Response:
            doc = self.objects.get(f"{self.base}{request.path}")
            if doc is None:
                return web.json_response({"error": "no"}, status=404)
            return web.Response(text=json.dumps({"@context": "https://www.w3.org/ns/activitystreams", **doc}), content_type=AP_CONTENT_TYPE)

        app = web.Application(middlewares=[record])
        app.router.add_get("/users/{name}/notes/{n}", object_route)
        app.router.add_get("/users/{name}", actor_route)
        app.router.add_post("/users/{name}/inbox", inbox_route)
        app.router.add_post("/inbox", inbox_route)
        return app


@asynccontextmanager
async def running_peer(port: int) -> AsyncIterator[FakePeer]:
    peer = FakePeer(port)
    runner = web.AppRunner(peer.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield peer
    finally:
        await runner.cleanup()
