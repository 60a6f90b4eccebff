"""Markers: where the account last read `home` and `notifications`, shared by its clients."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node import markers
from storage.errors import Invalid
from storage.ids import parse_id
from web.api import serializers
from web.api.auth import Params, ctx_of, params, require_user


async def get_markers(request: web.Request) -> web.Response:
    """`timeline[]=home&timeline[]=notifications`; none named means both."""
    viewer = await require_user(request, "read:statuses")
    p = await params(request)
    raw = p.get("timeline", [])
    wanted = tuple(raw if isinstance(raw, list) else [raw]) or markers.TIMELINES
    found = await markers.markers(ctx_of(request), viewer.id, tuple(str(t) for t in wanted))
    return web.json_response({m.timeline: serializers.marker(m) for m in found})


def _positions(p: Params) -> dict[str, int]:
    """`home[last_read_id]=1` (form) or `{"home": {"last_read_id": "1"}}` (JSON)."""
    out: dict[str, int] = {}
    for timeline in markers.TIMELINES:
        value: Any = p.get(f"{timeline}[last_read_id]")
        nested = p.get(timeline)
        if value is None and isinstance(nested, dict):
            value = nested.get("last_read_id")
        if value is None:
            continue
        text = str(value)
        last_read = parse_id(text)
        if last_read is None:
            raise Invalid(f"{timeline}[last_read_id] must be an id")
        out[timeline] = last_read
    if not out:
        raise Invalid("name at least one of home[last_read_id], notifications[last_read_id]")
    return out


async def save_markers(request: web.Request) -> web.Response:
    viewer = await require_user(request, "write:statuses")
    saved = await markers.save(ctx_of(request), viewer.id, _positions(await params(request)))
    return web.json_response({m.timeline: serializers.marker(m) for m in saved})


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/markers", get_markers)
    app.router.add_post("/api/v1/markers", save_markers)
