"""Single sign-on with the company's OpenID provider: the authorization-code flow with PKCE
(Authlib's PKCE and token helpers, joserfc — Authlib's JOSE — for the ID token), from the
redirect to the provider to a checked identity.

Every request to the provider — its discovery document, its keys (JWKS) and the code
exchange — goes through the node's outbound gate with `Purpose.IDENTITY_PROVIDER`
(federation/gate.py). The provider is no federation peer, so the trust policy is not what
admits it: node/contact.py admits that purpose for the hosts `Provider.admits` names and for
no other, and refuses (and audits) every other host. Those hosts are the configured issuer's
and the ones its own discovery document names for its endpoints (Google's keys live on
www.googleapis.com, its issuer is accounts.google.com); nothing a peer or a person sends can
add one. Going through the gate keeps the address guard (a provider on a private network
needs `federation.allowed_private_networks`), `federation.ca_file` and the node's
User-Agent — and keeps the node's one HTTP client (tests/security/test_one_http_client.py).

The ID token is checked whole before anyone is signed in: its algorithm (asymmetric only:
`none` and HMAC are refused), its signature against the provider's published keys (an unknown
key id re-reads the JWKS once: the provider rotated its keys), the issuer, the audience (and
`azp` when there are several), the expiry and issue time, and the nonce of this very sign-in.
The `state` is single use and bound to the browser that started the sign-in (OidcLogin).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import aiohttp
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete, select

from federation.addresses import FetchError
from federation.gate import Purpose
from node.context import NodeContext
from node.oidc_settings import OidcConfig
from node.remote import domain_of
from storage.errors import AtriumError, Invalid
from storage.models import OidcLogin, utcnow

CALLBACK_PATH = "/auth/oidc/callback"
LOGIN_LIFETIME = timedelta(minutes=10)
METADATA_SECONDS = 3600.0  # the discovery document and keys are read again after an hour
KEYS_RETRY_SECONDS = 10.0  # a key id still unknown after a re-read waits this long for another
MAX_BODY = 256 * 1024
LEEWAY = 60  # seconds of clock difference allowed on exp and iat
# Asymmetric algorithms only: `none` is never a signature, and HMAC with the client secret
# would let anyone holding that secret (it sits in a file on every node process) forge tokens.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
TIMEOUT = aiohttp.ClientTimeout(total=15)


class SignInRefused(AtriumError):
    """A single sign-on that cannot complete: 400 (or the status given) with the reason."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(reason, status=status)


class ProviderUnavailable(AtriumError):
    """The identity provider did not answer as it should: 502 with what went wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the identity provider could not be used: {reason}", status=502)


@dataclass(frozen=True)
class Metadata:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    auth_methods: tuple[str, ...]


@dataclass(frozen=True)
class Identity:
    """What a checked ID token says of the person, and where they were going."""

    issuer: str
    subject: str
    claims: dict[str, Any]
    next_path: str


@dataclass
class Provider:
    """The node's identity provider in this process: its settings, client secret and the
    cached discovery document and keys."""

    config: OidcConfig
    # The client secret, read on first need and kept (atrium serve reads it at start, so a
    # missing one stops the process there; a CLI command that signs nobody in never reads it).
    secret_source: Callable[[], str]
    redirect_uri: str
    admin_groups: tuple[str, ...] = ()
    moderator_groups: tuple[str, ...] = ()
    _metadata: Metadata | None = None
    _metadata_at: float = float("-inf")
    _keys: KeySet | None = None
    _keys_at: float = float("-inf")
    _hosts: set[str] = field(default_factory=set)
    _kids_tried: set[object] = field(default_factory=set)  # unknown key ids that re-read the keys
    _secret: str | None = None

    def __post_init__(self) -> None:
        self._hosts.add(domain_of(self.config.issuer))

    def client_secret(self) -> str:
        if self._secret is None:
            self._secret = self.secret_source()
        return self._secret

    @property
    def display_name(self) -> str:
        return self.config.display_name

    def admits(self, host: str) -> bool:
        """Whether `host` (canonical) is the provider's: the issuer's host, or one its own
        discovery document names for an endpoint."""
        return host in self._hosts


def _provider(ctx: NodeContext) -> Provider:
    if ctx.oidc is None:
        raise SignInRefused("single sign-on is not set up on this node", status=404)
    return ctx.oidc


async def _call(ctx: NodeContext, method: str, url: str, *, headers: dict[str, str] | None = None,
                data: bytes | None = None) -> dict[str, Any]:
    """One request to the provider through the gate, its JSON answer read under a cap."""
    if ctx.gate is None:
        raise ProviderUnavailable("this process makes no outbound requests")
    try:
        async with ctx.gate.request(method, url, purpose=Purpose.IDENTITY_PROVIDER, headers=headers, data=data,
                                    timeout=TIMEOUT) as response:
            body = await response.content.read(MAX_BODY + 1)
            status = response.status
    except FetchError as exc:
        raise ProviderUnavailable(exc.reason) from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ProviderUnavailable(f"{urlsplit(url).netloc}: {exc.__class__.__name__}") from None
    if len(body) > MAX_BODY:
        raise ProviderUnavailable(f"{url} answered more than {MAX_BODY} bytes")
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if status >= 400 and isinstance(doc, dict) and "error" in doc:
        raise SignInRefused(f"the identity provider refused: {doc.get('error')} {doc.get('error_description', '')}".strip())
    if status != 200 or not isinstance(doc, dict):
        raise ProviderUnavailable(f"{url} answered {status} without a JSON object")
    return doc


def _endpoint(doc: dict[str, Any], name: str, issuer: str) -> str:
    value = doc.get(name)
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or not parts.hostname or parts.scheme != urlsplit(issuer).scheme:
        raise ProviderUnavailable(f"the discovery document's {name} is not a URL of the issuer's scheme")
    try:
        domain_of(str(value))
    except AtriumError as exc:
        raise ProviderUnavailable(f"the discovery document's {name} names no usable host: {exc.reason}") from None
    return str(value)


async def metadata(ctx: NodeContext) -> Metadata:
    """The provider's discovery document (OpenID Connect Discovery 1.0), read at most hourly;
    its `issuer` must be the configured one exactly."""
    p = _provider(ctx)
    if p._metadata is not None and time.monotonic() - p._metadata_at < METADATA_SECONDS:
        return p._metadata
    issuer = p.config.issuer
    doc = await _call(ctx, "GET", issuer.rstrip("/") + "/.well-known/openid-configuration",
                      headers={"Accept": "application/json"})
    if doc.get("issuer") != issuer:
        raise ProviderUnavailable(f"the discovery document names issuer {doc.get('issuer')!r}, not {issuer!r}")
    methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    found = Metadata(
        authorization_endpoint=_endpoint(doc, "authorization_endpoint", issuer),
        token_endpoint=_endpoint(doc, "token_endpoint", issuer),
        jwks_uri=_endpoint(doc, "jwks_uri", issuer),
        auth_methods=tuple(str(m) for m in methods) if isinstance(methods, list) else ("client_secret_basic",),
    )
    p._hosts.update(domain_of(u) for u in (found.token_endpoint, found.jwks_uri))
    p._metadata, p._metadata_at = found, time.monotonic()
    return found


async def _keys(ctx: NodeContext, *, refresh: bool = False) -> KeySet:
    p = _provider(ctx)
    fresh = time.monotonic() - p._keys_at < METADATA_SECONDS
    if p._keys is not None and fresh and not refresh:
        return p._keys
    doc = await _call(ctx, "GET", (await metadata(ctx)).jwks_uri, headers={"Accept": "application/json"})
    try:
        keys = KeySet.import_key_set(doc)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ProviderUnavailable(f"its key set could not be read: {exc}") from None
    p._keys, p._keys_at = keys, time.monotonic()
    return keys


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Begun:
    """Where to send the browser, and the cookie value that binds the sign-in to it."""

    url: str
    browser_token: str


async def begin(ctx: NodeContext, next_path: str) -> Begun:
    """Start a sign-in: a single-use state, a nonce and a PKCE verifier kept here (hashed
    state, bound to a browser token), and the provider's authorization URL."""
    p = _provider(ctx)
    found = await metadata(ctx)
    state, browser, nonce, verifier = (secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                                       secrets.token_urlsafe(32), generate_token(64))
    now = utcnow()
    async with ctx.db.session() as s:
        await s.execute(delete(OidcLogin).where(OidcLogin.expires_at < now))  # the abandoned ones
        s.add(OidcLogin(state_hash=_digest(state), browser_hash=_digest(browser), nonce=nonce,
                        code_verifier=verifier, next_path=next_path[:2048], created_at=now,
                        expires_at=now + LOGIN_LIFETIME))
    query = urlencode({
        "response_type": "code",
        "client_id": p.config.client_id,
        "redirect_uri": p.redirect_uri,
        "scope": " ".join(p.config.scopes),
        "state": state,
        "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    })
    sep = "&" if urlsplit(found.authorization_endpoint).query else "?"
    return Begun(f"{found.authorization_endpoint}{sep}{query}", browser)


async def _take_login(ctx: NodeContext, state: str, browser_token: str) -> OidcLogin:
    """The sign-in `state` names, deleted as it is read: a state answers once."""
    async with ctx.db.session() as s:
        login = await s.scalar(select(OidcLogin).where(OidcLogin.state_hash == _digest(state or "")))
        if login is not None:
            await s.delete(login)
    if login is None or login.expires_at < utcnow():
        raise SignInRefused("this sign-in was already used or has expired (state): start again")
    if not hmac.compare_digest(login.browser_hash, _digest(browser_token or "")):
        raise SignInRefused("this sign-in was started in another browser (state): start again")
    return login


async def finish(ctx: NodeContext, *, state: str, code: str, error: str, browser_token: str) -> Identity:
    """The provider sent the browser back: spend the state, exchange the code (with the PKCE
    verifier and the client's credentials) and check the ID token whole."""
    p = _provider(ctx)
    login = await _take_login(ctx, state, browser_token)
    if error:
        raise SignInRefused(f"the identity provider did not sign you in: {error[:200]}")
    if not code:
        raise SignInRefused("the identity provider sent no authorization code")
    found = await metadata(ctx)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": p.redirect_uri,
            "code_verifier": login.code_verifier}
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if "client_secret_basic" in found.auth_methods:
        pair = f"{quote_plus(p.config.client_id)}:{quote_plus(p.client_secret())}"  # form-encoded first (RFC 6749 2.3.1)
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        form |= {"client_id": p.config.client_id, "client_secret": p.client_secret()}
    tokens = await _call(ctx, "POST", found.token_endpoint, headers=headers, data=urlencode(form).encode())
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str):
        raise SignInRefused("the identity provider sent no ID token")
    claims = await check_id_token(ctx, id_token, nonce=login.nonce)
    return Identity(p.config.issuer, str(claims["sub"]), claims, login.next_path)


def _header(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise SignInRefused("the ID token is not a signed JWT")
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except ValueError:
        raise SignInRefused("the ID token's header is not JSON") from None
    if not isinstance(header, dict):
        raise SignInRefused("the ID token's header is not a JSON object")
    return header


async def check_id_token(ctx: NodeContext, token: str, *, nonce: str) -> dict[str, Any]:
    """The ID token's claims once every check passed; SignInRefused naming the first that did not."""
    p = _provider(ctx)
    header = _header(token)
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise SignInRefused(f"the ID token's algorithm {alg!r} is not accepted (only signatures by the provider's published keys)")
    kid = header.get("kid")
    keys = await _keys(ctx)
    if not _has_key(keys, kid) and (kid not in p._kids_tried or time.monotonic() - p._keys_at > KEYS_RETRY_SECONDS):
        p._kids_tried.add(kid)  # a new key id re-reads the keys at once (a rotation); again only after a wait
        keys = await _keys(ctx, refresh=True)
    if not _has_key(keys, kid):
        raise SignInRefused("the ID token is signed by a key the identity provider does not publish")
    try:
        decoded = jwt.decode(token, keys, algorithms=[alg])
    except JoseError as exc:
        raise SignInRefused(f"the ID token's signature is not valid ({exc.error})") from None
    claims = dict(decoded.claims)
    _check_claims(p, claims, nonce)
    return claims


def _has_key(keys: KeySet, kid: object) -> bool:
    if kid is None:
        return bool(keys.keys)
    return any(k.kid == kid for k in keys.keys)


def _check_claims(p: Provider, claims: dict[str, Any], nonce: str) -> None:
    if claims.get("iss") != p.config.issuer:
        raise SignInRefused(f"the ID token's issuer {claims.get('iss')!r} is not this node's identity provider")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if p.config.client_id not in audiences:
        raise SignInRefused("the ID token is meant for another client (audience)")
    if len(audiences) > 1 and claims.get("azp") != p.config.client_id:
        raise SignInRefused("the ID token's authorized party (azp) is not this node")
    now = time.time()
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or exp < now - LEEWAY:
        raise SignInRefused("the ID token has expired")
    if not isinstance(iat, int | float) or iat > now + LEEWAY:
        raise SignInRefused("the ID token's issue time is missing or in the future")
    given = claims.get("nonce")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), nonce.encode()):
        raise SignInRefused("the ID token's nonce is not this sign-in's (a replayed token)")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise SignInRefused("the ID token names no subject")


def provider_for(config: OidcConfig, secret: str | Callable[[], str], base_url: str, *,
                 admin_groups: tuple[str, ...] = (), moderator_groups: tuple[str, ...] = ()) -> Provider:
    """The node's provider in this process (atrium/assembly.py makes it from the settings);
    `secret` is the client secret, or how to read it when first needed."""
    if not config.issuer:
        raise Invalid("auth.oidc.issuer is required")
    source = secret if callable(secret) else (lambda: secret)
    return Provider(config, source, base_url + CALLBACK_PATH, admin_groups, moderator_groups)
