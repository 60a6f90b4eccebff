"""The node's aiohttp application factory."""

from __future__ import annotations

from aiohttp import web

from node.context import NodeContext
from web import activitypub, api, nodeinfo, wellknown
from web.errors import error_middleware
from web.keys import CTX


def create_app(ctx: NodeContext, *, client_max_size: int = 1024 * 1024) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=client_max_size)
    app[CTX] = ctx
    nodeinfo.setup(app)
    wellknown.setup(app)
    activitypub.setup(app)
    api.setup(app)
    return app
