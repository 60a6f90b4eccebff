"""Home, public, hashtag and organisation timelines, paged by id with Mastodon's Link header,
each read through the viewer's filters (web/api/filtered_pages.py)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from node import timelines
from node.context import NodeContext
from node.filters_match import FilterContext
from node.outbox import open_web_may_see
from node.pagination import Page
from storage.models import Account, Post
from web.api.auth import ctx_of, optional_user, page_of, require_user
from web.api.filtered_pages import respond

TRUE = ("true", "1")


async def home(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:statuses")

    async def fetch(page: Page) -> list[Post]:
        return await timelines.home(ctx, viewer, page)

    return await respond(request, ctx, viewer, page_of(request), fetch, FilterContext.HOME)


async def public(request: web.Request) -> web.Response:
    """`local=true`: posts written here (with the inward ones for local users); else federated."""
    ctx = ctx_of(request)
    viewer = await optional_user(request, "read:statuses")
    read = timelines.local if request.query.get("local", "").lower() in TRUE else timelines.federated

    async def fetch(page: Page) -> list[Post]:
        return await read(ctx, viewer, page)

    # An anonymous reader is the open web: content rules apply to it.
    return await respond(request, ctx, viewer, page_of(request), fetch, FilterContext.PUBLIC, _keep(ctx, viewer))


def _keep(ctx: NodeContext, viewer: Account | None) -> Callable[[Post], bool]:
    if viewer is None:
        return lambda p: open_web_may_see(ctx, p)
    return lambda _: True


async def tag(request: web.Request) -> web.Response:
    """Posts carrying a hashtag that the reader may see in shared timelines."""
    ctx = ctx_of(request)
    viewer = await optional_user(request, "read:statuses")
    name = request.match_info["hashtag"]

    async def fetch(page: Page) -> list[Post]:
        return await timelines.hashtag(ctx, viewer, name, page)

    return await respond(request, ctx, viewer, page_of(request), fetch, FilterContext.PUBLIC, _keep(ctx, viewer))


async def organization(request: web.Request) -> web.Response:
    """Atrium's own: what the web UI's Organisation page shows (node.timelines.organization,
    the same function), for a signed-in member of the organisation."""
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:statuses")

    async def fetch(page: Page) -> list[Post]:
        return await timelines.organization(ctx, viewer, page)

    # Read through the viewer's filters as the other shared timelines are (`public` context).
    return await respond(request, ctx, viewer, page_of(request), fetch, FilterContext.PUBLIC)


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/timelines/home", home)
    app.router.add_get("/api/v1/timelines/public", public)
    app.router.add_get("/api/v1/timelines/tag/{hashtag}", tag)
    app.router.add_get("/api/v1/timelines/organization", organization)
