"""Who liked or boosted a status: `GET /api/v1/statuses/:id/favourited_by` and `reblogged_by`,
Account entities paged with Mastodon's Link header (by the like's or the boost's id). A status
the reader may not see is 404, as one that does not exist (node/reactors.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from node import posts, reactors
from node.context import NodeContext
from node.outbox import open_web_may_see
from node.pagination import Page
from storage.errors import NotFound
from storage.models import Account
from web.api.accounts import render_accounts
from web.api.auth import ctx_of, link_header, optional_user, page_of, path_id

Lister = Callable[[NodeContext, Account | None, int, Page], Awaitable[list[tuple[int, Account]]]]


def _handler(lister: Lister) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        ctx = ctx_of(request)
        viewer = await optional_user(request, "read:accounts")
        post_id = path_id(request)
        if viewer is None and not open_web_may_see(ctx, await posts.get_post(ctx, None, post_id)):
            raise NotFound("Record not found")  # an anonymous reader is the open web
        rows = await lister(ctx, viewer, post_id, page_of(request))
        body = await render_accounts(ctx, [a for _, a in rows])
        return web.json_response(body, headers=link_header(request, [k for k, _ in rows]))

    return handler


def setup(app: web.Application) -> None:
    app.router.add_get(r"/api/v1/statuses/{id}/favourited_by", _handler(reactors.favourited_by))
    app.router.add_get(r"/api/v1/statuses/{id}/reblogged_by", _handler(reactors.reblogged_by))
