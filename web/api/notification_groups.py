"""Grouped notifications, Mastodon 4.3's `/api/v2/notifications` (node/notification_groups.py
groups them): the page of groups with the accounts and statuses they name beside them, one
group, its accounts, dismissing it, and the unread counts (v2 in groups, v1 in notifications)."""

from __future__ import annotations

from aiohttp import web

from node import accounts, notification_groups, posts
from node.context import NodeContext
from node.notification_groups import GROUPABLE, Group
from storage.errors import Invalid, NotFound
from storage.models import Account
from web.api import serializers
from web.api.accounts import render_accounts
from web.api.auth import Params, ctx_of, id_param, link_header, page_of, params, require_user, text_param
from web.api.notifications import FROM_MASTODON, _names, _types
from web.api.serializers import JSON, timestamp
from web.api.statuses import render_many

EXPAND = ("full", "partial_avatars")
UNREAD_DEFAULT, UNREAD_MAX = 100, 1000


def _grouped(p: Params) -> frozenset[str]:
    """`grouped_types[]`: the node's types the client shows grouped (all Mastodon groups if none named)."""
    names = _names(p, "grouped_types")
    if not names:
        return frozenset(GROUPABLE)
    return frozenset(t for name in names for t in FROM_MASTODON.get(name, ()) if t in GROUPABLE)


def _group(g: Group, *, paged: bool) -> JSON:
    out: JSON = {
        "group_key": g.key,
        "notifications_count": g.count,
        "type": FROM_NODE.get(g.type, g.type),
        "most_recent_notification_id": str(g.most_recent_id),
        "sample_account_ids": [str(a) for a in g.sample_account_ids],
        "status_id": None if g.post_id is None else str(g.post_id),
    }
    if paged:
        out |= {
            "page_min_id": str(g.page_min_id),
            "page_max_id": str(g.page_max_id),
            "latest_page_notification_at": timestamp(g.latest_at),
        }
    return out


FROM_NODE = {node: mastodon for mastodon, nodes in FROM_MASTODON.items() for node in nodes}


PARTIAL = ("id", "acct", "locked", "bot", "url", "avatar", "avatar_static")


def _partial(ctx: NodeContext, a: Account) -> JSON:
    """Mastodon's PartialAccountWithAvatar: what a client draws a small avatar with."""
    full = serializers.account(ctx, a)
    return {k: full[k] for k in PARTIAL}


async def _accounts(ctx: NodeContext, ids: list[int]) -> dict[int, Account]:
    out = {}
    for account_id in ids:
        try:
            out[account_id] = await accounts.get_account(ctx, account_id)
        except NotFound:
            continue
    return out


async def _results(ctx: NodeContext, viewer: Account, groups: list[Group], expand: str, *, paged: bool) -> JSON:
    """The groups, and beside them the accounts and statuses they name, rendered once each.
    A group whose status the viewer can no longer see is left out."""
    found = []
    for post_id in dict.fromkeys(g.post_id for g in groups if g.post_id is not None):
        try:
            found.append(await posts.get_post(ctx, viewer, post_id))
        except NotFound:
            continue
    statuses = {int(s["id"]): s for s in await render_many(ctx, viewer, found)}
    kept = [g for g in groups if g.post_id is None or g.post_id in statuses]
    wanted = list(dict.fromkeys(a for g in kept for a in g.sample_account_ids))
    people = await _accounts(ctx, wanted)
    kept = [g for g in kept if any(a in people for a in g.sample_account_ids)]
    full_ids = set(wanted) if expand == "full" else {g.sample_account_ids[0] for g in kept}
    out: JSON = {
        "accounts": await render_accounts(ctx, [people[a] for a in wanted if a in people and a in full_ids]),
        "statuses": list(statuses.values()),
        "notification_groups": [_group(g, paged=paged) for g in kept],
    }
    if expand != "full":
        out["partial_accounts"] = [_partial(ctx, people[a]) for a in wanted if a in people and a not in full_ids]
    return out


def _expand(p: Params) -> str:
    expand = text_param(p, "expand_accounts") or "full"
    if expand not in EXPAND:
        raise Invalid(f"expand_accounts must be one of {', '.join(EXPAND)}")
    return expand


async def list_groups(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:notifications")
    p = await params(request)
    expand = _expand(p)
    types = _types(p)
    if types == ():
        return web.json_response({"accounts": [], "statuses": [], "notification_groups": []})
    groups = await notification_groups.page(ctx, viewer, page_of(request), types, _grouped(p), id_param(p, "account_id"))
    body = await _results(ctx, viewer, groups, expand, paged=True)
    headers = {}
    if groups:
        # next: below the oldest notification of the page; prev: above its newest.
        headers = link_header(request, [max(g.page_max_id for g in groups), min(g.page_min_id for g in groups)])
    return web.json_response(body, headers=headers)


def _key(request: web.Request) -> str:
    return request.match_info["group_key"]


async def get_group(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:notifications")
    g = await notification_groups.group(ctx, viewer, _key(request))
    body = await _results(ctx, viewer, [g], "full", paged=False)
    if not body["notification_groups"]:
        raise NotFound("Record not found")
    return web.json_response(body)


async def group_accounts(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:notifications")
    found = await notification_groups.group_accounts(ctx, viewer, _key(request))
    return web.json_response(await render_accounts(ctx, found))


async def dismiss_group(request: web.Request) -> web.Response:
    viewer = await require_user(request, "write:notifications")
    await notification_groups.dismiss(ctx_of(request), viewer, _key(request))
    return web.json_response({})


def _limit(p: Params) -> int:
    raw = text_param(p, "limit")
    if not raw:
        return UNREAD_DEFAULT
    if not (raw.isascii() and raw.isdigit()):
        raise Invalid("limit must be a positive number")
    return UNREAD_MAX if len(raw) > 9 else max(1, min(int(raw), UNREAD_MAX))


async def unread_count(request: web.Request, *, grouped: bool) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:notifications")
    p = await params(request)
    types = _types(p)
    if types == ():
        return web.json_response({"count": 0})
    count = await notification_groups.unread_count(ctx, viewer, _limit(p), types, _grouped(p) if grouped else None)
    return web.json_response({"count": count})


async def unread_groups(request: web.Request) -> web.Response:
    return await unread_count(request, grouped=True)


async def unread_notifications(request: web.Request) -> web.Response:
    return await unread_count(request, grouped=False)


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v2/notifications", list_groups)
    app.router.add_get("/api/v2/notifications/unread_count", unread_groups)
    app.router.add_get("/api/v1/notifications/unread_count", unread_notifications)
    key = r"{group_key:[A-Za-z0-9_-]{1,64}}"
    app.router.add_get(f"/api/v2/notifications/{key}", get_group)
    app.router.add_get(f"/api/v2/notifications/{key}/accounts", group_accounts)
    app.router.add_post(f"/api/v2/notifications/{key}/dismiss", dismiss_group)
