"""A person's own domain blocks, as Mastodon's `/api/v1/domain_blocks`: the list (domain names,
newest first, Link pagination), blocking one and lifting it, each by the `domain` parameter
(node/domain_blocks.py says what a block does)."""

from __future__ import annotations

from aiohttp import web

from node import domain_blocks
from web.api.auth import ctx_of, link_header, page_of, params, require_user, text_param


async def list_domain_blocks(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:blocks")
    items = await domain_blocks.blocked_domains(ctx, viewer, page_of(request))
    return web.json_response([b.domain for b in items], headers=link_header(request, [b.id for b in items]))


async def block_domain(request: web.Request) -> web.Response:
    viewer = await require_user(request, "write:blocks")
    await domain_blocks.block(ctx_of(request), viewer, text_param(await params(request), "domain"))
    return web.json_response({})


async def unblock_domain(request: web.Request) -> web.Response:
    viewer = await require_user(request, "write:blocks")
    await domain_blocks.unblock(ctx_of(request), viewer, text_param(await params(request), "domain"))
    return web.json_response({})


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/domain_blocks", list_domain_blocks)
    app.router.add_post("/api/v1/domain_blocks", block_domain)
    app.router.add_delete("/api/v1/domain_blocks", unblock_domain)
