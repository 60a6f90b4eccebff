"""Announcements (Mastodon's `/api/v1/announcements`): what the node's admins (and the
organisation peers this node lets announce) tell everyone here, each person's dismissals, and
emoji reactions (node/announcements.py)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node import announcements
from web.api import serializers
from web.api.auth import ctx_of, params, path_id, require_user


def entity(v: announcements.View) -> dict[str, Any]:
    """Mastodon's Announcement entity."""
    a = v.announcement
    return {
        "id": str(a.id),
        "content": a.content_html,
        "starts_at": serializers.timestamp(a.starts_at),
        "ends_at": serializers.timestamp(a.ends_at),
        "all_day": a.all_day,
        "published_at": serializers.timestamp(a.published_at),
        "updated_at": serializers.timestamp(a.updated_at),
        "read": v.read,
        "mentions": [],
        "statuses": [],
        "tags": [],
        "emojis": [],
        "reactions": [{"name": r.name, "count": r.count, "me": r.me} for r in v.reactions],
    }


def reaction_payload(announcement_id: int, name: str, count: int) -> dict[str, Any]:
    """The streaming `announcement.reaction` event's payload, as Mastodon sends it."""
    return {"name": name, "count": count, "announcement_id": str(announcement_id)}


async def list_announcements(request: web.Request) -> web.Response:
    viewer = await require_user(request, "read")
    p = await params(request)
    with_dismissed = str(p.get("with_dismissed", "false")).lower() in ("true", "1")
    found = await announcements.active(ctx_of(request), viewer, with_dismissed=with_dismissed)
    return web.json_response([entity(v) for v in found])


async def dismiss(request: web.Request) -> web.Response:
    viewer = await require_user(request, "write:accounts")
    await announcements.dismiss(ctx_of(request), viewer, path_id(request))
    return web.json_response({})


async def add_reaction(request: web.Request) -> web.Response:
    viewer = await require_user(request, "write:favourites")
    await announcements.react(ctx_of(request), viewer, path_id(request), request.match_info["name"])
    return web.json_response({})


async def remove_reaction(request: web.Request) -> web.Response:
    viewer = await require_user(request, "write:favourites")
    await announcements.unreact(ctx_of(request), viewer, path_id(request), request.match_info["name"])
    return web.json_response({})


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/announcements", list_announcements)
    app.router.add_post(r"/api/v1/announcements/{id}/dismiss", dismiss)
    app.router.add_put(r"/api/v1/announcements/{id}/reactions/{name}", add_reaction)
    app.router.add_delete(r"/api/v1/announcements/{id}/reactions/{name}", remove_reaction)
