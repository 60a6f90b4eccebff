"""The node's settings page (admins only): the name people read for the node."""

from __future__ import annotations

from aiohttp import web

from node import node_names
from storage.errors import Invalid
from web.ui.core import Page, page

ADMINS = ("admin",)


def _render(p: Page, status: int = 200, *, error: str | None = None, typed: str | None = None) -> web.Response:
    return p.render(
        "admin/settings.html",
        status,
        title="Node settings",
        error=error,
        done=p.request.query.get("done"),
        # After a refused name the field keeps what was typed (bad input loses nothing).
        name=typed if typed is not None else p.ctx.own_name.value,
        max_chars=node_names.MAX_CHARS,
    )


@page(roles=ADMINS)
async def settings_page(p: Page) -> web.StreamResponse:
    return _render(p)


@page(roles=ADMINS)
async def save_name(p: Page) -> web.StreamResponse:
    typed = p.field("name")
    try:
        await node_names.set_own_name(p.ctx, typed, source=f"web UI, by @{p.user.username}")
    except Invalid as exc:
        return _render(p, exc.status, error=exc.reason, typed=typed)
    return p.redirect("/admin/settings?done=name")


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/admin/settings", settings_page)
    r.add_post("/admin/settings/name", save_name)
