"""The trust policy in force with its decision log, and federation health (admins only)."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from node import audit, peers, shared_settings
from node.queues import DELIVER, INBOX
from web.ui.core import Page, page

ADMINS = ("admin",)
LOG_PAGE = 50


@page(roles=ADMINS)
async def policy_page(p: Page) -> web.StreamResponse:
    q = p.request.query
    filters = {k: q.get(k, "").strip()[:255] for k in ("direction", "decision", "peer")}
    before_raw = q.get("before", "")
    before = int(before_raw) if before_raw.isascii() and before_raw.isdigit() and len(before_raw) <= 19 else None
    log = await audit.recent(p.ctx.db, limit=LOG_PAGE, before=before, **{k: v or None for k, v in filters.items()})
    older = None
    if len(log) == LOG_PAGE:
        older = urlencode([(k, v) for k, v in filters.items() if v] + [("before", str(log[-1].id))])
    return p.render(
        "admin/policy.html", title="Trust policy", policy=p.ctx.policy(),
        shared=await shared_settings.read(p.ctx.db, shared_settings.POLICY), log=log, filters=filters,
        directions=audit.DIRECTIONS, decisions=audit.DECISIONS, older=older,
    )


@page(roles=ADMINS)
async def federation_page(p: Page) -> web.StreamResponse:
    all_peers = await peers.all_peers(p.ctx.db)
    policy = p.ctx.policy()
    return p.render(
        "admin/federation.html", title="Federation health",
        delivery=await peers.queue_counts(p.ctx.db, DELIVER), inbox=await peers.queue_counts(p.ctx.db, INBOX),
        dead=[x for x in all_peers if x.dead],
        failing=[x for x in all_peers if not x.dead and x.consecutive_failures > 0],
        healthy=[x for x in all_peers if not x.dead and x.consecutive_failures == 0],
        trust_of=lambda domain: policy.trust_of(domain)[0], backlog=await peers.backlog(p.ctx.db, DELIVER),
    )


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/admin/policy", policy_page)
    r.add_get("/admin/federation", federation_page)
