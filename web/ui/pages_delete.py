"""Deleting one's own account from the settings: a page that says what happens, the person's
password (and a code of their second factor, when they have one) to prove it is them, then
node/account_deletion.py and a signed-out goodbye page."""

from __future__ import annotations

from aiohttp import web

from node import account_deletion, second_factors, signin
from storage.errors import AtriumError, Conflict, RateLimited
from web.client import client_address
from web.ui.core import Page, cookies_of, del_cookie, page
from web.ui.pages_auth import too_many
from web.ui.risky import RISKY

HOME = "/settings/delete"
GOODBYE = "/goodbye"
TITLE = "Delete your account"


async def _form(p: Page, status: int = 200, error: str | None = None) -> web.Response:
    me = p.user
    return p.render("settings_delete.html", status, title=TITLE, risky=RISKY["delete-account"], error=error,
                    has_password=me.password_hash is not None,
                    has_factor=await second_factors.has_factor(p.ctx, me.id))


@page()
async def delete_form(p: Page) -> web.StreamResponse:
    return await _form(p)


@page()
async def delete(p: Page) -> web.StreamResponse:
    me = p.user
    try:
        await signin.reauthenticate(p.ctx, me, p.field("password"), client=client_address(p.request))
    except RateLimited as exc:
        response = await _form(p, 429, too_many(exc))
        response.headers.update(exc.headers)
        return response
    except AtriumError:
        return await _form(p, 403, "Your password is not right.")
    if await second_factors.has_factor(p.ctx, me.id) and not await second_factors.check_code(
        p.ctx, me.id, p.field("code").strip()
    ):
        return await _form(p, 403, "That code is not right, or was used already.")
    try:
        await account_deletion.delete_account(p.ctx, me.id, by=f"@{me.username} (themselves)")
    except Conflict as exc:  # under legal hold: nothing was changed
        return await _form(p, 409, f"Your account cannot be deleted now: {exc.reason}. Ask an administrator.")
    response = p.redirect(GOODBYE)
    del_cookie(response, p.ctx, cookies_of(p.ctx).session)  # its session row is gone already
    return response


@page(signed_in=False)
async def goodbye(p: Page) -> web.StreamResponse:
    return p.render("goodbye.html", title="Your account is deleted")


def setup_routes(app: web.Application) -> None:
    app.router.add_get(HOME, delete_form)
    app.router.add_post(HOME, delete)
    app.router.add_get(GOODBYE, goodbye)
