"""A small OpenID provider over real HTTP on loopback, for the hostile single-sign-on tests: it
answers discovery, JWKS, authorize and token like a real provider (and checks the client's
secret and PKCE like one), but the test decides what the ID token says and how it is signed —
another key, `alg: none`, a wrong audience, an expired token, an old nonce. The real provider
(oidc-provider on Node 22) is tests/sso/real_provider.py; this one exists to lie.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import RSAKey

from node import oidc
from node.context import NodeContext
from node.oidc_settings import DEFAULT_SCOPES, OidcConfig
from tests.factory import free_port

CLIENT_ID = "atrium-test"
CLIENT_SECRET = "a client secret for tests"
ADMINS, MODERATORS = "atrium-admins", "atrium-moderators"


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    """An `alg: none` token: a header, the claims and no signature."""
    return f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}."


Tamper = Callable[[dict[str, Any]], str | None]  # may change the claims; a str replaces the token


@dataclass
class FakeIdP:
    port: int
    person: dict[str, Any] = field(default_factory=lambda: {
        "sub": "00u-alice", "preferred_username": "alice@acme.example", "name": "Alice Liddell",
        "email": "alice@acme.example", "groups": ["staff"]})
    signing_key: RSAKey = field(default_factory=lambda: new_key("k1"))
    published: list[RSAKey] = field(default_factory=list)
    tamper: Tamper | None = None
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    nonces_seen: list[str] = field(default_factory=list)
    hits: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.published = self.published or [self.signing_key]

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rotate(self, kid: str) -> None:
        """A new signing key, published beside the old one (as providers roll keys)."""
        self.signing_key = new_key(kid)
        self.published = [self.signing_key, *self.published]

    def sign(self, claims: dict[str, Any], key: RSAKey | None = None) -> str:
        k = key or self.signing_key
        return jwt.encode({"alg": "RS256", "kid": k.kid}, claims, k)

    def claims_for(self, nonce: str) -> dict[str, Any]:
        now = int(time.time())
        return {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": nonce, **self.person}

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self.discovery)
        app.router.add_get("/jwks", self.jwks)
        app.router.add_get("/authorize", self.authorize)
        app.router.add_post("/token", self.token)
        return app

    async def discovery(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        return web.json_response({
            "issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })

    async def jwks(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        return web.json_response({"keys": [k.as_dict(private=False) for k in self.published]})

    async def authorize(self, request: web.Request) -> web.Response:
        """Signs the person in at once and sends the browser back with a code."""
        self.hits.append(request.path)
        q = request.query
        if q.get("client_id") != CLIENT_ID or q.get("code_challenge_method") != "S256":
            return web.Response(status=400, text="bad authorize request")
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"nonce": q["nonce"], "challenge": q["code_challenge"], "redirect_uri": q["redirect_uri"]}
        self.nonces_seen.append(q["nonce"])
        raise web.HTTPFound(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}")

    async def token(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        form = await request.post()
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".replace(" ", "+").encode()).decode()
        if request.headers.get("Authorization") != expected:
            return web.json_response({"error": "invalid_client"}, status=401)
        pending = self.codes.pop(str(form.get("code")), None)
        if pending is None or pending["redirect_uri"] != form.get("redirect_uri"):
            return web.json_response({"error": "invalid_grant"}, status=400)
        verifier = str(form.get("code_verifier"))
        if b64(hashlib.sha256(verifier.encode()).digest()) != pending["challenge"]:
            return web.json_response({"error": "invalid_grant", "error_description": "PKCE"}, status=400)
        claims = self.claims_for(pending["nonce"])
        token = self.tamper(claims) if self.tamper else None
        return web.json_response({"access_token": "opaque", "token_type": "Bearer",
                                  "id_token": token or self.sign(claims)})


@asynccontextmanager
async def fake_idp() -> AsyncIterator[FakeIdP]:
    idp = FakeIdP(free_port())
    runner = web.AppRunner(idp.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", idp.port).start()
    try:
        yield idp
    finally:
        await runner.cleanup()


def use_provider(ctx: NodeContext, issuer: str, *, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET,
                 groups: bool = True, scopes: tuple[str, ...] = DEFAULT_SCOPES) -> None:
    """Give a running node's context single sign-on with the provider at `issuer`, as
    atrium/assembly.py does from `[auth.oidc]`."""
    config = OidcConfig(issuer=issuer, client_id=client_id, display_name="Acme ID", scopes=scopes)
    ctx.oidc = oidc.provider_for(config, secret, ctx.base_url, admin_groups=(ADMINS,) if groups else (),
                                 moderator_groups=(MODERATORS,) if groups else ())
