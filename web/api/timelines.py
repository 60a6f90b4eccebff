"""Home, public, hashtag and organisation timelines, paged by id with Mastodon's Link header."""

from __future__ import annotations

from aiohttp import web

from node import timelines
from node.outbox import open_web_may_see
from web.api.auth import ctx_of, link_header, optional_user, page_of, require_user
from web.api.statuses import render_many

TRUE = ("true", "1")


async def home(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:statuses")
    items = await timelines.home(ctx, viewer, page_of(request))
    body = await render_many(ctx, viewer, items)
    return web.json_response(body, headers=link_header(request, [p.id for p in items]))


async def public(request: web.Request) -> web.Response:
    """`local=true`: posts written here (with the inward ones for local users); else federated."""
    ctx = ctx_of(request)
    viewer = await optional_user(request, "read:statuses")
    page = page_of(request)
    if request.query.get("local", "").lower() in TRUE:
        items = await timelines.local(ctx, viewer, page)
    else:
        items = await timelines.federated(ctx, viewer, page)
    if viewer is None:  # an anonymous reader is the open web: content rules apply to it
        items = [p for p in items if open_web_may_see(ctx, p)]
    body = await render_many(ctx, viewer, items)
    return web.json_response(body, headers=link_header(request, [p.id for p in items]))


async def tag(request: web.Request) -> web.Response:
    """Posts carrying a hashtag that the reader may see in shared timelines."""
    ctx = ctx_of(request)
    viewer = await optional_user(request, "read:statuses")
    items = await timelines.hashtag(ctx, viewer, request.match_info["hashtag"], page_of(request))
    if viewer is None:
        items = [p for p in items if open_web_may_see(ctx, p)]
    body = await render_many(ctx, viewer, items)
    return web.json_response(body, headers=link_header(request, [p.id for p in items]))


async def organization(request: web.Request) -> web.Response:
    """Atrium's own: what the web UI's Organisation page shows (node.timelines.organization,
    the same function), for a signed-in member of the organisation."""
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:statuses")
    items = await timelines.organization(ctx, viewer, page_of(request))
    body = await render_many(ctx, viewer, items)
    return web.json_response(body, headers=link_header(request, [p.id for p in items]))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/timelines/home", home)
    app.router.add_get("/api/v1/timelines/public", public)
    app.router.add_get("/api/v1/timelines/tag/{hashtag}", tag)
    app.router.add_get("/api/v1/timelines/organization", organization)
