"""`GET /api/v2/search`: accounts, hashtags and statuses; `resolve=true` looks up a remote
handle by WebFinger or fetches a post or actor URL through the node's signed fetcher."""

from __future__ import annotations

from aiohttp import web

from node import search as node_search
from node.outbox import open_web_may_see
from node.pagination import Page
from node.post_search import Window
from storage.errors import Invalid
from web.api import serializers
from web.api.auth import ctx_of, flag, optional_user, params, text_param
from web.api.statuses import render_many

DEFAULT_LIMIT = 20
MAX_LIMIT = 40


def _number(raw: str | None, name: str, default: int) -> int:
    if raw in (None, ""):
        return default
    if not (str(raw).isascii() and str(raw).isdigit()) or len(str(raw)) > 9:
        raise Invalid(f"{name} must be a non-negative number")
    return int(str(raw))


def _account_id(raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    text = str(raw)
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) >= 2**63:
        raise Invalid("account_id must be an account id")
    return int(text)


async def search(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await optional_user(request, "read:search")
    p = await params(request)
    q = text_param(p, "q") or ""
    kind = text_param(p, "type") or None
    if kind is not None and kind not in node_search.KINDS:
        raise Invalid(f"type must be one of {', '.join(node_search.KINDS)}")
    limit = max(1, min(_number(text_param(p, "limit"), "limit", DEFAULT_LIMIT), MAX_LIMIT))
    offset = _number(text_param(p, "offset"), "offset", 0)
    bounds = Page.parse(max_id=text_param(p, "max_id"), min_id=text_param(p, "min_id"))
    window = Window(limit, offset, bounds.min_id, bounds.max_id, _account_id(text_param(p, "account_id")))
    found = await node_search.search(
        ctx, viewer, q, kind=kind, resolve=bool(flag(p, "resolve", False)), limit=limit, offset=offset,
        window=window,
    )
    statuses = found.statuses
    if viewer is None:  # the open web: content rules apply to it
        statuses = [s for s in statuses if open_web_may_see(ctx, s)]
    return web.json_response(
        {
            "accounts": [serializers.account(ctx, a) for a in found.accounts],
            "statuses": await render_many(ctx, viewer, statuses),
            "hashtags": [{"name": n, "url": ctx.tag_url(n), "history": [], "following": False} for n in found.hashtags],
        }
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v2/search", search)
