"""Pinned posts in the client API, as Mastodon: `POST /api/v1/statuses/:id/pin` and `/unpin`
(answering with the status, `pinned` set), and `?pinned=true` on an account's statuses
(web/api/accounts.py, through `pinned_statuses`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from node import pins, posts
from node.context import NodeContext
from node.outbox import open_web_may_see
from storage.models import Account, Post
from web.api.auth import ctx_of, path_id, require_user
from web.api.statuses import render, render_many


def _pinning(change: Callable[[NodeContext, Account, int], Awaitable[Post]]) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        ctx = ctx_of(request)
        account = await require_user(request, "write:accounts")  # Mastodon's scope for pins
        post = await change(ctx, account, path_id(request))
        return web.json_response(await render(ctx, account, await posts.get_post(ctx, account, post.id)))

    return handler


async def pinned_statuses(ctx: NodeContext, viewer: Account | None, account_id: int) -> web.Response:
    """The account's pinned posts the viewer may see, the latest pin first (all of them: at
    most MAX_PINS, so one page, as Mastodon answers)."""
    shown = [p for p in await pins.pinned(ctx, viewer, account_id) if viewer is not None or open_web_may_see(ctx, p)]
    return web.json_response(await render_many(ctx, viewer, shown))


def setup(app: web.Application) -> None:
    app.router.add_post(r"/api/v1/statuses/{id}/pin", _pinning(pins.pin))
    app.router.add_post(r"/api/v1/statuses/{id}/unpin", _pinning(pins.unpin))
