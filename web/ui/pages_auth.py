"""Sign in (a password, then a second factor when the account has one: node/signin.py), sign
out, and the first-run page that makes a new node's first admin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from node import accounts, sessions, signin
from node.instance import get_instance, has_admin
from storage.errors import AtriumError, Forbidden, RateLimited
from storage.models import Account
from web.client import client_address
from web.ui.core import ENROL, Page, cookies_of, del_cookie, page, set_cookie


async def start_session(p: Page, account: Account, to: str) -> web.Response:
    token, _ = await sessions.create(p.ctx, account, p.request.headers.get("User-Agent", ""))
    response = p.redirect(to)
    set_cookie(response, p.ctx, cookies_of(p.ctx).session, token, max_age=int(sessions.LIFETIME.total_seconds()))
    del_cookie(response, p.ctx, cookies_of(p.ctx).csrf)
    return response


async def _setup_pending(p: Page) -> bool:
    instance = await get_instance(p.ctx.db)
    return instance.setup_token_hash is not None and not await has_admin(p.ctx.db)


@page(signed_in=False, enrolment=True)
async def signin_form(p: Page) -> web.StreamResponse:
    if p.me is not None:
        return p.redirect(p.next_url())
    return p.render("signin.html", title="Sign in", next=p.next_url(), login="", error=None,
                    setup_pending=await _setup_pending(p), **sso_choices(p))


def sso_choices(p: Page) -> dict[str, Any]:
    """What the sign-in page offers: the identity provider's button (`[auth.oidc]`), and the
    password form unless `auth.password_sign_in` is off (then folded as the admins' way in)."""
    return {"sso_name": p.ctx.oidc.display_name if p.ctx.oidc else None, "passwords": p.ctx.password_sign_in}


def too_many(exc: RateLimited) -> str:
    """The sign-in refusal's words: how long to wait, in the unit a person reads."""
    wait = exc.retry_after
    return f"Too many failed attempts. Try again in {wait} second(s)." if wait < 120 else \
        f"Too many failed attempts. Try again in {(wait + 59) // 60} minute(s)."


def _signin_page(p: Page, status: int, login: str, error: str | None) -> web.Response:
    return p.render("signin.html", status, title="Sign in", next=p.next_url(), login=login, error=error,
                    setup_pending=False, **sso_choices(p))


def _refused(p: Page, exc: AtriumError, again: Callable[[int, str], web.Response]) -> web.Response:
    """A refused step, said on the page it came from (`again`): a 429 with its wait."""
    if isinstance(exc, RateLimited):
        response = again(429, too_many(exc))
        response.headers.update(exc.headers)
        return response
    return again(exc.status, exc.reason)


async def _signed_in(p: Page, done: signin.Complete) -> web.Response:
    return await start_session(p, done.account, ENROL if done.must_enrol else p.next_url())


@page(signed_in=False, enrolment=True)
async def signin_password(p: Page) -> web.StreamResponse:
    login = p.field("login").strip()[:320]
    try:
        step = await signin.password_step(p.ctx, login, p.field("password"), client=client_address(p.request))
    except (RateLimited, Forbidden) as exc:
        return _refused(p, exc, lambda status, error: _signin_page(p, status, login, error))
    if isinstance(step, signin.SecondFactorNeeded):
        return _factor_page(p, 200, step.token, step.totp, step.passkey_options, None)
    return await _signed_in(p, step)


def _factor_page(p: Page, status: int, token: str, totp: bool, passkey_options: str | None,
                 error: str | None) -> web.Response:
    return p.render("signin_factor.html", status, title="Second factor", next=p.next_url(), token=token,
                    totp=totp, passkey_options=passkey_options, error=error)


@page(signed_in=False, enrolment=True)
async def signin_factor(p: Page) -> web.StreamResponse:
    token = p.field("token")
    try:
        done = await signin.second_factor_step(p.ctx, token, code=p.field("code"), passkey=p.field("credential"),
                                               client=client_address(p.request))
    except (RateLimited, Forbidden) as exc:
        try:
            again = await signin.pending(p.ctx, token)
        except Forbidden:  # the challenge is void (expired, or too many wrong answers)
            return _signin_page(p, exc.status, "", f"{exc.reason}. Sign in again.")
        return _refused(p, exc, lambda status, error: _factor_page(
            p, status, token, again.totp, again.passkey_options, error))
    return await _signed_in(p, done)


@page(signed_in=False, enrolment=True)
async def signout(p: Page) -> web.StreamResponse:
    token = p.request.cookies.get(cookies_of(p.ctx).session, "")
    if token:
        await sessions.revoke(p.ctx, token)
    response = p.redirect("/signin")
    del_cookie(response, p.ctx, cookies_of(p.ctx).session)
    return response


@page(signed_in=False)
async def setup_form(p: Page) -> web.StreamResponse:
    if not await _setup_pending(p):
        return p.render("setup_done.html", title="Already set up")
    return p.render("setup.html", title="Set up this node", username="", error=None)


async def start(p: Page) -> web.StreamResponse:
    """Where `/` sends someone not signed in: the first-run page while the node has no admin."""
    return p.redirect("/setup" if await _setup_pending(p) else "/signin")


@page(signed_in=False)
async def setup(p: Page) -> web.StreamResponse:
    if not await _setup_pending(p):
        return p.render("setup_done.html", 403, title="Already set up")
    username = p.field("username").strip()
    password = p.field("password")
    if password != p.field("password_again"):
        return p.render("setup.html", 422, title="Set up this node", username=username, error="The two passwords differ.")
    # A wrong setup token is a failed sign-in from this address, limited like one.
    client = client_address(p.request)
    try:
        await p.ctx.limits.signin_attempt(p.ctx.db, None, client)
        account = await accounts.claim_first_admin(p.ctx, p.field("token").strip(), username, password)
    except AtriumError as exc:
        response = p.render("setup.html", exc.status, title="Set up this node", username=username, error=exc.reason)
        response.headers.update(getattr(exc, "headers", {}))
        return response
    await p.ctx.limits.signin_succeeded(p.ctx.db, None, client)
    return await start_session(p, account, "/")


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/signin", signin_form)
    r.add_post("/signin", signin_password)
    r.add_post("/signin/factor", signin_factor)
    r.add_post("/signout", signout)
    r.add_get("/setup", setup_form)
    r.add_post("/setup", setup)
