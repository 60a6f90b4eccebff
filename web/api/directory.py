"""`GET /api/v1/directory`: this node's people (node/directory.py), as Mastodon's profile
directory — `offset`, `limit`, `order` (active or new), `local` (every listed account is local
here, so it changes nothing) — and Atrium's `q` (name, handle, title or department). For a
signed-in person only: an organisation's list of its people is not for the open web."""

from __future__ import annotations

from aiohttp import web

from node import directory
from storage.errors import Invalid
from web.api.accounts import render_accounts
from web.api.auth import ctx_of, flag, params, require_user, text_param


def _number(raw: str | None, name: str, default: int) -> int:
    if raw in (None, ""):
        return default
    text = str(raw)
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise Invalid(f"{name} must be a non-negative number")
    return int(text)


async def list_directory(request: web.Request) -> web.Response:
    viewer = await require_user(request, "read:accounts")
    p = await params(request)
    flag(p, "local")  # checked (true or false); the directory is this node's people either way
    limit = min(_number(text_param(p, "limit"), "limit", directory.PAGE_SIZE), directory.MAX_PAGE)
    query = directory.Query(
        q=text_param(p, "q") or "",
        order=directory.parse_order(text_param(p, "order")),
        offset=_number(text_param(p, "offset"), "offset", 0),
        limit=max(1, limit),
    )
    ctx = ctx_of(request)
    return web.json_response(await render_accounts(ctx, await directory.people(ctx, query), viewer))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/directory", list_directory)
