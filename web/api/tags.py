"""Hashtags: `GET /api/v1/tags/:name`, following them (`POST .../follow|unfollow`,
`GET /api/v1/followed_tags`), and featured tags (`/api/v1/featured_tags`, its suggestions, and
`GET /api/v1/accounts/:id/featured_tags`), in Mastodon's Tag and FeaturedTag shapes."""

from __future__ import annotations

from aiohttp import web

from node import accounts, tags, trends
from node.context import NodeContext
from node.tags import Featured
from node.trends import Day
from storage.errors import Invalid, NotFound
from storage.models import Account
from web.api.auth import ctx_of, link_header, optional_user, page_of, params, path_id, require_user, text_param
from web.api.serializers import JSON


def history(days: tuple[Day, ...]) -> list[JSON]:
    return [{"day": str(d.day), "uses": str(d.uses), "accounts": str(d.accounts)} for d in days]


async def render_tags(ctx: NodeContext, viewer: Account | None, names: list[str]) -> list[JSON]:
    """Tag entities: each with its history as the viewer's trends count it, and `following`."""
    histories = await trends.tag_histories(ctx, viewer, names)
    followed = await tags.following(ctx, viewer, names)
    return [
        {"name": n, "url": ctx.tag_url(n), "history": history(histories[n]), "following": n in followed}
        for n in names
    ]


async def show(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await optional_user(request, "read")
    name = tags.tag_name(request.match_info["name"])
    return web.json_response((await render_tags(ctx, viewer, [name]))[0])


async def _follow(request: web.Request, on: bool) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "write:follows")
    change = tags.follow if on else tags.unfollow
    name = await change(ctx, viewer, request.match_info["name"])
    return web.json_response((await render_tags(ctx, viewer, [name]))[0])


async def follow(request: web.Request) -> web.Response:
    return await _follow(request, True)


async def unfollow(request: web.Request) -> web.Response:
    return await _follow(request, False)


async def followed(request: web.Request) -> web.Response:
    """Newest follow first, paged by the follow's id (Link header)."""
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:follows")
    rows = await tags.followed(ctx, viewer, page_of(request))
    body = await render_tags(ctx, viewer, [n for _, n in rows])
    return web.json_response(body, headers=link_header(request, [i for i, _ in rows]))


def featured_json(ctx: NodeContext, owner: Account, f: Featured) -> JSON:
    last = f.last_status_at.date().isoformat() if f.last_status_at else None
    return {"id": str(f.id), "name": f.name, "url": f"{ctx.profile_url(owner.username)}/tagged/{f.name}",
            "statuses_count": str(f.statuses_count), "last_status_at": last}


async def my_featured(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:accounts")
    return web.json_response([featured_json(ctx, viewer, f) for f in await tags.featured(ctx, viewer.id)])


async def feature(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "write:accounts")
    name = text_param(await params(request), "name")
    if not name:
        raise Invalid("name is required")
    return web.json_response(featured_json(ctx, viewer, await tags.feature(ctx, viewer, name)))


async def unfeature(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "write:accounts")
    await tags.unfeature(ctx, viewer, path_id(request))
    return web.json_response({})


async def feature_suggestions(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:accounts")
    return web.json_response(await render_tags(ctx, viewer, await tags.feature_suggestions(ctx, viewer)))


async def account_featured(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    await optional_user(request, "read:accounts")
    owner = await accounts.get_account(ctx, path_id(request))
    if owner.suspended:
        raise NotFound("Record not found")
    return web.json_response([featured_json(ctx, owner, f) for f in await tags.featured(ctx, owner.id)])


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/followed_tags", followed)
    app.router.add_get("/api/v1/tags/{name}", show)
    app.router.add_post("/api/v1/tags/{name}/follow", follow)
    app.router.add_post("/api/v1/tags/{name}/unfollow", unfollow)
    app.router.add_get("/api/v1/featured_tags", my_featured)
    app.router.add_post("/api/v1/featured_tags", feature)
    app.router.add_get("/api/v1/featured_tags/suggestions", feature_suggestions)
    app.router.add_delete(r"/api/v1/featured_tags/{id:\d+}", unfeature)
    app.router.add_get(r"/api/v1/accounts/{id:\d+}/featured_tags", account_featured)
