"""Lists as Mastodon serves them: `/api/v1/lists` (create, read, rename, delete), their
accounts (`/api/v1/lists/:id/accounts`, only people the owner follows), the lists an account
is on (`/api/v1/accounts/:id/lists`) and the list timeline (`/api/v1/timelines/list/:id`).
Anyone else's list is a 404."""

from __future__ import annotations

from aiohttp import web

from node import lists, timelines
from node.filters_match import FilterContext
from node.pagination import Page
from storage.errors import NotFound
from storage.ids import parse_id
from storage.models import Account, List, Post
from web.api.accounts import render_accounts
from web.api.auth import Params, ctx_of, flag, link_header, page_of, params, path_id, require_user, text_param
from web.api.filtered_pages import respond
from web.api.serializers import JSON

READ = "read:lists"
WRITE = "write:lists"


def entity(lst: List) -> JSON:
    return {"id": str(lst.id), "title": lst.title, "replies_policy": lst.replies_policy, "exclusive": lst.exclusive}


async def index(request: web.Request) -> web.Response:
    viewer = await require_user(request, READ)
    return web.json_response([entity(x) for x in await lists.lists_of(ctx_of(request), viewer)])


async def create(request: web.Request) -> web.Response:
    viewer = await require_user(request, WRITE)
    p = await params(request)
    made = await lists.create(ctx_of(request), viewer, text_param(p, "title"), text_param(p, "replies_policy"),
                              bool(flag(p, "exclusive", False)))
    return web.json_response(entity(made))


async def show(request: web.Request) -> web.Response:
    viewer = await require_user(request, READ)
    return web.json_response(entity(await lists.get_list(ctx_of(request), viewer, path_id(request))))


async def update(request: web.Request) -> web.Response:
    viewer = await require_user(request, WRITE)
    p = await params(request)
    changed = await lists.update(ctx_of(request), viewer, path_id(request), title=text_param(p, "title"),
                                 replies_policy=text_param(p, "replies_policy"), exclusive=flag(p, "exclusive"))
    return web.json_response(entity(changed))


async def remove(request: web.Request) -> web.Response:
    viewer = await require_user(request, WRITE)
    await lists.delete_list(ctx_of(request), viewer, path_id(request))
    return web.json_response({})


def _member_page(request: web.Request) -> Page | None:
    """Mastodon's `limit=0`: every member at once."""
    return None if request.query.get("limit") == "0" else page_of(request)


async def accounts(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, READ)
    rows = await lists.members(ctx, viewer, path_id(request), _member_page(request))
    body = await render_accounts(ctx, [a for _, a in rows])
    return web.json_response(body, headers=link_header(request, [i for i, _ in rows]))


def _account_ids(p: Params) -> list[int]:
    raw = p.get("account_ids")
    values = raw if isinstance(raw, list) else [] if raw is None else [raw]
    ids = [parse_id(str(v)) for v in values]
    if any(i is None for i in ids):
        raise NotFound("Record not found")
    return [i for i in ids if i is not None]


async def add_accounts(request: web.Request) -> web.Response:
    viewer = await require_user(request, WRITE)
    await lists.add_members(ctx_of(request), viewer, path_id(request), _account_ids(await params(request)))
    return web.json_response({})


async def remove_accounts(request: web.Request) -> web.Response:
    viewer = await require_user(request, WRITE)
    await lists.remove_members(ctx_of(request), viewer, path_id(request), _account_ids(await params(request)))
    return web.json_response({})


async def account_lists(request: web.Request) -> web.Response:
    viewer: Account = await require_user(request, READ)
    found = await lists.lists_with(ctx_of(request), viewer, path_id(request))
    return web.json_response([entity(x) for x in found])


async def timeline(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, READ)
    list_id = path_id(request, "list_id")

    async def fetch(page: Page) -> list[Post]:
        return await timelines.list_timeline(ctx, viewer, list_id, page)

    # The viewer's filters apply as on home (Mastodon's `home` context covers lists).
    return await respond(request, ctx, viewer, page_of(request), fetch, FilterContext.HOME)


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/lists", index)
    r.add_post("/api/v1/lists", create)
    r.add_get("/api/v1/lists/{id}", show)
    r.add_put("/api/v1/lists/{id}", update)
    r.add_delete("/api/v1/lists/{id}", remove)
    r.add_get("/api/v1/lists/{id}/accounts", accounts)
    r.add_post("/api/v1/lists/{id}/accounts", add_accounts)
    r.add_delete("/api/v1/lists/{id}/accounts", remove_accounts)
    r.add_get(r"/api/v1/accounts/{id:\d+}/lists", account_lists)
    r.add_get("/api/v1/timelines/list/{list_id}", timeline)
