"""Users (admins only): the node's local accounts; create one, disable or enable, change a role."""

from __future__ import annotations

from aiohttp import web

from node import accounts, moderation
from storage.errors import Conflict, Invalid
from storage.models import ROLES
from web.ui.core import Page, page
from web.ui.risky import confirm_page, needs_confirming

ADMINS = ("admin",)


async def _render(p: Page, status: int = 200, *, error: str | None = None, keep: bool = False) -> web.Response:
    return p.render(
        "admin/users.html", status, title="Users", users=await accounts.list_users(p.ctx), roles=ROLES,
        error=error, done=p.request.query.get("done"),
        # After a refused creation the form keeps what was typed (bad input loses nothing).
        form={k: p.field(k) for k in ("username", "email", "role")} if keep else {"username": "", "email": "", "role": "user"},
    )


@page(roles=ADMINS)
async def users_page(p: Page) -> web.StreamResponse:
    return await _render(p)


@page(roles=ADMINS)
async def create(p: Page) -> web.StreamResponse:
    try:
        made = await moderation.add_user(p.ctx, p.user, p.field("username").strip(), p.field("password"),
                                         p.field("role", "user"), p.field("email").strip() or None)
    except (Invalid, Conflict) as exc:
        return await _render(p, exc.status, error=exc.reason, keep=True)
    return p.redirect(f"/admin/users?done=created-{made.username}#user-{made.username}")


@page(roles=ADMINS)
async def set_role(p: Page) -> web.StreamResponse:
    username = p.request.match_info["username"]
    try:
        await moderation.change_role(p.ctx, p.user, username, p.field("role"))
    except (Invalid, Conflict) as exc:
        return await _render(p, exc.status, error=exc.reason)
    return p.redirect(f"/admin/users?done=role-{username}#user-{username}")


@page(roles=ADMINS)
async def set_disabled(p: Page) -> web.StreamResponse:
    username = p.request.match_info["username"]
    disable = p.request.match_info["action"] == "disable"
    if disable and needs_confirming(p, "disable"):
        account = await accounts.get_local(p.ctx, username)
        return confirm_page(p, "disable", f"@{account.username}", f"/admin/users#user-{account.username}")
    try:
        await moderation.set_disabled(p.ctx, p.user, username, disable)
    except Conflict as exc:
        return await _render(p, exc.status, error=exc.reason)
    return p.redirect(f"/admin/users?done={'disabled' if disable else 'enabled'}-{username}#user-{username}")


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/admin/users", users_page)
    r.add_post("/admin/users", create)
    r.add_post("/admin/users/{username}/role", set_role)
    r.add_post("/admin/users/{username}/{action:(disable|enable)}", set_disabled)
