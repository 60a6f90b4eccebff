"""Direct conversations, as Mastodon's `/api/v1/conversations`: the list (node/conversations.py,
which the web UI's direct messages page reads too), marking one read, and removing one from
the list. Conversation ids are the id of each thread's first post."""

from __future__ import annotations

from aiohttp import web

from node import conversations
from node.context import NodeContext
from storage.models import Account
from web.api.accounts import render_accounts
from web.api.auth import ctx_of, link_header, page_of, path_id, require_user
from web.api.serializers import JSON
from web.api.statuses import render_many


async def render_conversations(ctx: NodeContext, viewer: Account, items: list[conversations.Conversation]) -> list[JSON]:
    statuses = {int(s["id"]): s for s in await render_many(ctx, viewer, [c.last for c in items])}
    people = {
        int(a["id"]): a for a in await render_accounts(ctx, list({a.id: a for c in items for a in c.others}.values()))
    }
    return [
        {
            "id": str(c.id),
            "unread": c.unread,
            "accounts": [people[a.id] for a in c.others],
            "last_status": statuses.get(c.last.id),
        }
        for c in items
    ]


async def list_conversations(request: web.Request) -> web.Response:
    """Newest message first, paged by the id of each conversation's newest message (Link
    header), as Mastodon pages them."""
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:statuses")
    items = await conversations.conversations(ctx, viewer, page_of(request))
    return web.json_response(
        await render_conversations(ctx, viewer, items), headers=link_header(request, [c.last.id for c in items])
    )


async def mark_read(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "write:conversations")
    found = await conversations.mark_read(ctx, viewer, path_id(request))
    return web.json_response((await render_conversations(ctx, viewer, [found]))[0])


async def remove(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "write:conversations")
    await conversations.remove(ctx, viewer, path_id(request))
    return web.json_response({})


def setup(app: web.Application) -> None:
    for path in ("/api/v1/conversations", "/api/v1/conversations/"):  # Mastodon.py asks with the slash
        app.router.add_get(path, list_conversations)
    app.router.add_post(r"/api/v1/conversations/{id:\d+}/read", mark_read)
    app.router.add_delete(r"/api/v1/conversations/{id:\d+}", remove)
