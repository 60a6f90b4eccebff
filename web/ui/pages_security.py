"""Sign-in security in the signed-in person's settings: their second factors (an authenticator
app with a QR code, passkeys), recovery codes shown once, and removal after re-authentication.
A staff account that must have a factor (`auth.require_second_factor_for`) is sent here and
may open nothing else until it has one."""

from __future__ import annotations

import segno
from aiohttp import web

from node import passkeys, second_factors, signin
from storage.errors import AtriumError, Invalid, NotFound, RateLimited
from storage.models import SecondFactor
from web.client import client_address
from web.ui.core import Page, page
from web.ui.pages_auth import too_many

HOME = "/settings/security"


def qr_data_uri(text: str) -> str:
    """The QR code of `text` as an inline SVG image (segno, a maintained QR library)."""
    return str(segno.make(text, error="m").svg_data_uri(scale=5, border=2, dark="#111", light="#fff"))


async def _home(p: Page, status: int = 200, *, error: str | None = None, done: str | None = None) -> web.Response:
    me = p.user
    return p.render("security.html", status, title="Sign-in security", factors=await second_factors.factors(p.ctx, me.id),
                    codes_left=await second_factors.recovery_codes_left(p.ctx, me.id),
                    must_enrol=await signin.must_enrol(p.ctx, me), error=error,
                    done=done or p.request.query.get("done", ""))


@page(enrolment=True)
async def security(p: Page) -> web.StreamResponse:
    return await _home(p)


def _totp_page(p: Page, enrolment: second_factors.TotpEnrolment, status: int = 200, error: str | None = None,
               name: str = "") -> web.Response:
    return p.render("security_totp.html", status, title="Add an authenticator app", token=enrolment.token,
                    secret=enrolment.secret, qr=qr_data_uri(enrolment.uri), uri=enrolment.uri, error=error, name=name)


@page(enrolment=True)
async def totp_begin(p: Page) -> web.StreamResponse:
    return _totp_page(p, await second_factors.begin_totp(p.ctx, p.user))


@page(enrolment=True)
async def totp_confirm(p: Page) -> web.StreamResponse:
    token = p.field("token")
    try:
        codes = await second_factors.confirm_totp(p.ctx, p.user, token, p.field("code"), p.field("name"))
    except Invalid as exc:  # the same enrolment again, with the reason
        enrolment = await second_factors.totp_enrolment(p.ctx, p.user, token)
        return _totp_page(p, enrolment, 422, exc.reason, p.field("name"))
    return _codes(p, codes, "totp")


def _codes(p: Page, codes: list[str], done: str) -> web.StreamResponse:
    if not codes:
        return p.redirect(f"{HOME}?done={done}")
    return p.render("security_codes.html", title="Your recovery codes", codes=codes)


@page(enrolment=True)
async def passkey_begin(p: Page) -> web.StreamResponse:
    token, options = await passkeys.begin_registration(p.ctx, p.user)
    return p.render("security_passkey.html", title="Add a passkey", token=token, options=options, error=None)


@page(enrolment=True)
async def passkey_confirm(p: Page) -> web.StreamResponse:
    try:
        codes = await passkeys.finish_registration(p.ctx, p.user, p.field("token"), p.field("credential"),
                                                   p.field("name"))
    except Invalid as exc:
        return await _home(p, 422, error=exc.reason)
    return _codes(p, codes, "passkey")


@page(enrolment=True)
async def new_codes(p: Page) -> web.StreamResponse:
    return _codes(p, await second_factors.new_recovery_codes(p.ctx, p.user), "codes")


async def _factor(p: Page, raw: str) -> SecondFactor:
    wanted = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 20 else -1
    for factor in await second_factors.factors(p.ctx, p.user.id):
        if factor.id == wanted:
            return factor
    raise NotFound("no such second factor")


@page()
async def remove_form(p: Page) -> web.StreamResponse:
    factor = await _factor(p, p.request.query.get("factor", ""))
    return p.render("security_remove.html", title="Remove a second factor", factor=factor, error=None)


@page()
async def remove(p: Page) -> web.StreamResponse:
    factor = await _factor(p, p.field("factor"))
    try:
        await signin.reauthenticate(p.ctx, p.user, p.field("password"), client=client_address(p.request))
    except RateLimited as exc:
        response = p.render("security_remove.html", 429, title="Remove a second factor", factor=factor,
                            error=too_many(exc))
        response.headers.update(exc.headers)
        return response
    except AtriumError:
        return p.render("security_remove.html", 403, title="Remove a second factor", factor=factor,
                        error="Your password is not right.")
    await second_factors.remove(p.ctx, p.user, factor.id)
    return p.redirect(f"{HOME}?done=removed")


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(HOME, security)
    r.add_post(f"{HOME}/totp", totp_begin)
    r.add_post(f"{HOME}/totp/confirm", totp_confirm)
    r.add_post(f"{HOME}/passkey", passkey_begin)
    r.add_post(f"{HOME}/passkey/confirm", passkey_confirm)
    r.add_post(f"{HOME}/recovery-codes", new_codes)
    r.add_get(f"{HOME}/remove", remove_form)
    r.add_post(f"{HOME}/remove", remove)
