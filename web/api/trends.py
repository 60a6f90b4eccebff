"""Trends inside the organisation (`/api/v1/trends/tags|statuses|links`, node/trends.py) and
whom to follow (`/api/v2/suggestions`, `/api/v1/suggestions`, node/suggestions.py).

Links are TrendsLink entities without a preview card: Atrium fetches no page to describe a
link, so `title` is the URL and the card fields are empty."""

from __future__ import annotations

from aiohttp import web

from node import suggestions, trends
from node.outbox import open_web_may_see
from storage.errors import Invalid
from web.api.accounts import render_accounts
from web.api.auth import ctx_of, optional_user, path_id, require_user
from web.api.serializers import JSON
from web.api.statuses import render_many
from web.api.tags import history, render_tags


def _window(request: web.Request, default: int, most: int) -> tuple[int, int]:
    """`limit` (capped at `most`) and `offset`, as Mastodon's trends take them."""
    out = []
    for name, fallback in (("limit", default), ("offset", 0)):
        raw = request.query.get(name, "")
        if raw == "":
            out.append(fallback)
            continue
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
            raise Invalid(f"{name} must be a non-negative integer")
        out.append(int(raw))
    return max(1, min(out[0], most)), out[1]


async def trending_tags(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await optional_user(request, "read")
    limit, offset = _window(request, 10, 20)
    found = await trends.tags(ctx, viewer, limit=limit, offset=offset)
    body = await render_tags(ctx, viewer, [t.key for t in found])
    for entry, t in zip(body, found, strict=True):
        entry["history"] = history(t.history)
    return web.json_response(body)


async def trending_statuses(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await optional_user(request, "read")
    limit, offset = _window(request, 20, 40)
    items = await trends.statuses(ctx, viewer, limit=limit, offset=offset)
    if viewer is None:  # an anonymous reader is the open web: content rules apply to it
        items = [p for p in items if open_web_may_see(ctx, p)]
    return web.json_response(await render_many(ctx, viewer, items))


def link_json(t: trends.Trend) -> JSON:
    return {"url": t.key, "title": t.key, "description": "", "type": "link", "author_name": "", "author_url": "",
            "provider_name": "", "provider_url": "", "html": "", "width": 0, "height": 0, "image": None,
            "embed_url": "", "blurhash": None, "history": history(t.history)}


async def trending_links(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await optional_user(request, "read")
    limit, offset = _window(request, 10, 20)
    return web.json_response([link_json(t) for t in await trends.links(ctx, viewer, limit=limit, offset=offset)])


async def _suggested(request: web.Request) -> list[suggestions.Suggestion]:
    ctx = ctx_of(request)
    viewer = await require_user(request, "read")
    limit, _ = _window(request, 40, 80)
    return await suggestions.suggestions(ctx, viewer, limit)


async def suggestions_v2(request: web.Request) -> web.Response:
    found = await _suggested(request)
    accounts = await render_accounts(ctx_of(request), [s.account for s in found])
    return web.json_response([
        {"source": suggestions.LEGACY_SOURCE[s.sources[0]], "sources": list(s.sources), "account": a}
        for s, a in zip(found, accounts, strict=True)
    ])


async def suggestions_v1(request: web.Request) -> web.Response:
    found = await _suggested(request)
    return web.json_response(await render_accounts(ctx_of(request), [s.account for s in found]))


async def dismiss(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "read")
    await suggestions.dismiss(ctx, viewer, path_id(request, "account_id"))
    return web.json_response({})


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/trends", trending_tags)  # Mastodon's older name for trends/tags
    app.router.add_get("/api/v1/trends/tags", trending_tags)
    app.router.add_get("/api/v1/trends/statuses", trending_statuses)
    app.router.add_get("/api/v1/trends/links", trending_links)
    app.router.add_get("/api/v2/suggestions", suggestions_v2)
    app.router.add_get("/api/v1/suggestions", suggestions_v1)
    app.router.add_delete(r"/api/v1/suggestions/{account_id:\d+}", dismiss)
