"""Legal holds (admins only): the holds in force by case, placing one on a local account, and
releasing one (asked again first, web/ui/risky.py). Each change is in the audit trail
(node/holds.py); the page runs no SQL of its own."""

from __future__ import annotations

from aiohttp import web

from node import holds
from storage.errors import Conflict, Invalid, NotFound
from web.ui.core import Page, page
from web.ui.risky import confirm_page, needs_confirming

ADMINS = ("admin",)
BACK = "/admin/holds"


def _by(p: Page) -> str:
    return f"@{p.user.username} (web UI)"


async def _render(p: Page, status: int = 200, *, error: str | None = None, keep: bool = False) -> web.Response:
    rows = await holds.list_holds(p.ctx)
    cases: dict[str, list[holds.Hold]] = {}
    for row in rows:
        cases.setdefault(row.case_name, []).append(row)
    return p.render(
        "admin/holds.html", status, title="Legal holds", cases=cases, error=error,
        done=p.request.query.get("done"), max_case=holds.MAX_CASE, max_reason=holds.MAX_REASON,
        # After a refused hold the form keeps what was typed (bad input loses nothing).
        form={k: p.field(k) for k in ("case", "account", "reason")} if keep else {"case": "", "account": "", "reason": ""},
    )


@page(roles=ADMINS)
async def holds_page(p: Page) -> web.StreamResponse:
    return await _render(p)


@page(roles=ADMINS)
async def place(p: Page) -> web.StreamResponse:
    try:
        hold = await holds.place_hold(p.ctx, p.field("case"), p.field("account"), p.field("reason"), _by(p))
    except (Invalid, Conflict, NotFound) as exc:
        return await _render(p, exc.status, error=exc.reason, keep=True)
    return p.redirect(f"{BACK}?done=held#hold-{hold.id}")


@page(roles=ADMINS)
async def release(p: Page) -> web.StreamResponse:
    hold_id = p.path_id("hold_id", "hold")
    hold = next((h for h in await holds.list_holds(p.ctx) if h.id == hold_id), None)
    if hold is None:
        raise NotFound("no such hold in force (released already?)")
    if needs_confirming(p, "release"):
        return confirm_page(p, "release", f"the hold of @{hold.username} under “{hold.case_name}”", f"{BACK}#hold-{hold.id}")
    await holds.release_hold(p.ctx, hold.case_name, hold.username, _by(p))
    return p.redirect(f"{BACK}?done=released")


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/admin/holds", holds_page)
    r.add_post("/admin/holds", place)
    r.add_post(r"/admin/holds/{hold_id:\d+}/release", release)
