"""The node's aiohttp application factory."""

from __future__ import annotations

from aiohttp import web

from node.context import NodeContext
from web import activitypub, api, health, media, metrics, nodeinfo, openapi, pictures, scim, wellknown
from web.errors import error_middleware
from web.keys import CTX
from web.logging_mw import request_id_middleware
from web.signed import signed_request_middleware
from web.ui import admin as ui_admin
from web.ui import app as ui


def create_app(ctx: NodeContext, *, client_max_size: int = 1024 * 1024) -> web.Application:
    app = web.Application(middlewares=[request_id_middleware, metrics.latency_middleware, error_middleware, signed_request_middleware], client_max_size=client_max_size)
    app[CTX] = ctx
    nodeinfo.setup(app)
    wellknown.setup(app)
    activitypub.setup(app)
    media.setup(app)
    api.setup(app)
    pictures.setup(app)
    scim.setup(app)  # /scim/v2/: provisioning from the company directory
    ui.setup(app)
    ui_admin.setup_routes(app)  # the staff pages (web/ui/admin*.py)
    openapi.setup(app)
    health.setup(app)
    metrics.setup(app)
    return app
