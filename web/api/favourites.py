"""`GET /api/v1/favourites`: the posts the signed-in account liked and may still see, newest
like first (node/favourites.py, the list the web UI's Favourites page shows too)."""

from __future__ import annotations

from aiohttp import web

from node import favourites
from web.api.auth import ctx_of, link_header, page_of, require_user
from web.api.statuses import render_many


async def list_favourites(request: web.Request) -> web.Response:
    """Paged by the like's id (Link header), as Mastodon pages by its favourite's id."""
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:favourites")
    rows = await favourites.favourites(ctx, viewer, page_of(request))
    body = await render_many(ctx, viewer, [post for _, post in rows])
    return web.json_response(body, headers=link_header(request, [i for i, _ in rows]))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/favourites", list_favourites)
