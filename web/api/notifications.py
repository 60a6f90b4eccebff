"""Notifications, in Mastodon's types (`like` is `favourite`, `boost` is `reblog`)."""

from __future__ import annotations

from aiohttp import web

from node import accounts, notifications, posts
from storage.errors import NotFound
from web.api import serializers
from web.api.auth import ctx_of, link_header, page_of, require_user
from web.api.statuses import render

# Mastodon's type -> the node's types it covers.
FROM_MASTODON = {
    "follow": ("follow",),
    "follow_request": ("follow_request",),
    "mention": ("mention", "reply"),
    "favourite": ("like",),
    "reblog": ("boost",),
}


def _types(request: web.Request) -> tuple[str, ...] | None:
    wanted = request.query.getall("types[]", []) or request.query.getall("types", [])
    excluded = request.query.getall("exclude_types[]", []) or request.query.getall("exclude_types", [])
    if not wanted and not excluded:
        return None
    names = set(wanted or FROM_MASTODON) - set(excluded)
    return tuple(t for name in sorted(names) for t in FROM_MASTODON.get(name, ()))


async def list_notifications(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:notifications")
    types = _types(request)
    if types == ():
        return web.json_response([])
    items = await notifications.list_notifications(ctx, viewer.id, page_of(request), types)
    body = []
    for n in items:
        try:
            sender = await accounts.get_account(ctx, n.from_account_id)
            status = None
            if n.post_id is not None:
                status = await render(ctx, viewer, await posts.get_post(ctx, viewer, n.post_id))
        except NotFound:
            continue  # its post or sender is gone, or no longer visible
        body.append(serializers.notification(ctx, n, sender, status))
    return web.json_response(body, headers=link_header(request, [n.id for n in items]))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/notifications", list_notifications)
