"""NodeInfo 2.1 (with the audiences this node honours) and the health endpoint."""

from __future__ import annotations

import json

from aiohttp import web

from node import stats
from node.version import VERSION
from node.visibility import VISIBILITIES
from web.keys import CTX

NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.1"
NODEINFO_TYPE = f'application/json; profile="{NODEINFO_SCHEMA}#"'


async def well_known(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    return web.json_response(
        {"links": [{"rel": NODEINFO_SCHEMA, "href": f"{ctx.base_url}/nodeinfo/2.1"}]}
    )


async def nodeinfo_21(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    u = await stats.usage(ctx)
    body = {
        "version": "2.1",
        "software": {
            "name": "atrium",
            "version": VERSION,
            "homepage": "https://atrium.example/",
        },
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": False,
        "usage": {
            "users": {"total": u.users, "activeMonth": u.active_month, "activeHalfyear": u.active_halfyear},
            "localPosts": u.local_posts,
        },
        "metadata": {
            "nodeName": ctx.domain,
            # What a client or a peer may use to address posts on this node.
            "visibilities": list(VISIBILITIES),
            "atrium": {"visibilities": list(VISIBILITIES)},
        },
    }
    return web.Response(text=json.dumps(body), headers={"Content-Type": NODEINFO_TYPE})


async def health(request: web.Request) -> web.Response:
    ok = await stats.database_ok(request.app[CTX])
    return web.json_response(
        {"status": "ok" if ok else "unavailable", "database": "ok" if ok else "unreachable"},
        status=200 if ok else 503,
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/.well-known/nodeinfo", well_known)
    app.router.add_get("/nodeinfo/2.1", nodeinfo_21)
    app.router.add_get("/health", health)
