"""The instance description (v1 and v2) and the empty start-up endpoints clients call first."""

from __future__ import annotations

from aiohttp import web

from node import stats
from web.api import serializers
from web.api.auth import ctx_of


async def instance_v1(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    return web.json_response(serializers.instance_v1(ctx, await stats.usage(ctx)))


async def instance_v2(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    return web.json_response(serializers.instance_v2(ctx, await stats.usage(ctx)))


async def public_empty_list(request: web.Request) -> web.Response:
    return web.json_response([])



def setup(app: web.Application) -> None:
    for path in ("/api/v1/instance", "/api/v1/instance/"):
        app.router.add_get(path, instance_v1)
    for path in ("/api/v2/instance", "/api/v2/instance/"):
        app.router.add_get(path, instance_v2)
    app.router.add_get("/api/v1/custom_emojis", public_empty_list)
    app.router.add_get("/api/v1/instance/rules", public_empty_list)
