"""The staff pages of the web UI: reports and moderation (moderators and admins), users, the
trust policy with its decision log, federation health and legal holds (admins). Every page checks the role
(403 for anyone else) and every form its CSRF token (web/ui/core.py `page`)."""

from __future__ import annotations

from aiohttp import web

from web.ui import (
    admin_announcements,
    admin_federation,
    admin_holds,
    admin_policy_edit,
    admin_reports,
    admin_settings,
    admin_users,
)
from web.ui.core import Page, page

MODERATORS = ("moderator", "admin")


@page(roles=MODERATORS)
async def start(p: Page) -> web.StreamResponse:
    return p.redirect("/admin/reports")


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/admin", start)
    admin_reports.setup_routes(app)
    admin_users.setup_routes(app)
    admin_federation.setup_routes(app)
    admin_policy_edit.setup_routes(app)
    admin_settings.setup_routes(app)
    admin_holds.setup_routes(app)
    admin_announcements.setup_routes(app)
