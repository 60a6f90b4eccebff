"""OAuth 2 for client apps: registration, grants, tokens and scopes.

Secrets, codes and tokens are random (256 bits) and stored as SHA-256 digests only. A token
is void when revoked, when its account is disabled, or when the account's
`credentials_version` has moved on since the token was issued (password change, disable).

Scopes are Mastodon's: `read`, `write`, `follow`, `push`, and granular ones such as
`read:statuses`; a top-level scope grants every granular scope under it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from node import signin
from node.context import NodeContext
from node.ratelimit import RateLimited
from storage.errors import AtriumError
from storage.models import Account, OAuthApp, OAuthCode, OAuthToken, utcnow

OOB = "urn:ietf:wg:oauth:2.0:oob"
TOP_SCOPES = ("read", "write", "follow", "push")
GRANULAR = {
    "read": (
        "accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists",
        "mutes", "notifications", "search", "statuses",
    ),
    "write": (
        "accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows",
        "lists", "media", "mutes", "notifications", "reports", "statuses",
    ),
}
# `follow` is the older umbrella for relationship scopes.
FOLLOW_COVERS = frozenset(
    {"read:blocks", "write:blocks", "read:follows", "write:follows", "read:mutes", "write:mutes"}
)
SUPPORTED_SCOPES = (
    *TOP_SCOPES,
    "profile",
    *(f"{top}:{area}" for top, areas in GRANULAR.items() for area in areas),
)
CODE_LIFETIME = timedelta(minutes=10)


class OAuthError(AtriumError):
    """An RFC 6749 error: `code` is the machine-readable `error`, `reason` its description."""

    def __init__(self, code: str, reason: str, *, status: int = 400) -> None:
        super().__init__(reason, status=status)
        self.code = code


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(value: str | None, *, default: str = "read") -> frozenset[str]:
    """Space- (or `+`-) separated scopes, each checked against the supported set."""
    names = frozenset((value or default).replace("+", " ").split()) or frozenset({default})
    unknown = sorted(names - set(SUPPORTED_SCOPES))
    if unknown:
        raise OAuthError("invalid_scope", f"unknown scope(s): {' '.join(unknown)}")
    return names


def allows(granted: frozenset[str], required: str) -> bool:
    """Whether the scopes `granted` cover `required` (`read`, `write:statuses`, …)."""
    if required in granted:
        return True
    top = required.split(":", 1)[0]
    if ":" in required and top in granted:
        return True
    return "follow" in granted and required in FOLLOW_COVERS


def _check_redirect_uris(raw: str) -> list[str]:
    uris = [u.strip() for u in raw.replace("\r", "\n").split("\n") if u.strip()]
    if not uris:
        raise OAuthError("invalid_redirect_uri", "redirect_uris is required", status=422)
    for uri in uris:
        parts = urlsplit(uri)
        if "#" in uri or (uri != OOB and not (parts.scheme and (parts.netloc or parts.path))):
            raise OAuthError("invalid_redirect_uri", f"not an absolute URI: {uri!r}", status=422)
    return uris


@dataclass(frozen=True)
class RegisteredApp:
    app: OAuthApp
    client_secret: str

    @property
    def redirect_uris(self) -> list[str]:
        return self.app.redirect_uris.split("\n")


async def register_app(
    ctx: NodeContext, name: str, redirect_uris: str, scopes: str | None, website: str | None
) -> RegisteredApp:
    name = (name or "").strip()
    if not name:
        raise OAuthError("invalid_client_metadata", "client_name is required", status=422)
    if len(name) > 255:
        raise OAuthError("invalid_client_metadata", "client_name is too long", status=422)
    uris = _check_redirect_uris(redirect_uris)
    scope_set = parse_scopes(scopes)
    secret = secrets.token_urlsafe(32)
    app = OAuthApp(
        client_id=secrets.token_urlsafe(32),
        client_secret_hash=digest(secret),
        name=name,
        redirect_uris="\n".join(uris),
        scopes=" ".join(sorted(scope_set)),
        website=(website or None),
        created_at=utcnow(),
    )
    async with ctx.db.session() as s:
        s.add(app)
    return RegisteredApp(app, secret)


async def _app(s: AsyncSession, client_id: str | None) -> OAuthApp:
    app = await s.scalar(select(OAuthApp).where(OAuthApp.client_id == (client_id or "")))
    if app is None:
        raise OAuthError("invalid_client", "unknown client", status=401)
    return app


def _secret_ok(app: OAuthApp, client_secret: str | None) -> bool:
    return client_secret is not None and hmac.compare_digest(app.client_secret_hash, digest(client_secret))


async def find_app(ctx: NodeContext, client_id: str | None) -> OAuthApp:
    async with ctx.db.reader() as s:
        return await _app(s, client_id)


async def authenticate_app(ctx: NodeContext, client_id: str | None, client_secret: str | None) -> OAuthApp:
    app = await find_app(ctx, client_id)
    if not _secret_ok(app, client_secret):
        raise OAuthError("invalid_client", "wrong client credentials", status=401)
    return app


def _granted(app: OAuthApp, requested: str | None) -> frozenset[str]:
    """The requested scopes (the app's own by default), never beyond what the app registered."""
    allowed = frozenset(app.scopes.split())
    scopes = parse_scopes(requested, default=app.scopes)
    beyond = sorted(s for s in scopes if not allows(allowed, s))
    if beyond:
        raise OAuthError("invalid_scope", f"scope(s) not registered for this app: {' '.join(beyond)}")
    return scopes


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    refresh_token: str | None
    scopes: frozenset[str]
    created_at: datetime

    @property
    def scope(self) -> str:
        return " ".join(sorted(self.scopes))


async def _issue(s: AsyncSession, app: OAuthApp, account: Account | None, scopes: frozenset[str]) -> IssuedToken:
    access = secrets.token_urlsafe(32)
    refresh = secrets.token_urlsafe(32) if account is not None else None
    now = utcnow()
    s.add(
        OAuthToken(
            access_hash=digest(access),
            refresh_hash=digest(refresh) if refresh else None,
            app_id=app.id,
            account_id=account.id if account else None,
            scopes=" ".join(sorted(scopes)),
            credentials_version=account.credentials_version if account else 0,
            revoked=False,
            created_at=now,
        )
    )
    return IssuedToken(access, refresh, scopes, now)


async def password_grant(
    ctx: NodeContext, app: OAuthApp, login: str, password: str, scope: str | None, *, client: str
) -> IssuedToken:
    """Resource owner password grant: `login` is a username or an email address; `client`
    the address the request came from (the sign-in limits count it)."""
    scopes = _granted(app, scope)
    try:
        account = await signin.password_only(ctx, login, password, client=client)
    except RateLimited:
        raise  # 429 with Retry-After, not a plain invalid_grant: the client should wait
    except AtriumError as exc:
        raise OAuthError("invalid_grant", exc.reason, status=400) from exc
    async with ctx.db.session() as s:
        return await _issue(s, app, account, scopes)


async def client_credentials_grant(ctx: NodeContext, app: OAuthApp, scope: str | None) -> IssuedToken:
    scopes = _granted(app, scope)
    async with ctx.db.session() as s:
        return await _issue(s, app, None, scopes)


async def create_code(
    ctx: NodeContext,
    app: OAuthApp,
    account: Account,
    redirect_uri: str,
    scope: str | None,
    code_challenge: str | None,
    code_challenge_method: str | None,
) -> str:
    """A one-time code for `account`, after it consented on the authorize page."""
    check_redirect(app, redirect_uri)
    scopes = _granted(app, scope)
    if code_challenge is not None and (code_challenge_method or "plain") != "S256":
        raise OAuthError("invalid_request", "only the S256 code challenge method is supported")
    code = secrets.token_urlsafe(32)
    async with ctx.db.session() as s:
        s.add(
            OAuthCode(
                code_hash=digest(code),
                app_id=app.id,
                account_id=account.id,
                redirect_uri=redirect_uri,
                scopes=" ".join(sorted(scopes)),
                code_challenge=code_challenge,
                expires_at=utcnow() + CODE_LIFETIME,
                created_at=utcnow(),
            )
        )
    return code


def check_redirect(app: OAuthApp, redirect_uri: str | None) -> str:
    if redirect_uri not in app.redirect_uris.split("\n"):
        raise OAuthError("invalid_request", "redirect_uri is not one the app registered")
    return redirect_uri


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def code_grant(
    ctx: NodeContext,
    client_id: str | None,
    client_secret: str | None,
    code: str,
    redirect_uri: str | None,
    code_verifier: str | None,
) -> IssuedToken:
    """Exchange a code; a public client (no secret) must prove PKCE instead."""
    async with ctx.db.session() as s:
        app = await _app(s, client_id)
        row = await s.scalar(select(OAuthCode).where(OAuthCode.code_hash == digest(code or "")))
        if row is not None:
            await s.delete(row)  # one use only, whatever happens next
    if row is None or row.app_id != app.id or row.expires_at < utcnow():
        raise OAuthError("invalid_grant", "the code is invalid, used or expired")
    if row.redirect_uri != redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
    if row.code_challenge is not None:
        if not code_verifier or not hmac.compare_digest(s256(code_verifier), row.code_challenge):
            raise OAuthError("invalid_grant", "the PKCE code verifier does not match")
    elif not _secret_ok(app, client_secret):
        raise OAuthError("invalid_client", "wrong client credentials", status=401)
    async with ctx.db.session() as s:
        account = await s.get(Account, row.account_id)
        if account is None or account.disabled:
            raise OAuthError("invalid_grant", "the account cannot sign in")
        return await _issue(s, app, account, frozenset(row.scopes.split()))


async def refresh_grant(
    ctx: NodeContext, app: OAuthApp, refresh_token: str, scope: str | None
) -> IssuedToken:
    """A new token pair for a refresh token; the old pair is revoked (rotation)."""
    async with ctx.db.session() as s:
        old = await s.scalar(
            select(OAuthToken).where(OAuthToken.refresh_hash == digest(refresh_token or ""))
        )
        account = await s.get(Account, old.account_id) if old and old.account_id else None
        if old is None or old.app_id != app.id or account is None or not _live(old, account):
            raise OAuthError("invalid_grant", "the refresh token is invalid or revoked")
        scopes = frozenset(old.scopes.split())
        if scope:
            narrower = parse_scopes(scope)
            if not narrower <= scopes:
                raise OAuthError("invalid_scope", "a refresh cannot widen the scopes")
            scopes = narrower
        old.revoked = True
        return await _issue(s, app, account, scopes)


async def revoke(ctx: NodeContext, app: OAuthApp, token: str) -> None:
    """Revoke an access or refresh token of this app; unknown tokens are not an error (RFC 7009)."""
    h = digest(token or "")
    async with ctx.db.session() as s:
        await s.execute(
            update(OAuthToken)
            .where(OAuthToken.app_id == app.id)
            .where((OAuthToken.access_hash == h) | (OAuthToken.refresh_hash == h))
            .values(revoked=True)
        )


async def revoke_account_tokens(ctx: NodeContext, account_id: int) -> None:
    async with ctx.db.session() as s:
        await s.execute(delete(OAuthToken).where(OAuthToken.account_id == account_id))


def _live(token: OAuthToken, account: Account | None) -> bool:
    if token.revoked:
        return False
    if account is None:
        return token.account_id is None
    return not account.disabled and account.credentials_version == token.credentials_version


@dataclass(frozen=True)
class Grant:
    """What a verified bearer token may do, and for whom (None: the app itself)."""

    account: Account | None
    app: OAuthApp
    scopes: frozenset[str]

    def allows(self, required: str) -> bool:
        return allows(self.scopes, required)


async def verify_token(ctx: NodeContext, access_token: str) -> Grant:
    async with ctx.db.reader() as s:
        token = await s.scalar(select(OAuthToken).where(OAuthToken.access_hash == digest(access_token)))
        app = await s.get(OAuthApp, token.app_id) if token else None
        account = await s.get(Account, token.account_id) if token and token.account_id else None
    if token is None or app is None or not _live(token, account):
        raise OAuthError("invalid_token", "the access token is invalid", status=401)
    return Grant(account, app, frozenset(token.scopes.split()))
