"""Notifications, in Mastodon's types (`like` is `favourite`, `boost` is `reblog`): list
(filtered by `types[]`, `exclude_types[]`, `account_id`), one, dismiss one, clear all."""

from __future__ import annotations

from aiohttp import web

from node import accounts, notifications, posts
from node.context import NodeContext
from node.filters_match import FilterContext
from storage.errors import NotFound
from storage.ids import parse_id
from storage.models import Account, Notification
from web.api import serializers
from web.api.auth import Params, ctx_of, id_param, link_header, page_of, params, path_id, require_user, text_param
from web.api.filter_entities import FilterScope
from web.api.filtered_pages import scope_for
from web.api.serializers import JSON
from web.api.statuses import render

# Mastodon's type -> the node's types it covers.
FROM_MASTODON = {
    "follow": ("follow",),
    "follow_request": ("follow_request",),
    "mention": ("mention", "reply"),
    "favourite": ("like",),
    "reblog": ("boost",),
    "poll": ("poll",),
}


def _names(p: Params, key: str) -> list[str]:
    raw = p.get(key, [])
    return [str(v) for v in (raw if isinstance(raw, list) else [raw])]


def _types(p: Params) -> tuple[str, ...] | None:
    wanted = _names(p, "types")
    excluded = _names(p, "exclude_types")
    if not wanted and not excluded:
        return None
    names = set(wanted or FROM_MASTODON) - set(excluded)
    return tuple(t for name in sorted(names) for t in FROM_MASTODON.get(name, ()))


async def _render(ctx: NodeContext, viewer: Account, n: Notification, scope: FilterScope | None) -> JSON:
    """NotFound when its post or sender is gone, no longer visible to the viewer, or its post
    is hidden by one of the viewer's filters (a `warn` one marks the status `filtered`)."""
    sender = await accounts.get_account(ctx, n.from_account_id)
    status = None
    if n.post_id is not None:
        status = await render(ctx, viewer, await posts.get_post(ctx, viewer, n.post_id), scope)
    return serializers.notification(ctx, n, sender, status)


async def list_notifications(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:notifications")
    p = await params(request)
    types = _types(p)
    if types == ():
        return web.json_response([])
    items = await notifications.list_notifications(ctx, viewer.id, page_of(request), types, id_param(p, "account_id"))
    body = []
    scope = await scope_for(ctx, viewer, FilterContext.NOTIFICATIONS)  # loaded once for the page
    for n in items:
        try:
            body.append(await _render(ctx, viewer, n, scope))
        except NotFound:
            continue
    return web.json_response(body, headers=link_header(request, [n.id for n in items]))


async def get_notification(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:notifications")
    n = await notifications.get_notification(ctx, viewer.id, path_id(request))
    scope = await scope_for(ctx, viewer, FilterContext.NOTIFICATIONS)
    return web.json_response(await _render(ctx, viewer, n, scope))


async def dismiss(request: web.Request) -> web.Response:
    viewer = await require_user(request, "write:notifications")
    await notifications.dismiss(ctx_of(request), viewer.id, path_id(request))
    return web.json_response({})


async def dismiss_legacy(request: web.Request) -> web.Response:
    """`POST /api/v1/notifications/dismiss` with `id` in the body (Mastodon before 3.1)."""
    viewer = await require_user(request, "write:notifications")
    raw = text_param(await params(request), "id") or ""
    notification_id = parse_id(raw)
    if notification_id is None:
        raise NotFound("Record not found")
    await notifications.dismiss(ctx_of(request), viewer.id, notification_id)
    return web.json_response({})


async def clear(request: web.Request) -> web.Response:
    viewer = await require_user(request, "write:notifications")
    await notifications.clear(ctx_of(request), viewer.id)
    return web.json_response({})


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/notifications", list_notifications)
    app.router.add_post("/api/v1/notifications/clear", clear)
    app.router.add_post("/api/v1/notifications/dismiss", dismiss_legacy)
    app.router.add_get(r"/api/v1/notifications/{id:\d+}", get_notification)
    app.router.add_post(r"/api/v1/notifications/{id:\d+}/dismiss", dismiss)
