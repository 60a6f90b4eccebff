"""OAuth 2 endpoints: app registration, the authorize page, token, revoke, server metadata.

The authorize page asks for the username (or email) and password on the consent form itself,
then for the second factor of an account that has one (node/signin.py, the same sign-in as the
web UI's). Where the node has single sign-on (`[auth.oidc]`) it also offers "Sign in with
<provider>": the web UI's flow (web/ui/pages_sso.py) with this very authorize request as its
`next`, which comes back here signed in to the web UI; a signed-in browser then only confirms
(a form carrying the session's CSRF token) and the code is issued for its account. With
`auth.password_sign_in = false` the password form is folded away as the admins' way in.
"""

from __future__ import annotations

import base64
import hmac
import html
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from yarl import URL

from node import oauth, signin
from storage.errors import AtriumError, Forbidden
from web.api import serializers
from web.api.auth import Params, ctx_of, grant_of, params, text_param
from web.client import client_address
from web.ui.core import current_session

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; form-action 'self'",
    "Cache-Control": "no-store",
}
AUTHORIZE_FIELDS = ("client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method")


def _oauth_error(exc: AtriumError) -> web.Response:
    code = exc.code if isinstance(exc, oauth.OAuthError) else "invalid_request"
    headers = {**NO_STORE, **getattr(exc, "headers", {})}  # e.g. Retry-After with a 429
    return web.json_response({"error": code, "error_description": exc.reason}, status=exc.status, headers=headers)


async def create_app(request: web.Request) -> web.Response:
    p = await params(request)
    uris = p.get("redirect_uris")
    raw_uris = "\n".join(str(u) for u in uris) if isinstance(uris, list) else str(uris or "")
    registered = await oauth.register_app(
        ctx_of(request),
        str(p.get("client_name") or ""),
        raw_uris,
        text_param(p, "scopes"),
        text_param(p, "website"),
    )
    return web.json_response(serializers.application(registered.app, registered.client_secret))


async def verify_app(request: web.Request) -> web.Response:
    """`GET /api/v1/apps/verify_credentials`: the app a token was issued to (an app's own
    token, or a user's), as Mastodon's Application entity without its client credentials."""
    grant = await grant_of(request)
    if grant is None:
        raise oauth.OAuthError("invalid_token", "The access token is invalid", status=401)
    return web.json_response(serializers.application(grant.app))


def _client_credentials(request: web.Request, p: Params) -> tuple[str | None, str | None]:
    """From HTTP Basic (client_secret_basic) or the body (client_secret_post)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except ValueError:
            decoded = ""
        client_id, _, secret = decoded.partition(":")
        return client_id or None, secret or None
    return text_param(p, "client_id"), text_param(p, "client_secret")


async def token(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    try:
        p = await params(request)
        client_id, secret = _client_credentials(request, p)
        grant_type = text_param(p, "grant_type")
        scope = text_param(p, "scope")
        if grant_type == "authorization_code":
            issued = await oauth.code_grant(
                ctx, client_id, secret, text_param(p, "code") or "", text_param(p, "redirect_uri"),
                text_param(p, "code_verifier"),
            )
        elif grant_type in ("password", "client_credentials", "refresh_token"):
            app = await oauth.authenticate_app(ctx, client_id, secret)
            if grant_type == "password":
                issued = await oauth.password_grant(
                    ctx, app, text_param(p, "username") or "", text_param(p, "password") or "", scope,
                    client=client_address(request),
                )
            elif grant_type == "client_credentials":
                issued = await oauth.client_credentials_grant(ctx, app, scope)
            else:
                issued = await oauth.refresh_grant(ctx, app, text_param(p, "refresh_token") or "", scope)
        else:
            raise oauth.OAuthError("unsupported_grant_type", f"unsupported grant_type {grant_type!r}")
    except AtriumError as exc:
        return _oauth_error(exc)
    return web.json_response(serializers.token(issued), headers=NO_STORE)


async def revoke(request: web.Request) -> web.Response:
    try:
        p = await params(request)
        client_id, secret = _client_credentials(request, p)
        app = await oauth.authenticate_app(ctx_of(request), client_id, secret)
        await oauth.revoke(ctx_of(request), app, text_param(p, "token") or "")
    except AtriumError as exc:
        return _oauth_error(exc)
    return web.json_response({})


def _page(title: str, body: str, status: int = 200) -> web.Response:
    doc = (
        "<!doctype html><html><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width">'
        f"<title>{html.escape(title)}</title></head>"
        '<body style="font-family:sans-serif;max-width:32em;margin:2em auto">'
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return web.Response(text=doc, content_type="text/html", status=status, headers=PAGE_HEADERS)


def _hidden(fields: dict[str, str]) -> str:
    return "".join(f'<input type=hidden name="{k}" value="{html.escape(v, quote=True)}">' for k, v in fields.items() if v)


def _sso_link(request: web.Request, fields: dict[str, str]) -> str:
    """"Sign in with <provider>", coming back to this authorize request (a local path)."""
    provider = ctx_of(request).oidc
    if provider is None:
        return ""
    back = "/oauth/authorize?" + urlencode({"response_type": "code", **{k: v for k, v in fields.items() if v}})
    return (f'<p><a href="/auth/oidc?next={quote(back, safe="")}" style="display:inline-block;padding:.6em 1.2em;'
            'background:#3b4ba8;color:#fff;border-radius:6px;text-decoration:none">'
            f"Sign in with {html.escape(provider.display_name)}</a></p>")


def _consent_form(request: web.Request, app_name: str, scopes: str, fields: dict[str, str], error: str | None) -> str:
    problem = f'<p role=alert style="color:#b00">{html.escape(error)}</p>' if error else ""
    sso = _sso_link(request, fields)
    password_form = (
        f'<form method=post action="/oauth/authorize">{_hidden(fields)}'
        '<p><label>Username or email<br><input name=username autocomplete=username required></label></p>'
        '<p><label>Password<br><input name=password type=password '
        'autocomplete=current-password required></label></p>'
        "<p><button type=submit>Authorize</button></p></form>"
    )
    if sso and not ctx_of(request).password_sign_in:
        password_form = f"<details><summary>Administrator sign-in</summary>{password_form}</details>"
    elif sso:
        password_form = f"<p>or with a password:</p>{password_form}"
    return (
        f"<p><strong>{html.escape(app_name)}</strong> asks to use your account with these "
        f"permissions: <code>{html.escape(scopes)}</code>.</p>{problem}{sso}{password_form}"
    )


def _confirm_form(app_name: str, scopes: str, fields: dict[str, str], username: str, csrf: str) -> str:
    """The authorize page for a browser signed in to the web UI (after single sign-on): a
    click confirms, the session's CSRF token proving the form came from this page."""
    return (
        f"<p><strong>{html.escape(app_name)}</strong> asks to use your account "
        f"<strong>@{html.escape(username)}</strong> with these permissions: <code>{html.escape(scopes)}</code>.</p>"
        f'<form method=post action="/oauth/authorize">{_hidden({**fields, "consent": "session", "csrf": csrf})}'
        "<p><button type=submit>Authorize</button></p></form>"
    )


async def _authorize_request(request: web.Request, p: Params) -> tuple[Any, dict[str, str]]:
    fields = {k: text_param(p, k) or "" for k in AUTHORIZE_FIELDS}
    if (text_param(p, "response_type") or "code") != "code":
        raise oauth.OAuthError("unsupported_response_type", "only response_type=code is supported")
    app = await oauth.find_app(ctx_of(request), fields["client_id"])
    oauth.check_redirect(app, fields["redirect_uri"])
    fields["scope"] = " ".join(sorted(oauth.parse_scopes(fields["scope"] or None, default=app.scopes)))
    return app, fields


async def authorize_page(request: web.Request) -> web.Response:
    try:
        app, fields = await _authorize_request(request, dict(request.query))
    except AtriumError as exc:
        return _page("Authorization failed", f"<p>{html.escape(exc.reason)}</p>", exc.status)
    session = await current_session(request)
    if session is not None:
        return _page("Authorize an app", _confirm_form(app.name, fields["scope"], fields, session.account.username,
                                                       session.csrf_token))
    return _page("Authorize an app", _consent_form(request, app.name, fields["scope"], fields, None))


def _factor_form(fields: dict[str, str], step: signin.SecondFactorNeeded, error: str | None) -> str:
    """The second step of the authorize form, for an account with a second factor."""
    hidden = "".join(
        f'<input type=hidden name="{k}" value="{html.escape(v, quote=True)}">'
        for k, v in {**fields, "factor_token": step.token}.items() if v
    )
    problem = f'<p role=alert style="color:#b00">{html.escape(error)}</p>' if error else ""
    passkey = (
        f'<form method=post action="/oauth/authorize" data-passkey=get '
        f'data-options="{html.escape(step.passkey_options, quote=True)}">{hidden}'
        "<input type=hidden name=credential value=''>"
        "<p><button type=submit data-passkey-start>Use a passkey</button></p>"
        "<p data-passkey-status role=status></p></form>"
        '<script src="/static/passkeys.js" defer></script>'
    ) if step.passkey_options else ""
    label = "Code from your authenticator app, or a recovery code" if step.totp else "Recovery code"
    return (
        f"<p>Your password was right. Now prove it is you with your second factor.</p>{problem}{passkey}"
        f'<form method=post action="/oauth/authorize">{hidden}'
        f"<p><label>{label}<br><input name=code autocomplete=one-time-code required maxlength=64></label></p>"
        "<p><button type=submit>Verify</button></p></form>"
    )


async def _signed_in(request: web.Request, p: Params) -> signin.Complete | signin.SecondFactorNeeded:
    """The authorize form's sign-in, through node/signin.py: the password, then the second
    factor (a second post of the form carrying `factor_token`)."""
    ctx, client = ctx_of(request), client_address(request)
    if text_param(p, "consent") == "session":
        session = await current_session(request)
        if session is None or not hmac.compare_digest(text_param(p, "csrf") or "", session.csrf_token):
            raise Forbidden("this form has expired or your web sign-in ended: open the app's sign-in again")
        return signin.Complete(session.account, await signin.must_enrol(ctx, session.account))
    token = text_param(p, "factor_token")
    if token:
        return await signin.second_factor_step(ctx, token, code=text_param(p, "code") or "",
                                               passkey=text_param(p, "credential") or "", client=client)
    return await signin.password_step(ctx, text_param(p, "username") or "", text_param(p, "password") or "",
                                      client=client)


async def authorize(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    p = await params(request)
    try:
        app, fields = await _authorize_request(request, p)
    except AtriumError as exc:
        return _page("Authorization failed", f"<p>{html.escape(exc.reason)}</p>", exc.status)
    try:
        step = await _signed_in(request, p)
        if isinstance(step, signin.SecondFactorNeeded):
            return _page("Second factor", _factor_form(fields, step, None))
        if step.must_enrol:
            raise Forbidden(signin.ENROL_FIRST)
        code = await oauth.create_code(
            ctx, app, step.account, fields["redirect_uri"], fields["scope"],
            fields["code_challenge"] or None, fields["code_challenge_method"] or None,
        )
    except AtriumError as exc:
        page = await _refused(request, p, app.name, fields, exc)
        page.headers.update(getattr(exc, "headers", {}))  # a 429's Retry-After
        return page
    if fields["redirect_uri"] == oauth.OOB:
        return _page(
            "Authorization code",
            "<p>Copy this code into the app:</p>"
            f'<p><input readonly size=50 value="{html.escape(code, quote=True)}"></p>',
        )
    target = URL(fields["redirect_uri"])
    query = [*target.query.items(), ("code", code)]
    if fields["state"]:
        query.append(("state", fields["state"]))
    raise web.HTTPFound(str(target.with_query(query)), headers={"Cache-Control": "no-store"})


async def _refused(request: web.Request, p: Params, app_name: str, fields: dict[str, str], exc: AtriumError) -> web.Response:
    """A refused sign-in, said on the form it came from: the second step while its challenge
    lives, else the first."""
    token = text_param(p, "factor_token")
    if token:
        try:
            step = await signin.pending(ctx_of(request), token)
        except AtriumError:
            return _page("Authorize an app", _consent_form(request, app_name, fields["scope"], fields,
                                                            f"{exc.reason}. Sign in again."), exc.status)
        return _page("Second factor", _factor_form(fields, step, exc.reason), exc.status)
    return _page("Authorize an app", _consent_form(request, app_name, fields["scope"], fields, exc.reason), exc.status)


async def server_metadata(request: web.Request) -> web.Response:
    base = ctx_of(request).base_url
    return web.json_response(
        {
            "issuer": f"{base}/",
            "service_documentation": "https://docs.joinmastodon.org/",
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "app_registration_endpoint": f"{base}/api/v1/apps",
            "scopes_supported": list(oauth.SUPPORTED_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "password", "client_credentials", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        }
    )


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/apps", create_app)
    app.router.add_get("/api/v1/apps/verify_credentials", verify_app)
    app.router.add_get("/oauth/authorize", authorize_page)
    app.router.add_post("/oauth/authorize", authorize)
    app.router.add_post("/oauth/token", token)
    app.router.add_post("/oauth/revoke", revoke)
    app.router.add_get("/.well-known/oauth-authorization-server", server_metadata)
