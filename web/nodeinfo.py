"""NodeInfo 2.0 and 2.1 (with the audiences this node honours) and the health endpoint.

Apps that identify a server from its NodeInfo before signing in (Whalebird and Fedistar,
through megalodon's `detector`) know Mastodon, not Atrium: `metadata.upstream` names the API
Atrium speaks for them (Mastodon, at the version the instance entity claims; docs/clients.md),
while `software.name` stays `atrium`.

Both versions are served from one document: some servers read only 2.0, whose schema is 2.1's
without `software.repository` and `software.homepage` (both refuse any key they do not name).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from node import node_names, stats
from node.audience import Audience
from node.version import VERSION
from web.api.serializers import MASTODON_VERSION
from web.keys import CTX

SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/{version}"
VERSIONS = ("2.1", "2.0")  # newest first: a reader taking the first link it knows gets 2.1


async def well_known(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    return web.json_response(
        {"links": [{"rel": SCHEMA.format(version=v), "href": f"{ctx.base_url}/nodeinfo/{v}"} for v in VERSIONS]}
    )


async def nodeinfo_21(request: web.Request) -> web.Response:
    return _response("2.1", await _document(request))


async def nodeinfo_20(request: web.Request) -> web.Response:
    body = await _document(request)
    body["software"] = {k: v for k, v in body["software"].items() if k in ("name", "version")}
    return _response("2.0", body)


def _response(version: str, body: dict[str, Any]) -> web.Response:
    body["version"] = version
    content_type = f'application/json; profile="{SCHEMA.format(version=version)}#"'
    return web.Response(body=json.dumps(body).encode(), headers={"Content-Type": content_type})


async def _document(request: web.Request) -> dict[str, Any]:
    """The 2.1 document; 2.0 is this less what 2.1 added."""
    ctx = request.app[CTX]
    u = await stats.usage(ctx)
    return {
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
            "nodeName": await node_names.own_name(ctx),  # the display name, else the domain
            # What a client or a peer may use to address posts on this node.
            "visibilities": [a.value for a in Audience],
            "atrium": {"visibilities": [a.value for a in Audience]},
            # The client API this node speaks: what megalodon's detector reads for a server
            # whose software it does not know by name.
            "upstream": {"name": "mastodon", "version": MASTODON_VERSION},
        },
    }


async def health(request: web.Request) -> web.Response:
    ok = await stats.database_ok(request.app[CTX])
    return web.json_response(
        {"status": "ok" if ok else "unavailable", "database": "ok" if ok else "unreachable"},
        status=200 if ok else 503,
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/.well-known/nodeinfo", well_known)
    app.router.add_get("/nodeinfo/2.1", nodeinfo_21)
    app.router.add_get("/nodeinfo/2.0", nodeinfo_20)
    app.router.add_get("/health", health)
