"""The people directory (`/directory`): this node's people, searched by name, title or
department (node/directory.py), each with their avatar, name, handle, title and department,
and a follow button; paged. For signed-in people only, as the client API's directory."""

from __future__ import annotations

from aiohttp import web

from node import directory, relationships
from storage.errors import Invalid
from web.ui.core import Page, page

PAGE_SIZE = 24


def _offset(raw: str | None) -> int:
    if not raw:
        return 0
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise Invalid("the page must be a number")
    return int(raw)


@page()
async def directory_page(p: Page) -> web.StreamResponse:
    q = (p.request.query.get("q") or "").strip()[: directory.MAX_QUERY]
    offset = _offset(p.request.query.get("offset"))
    order = directory.parse_order(p.request.query.get("order"))
    # One more than a page: whether there is a next one.
    found = await directory.people(p.ctx, directory.Query(q, order, offset, PAGE_SIZE + 1))
    people = found[:PAGE_SIZE]
    rels = {r.id: r for r in await relationships.relationships(p.ctx, p.user, [a.id for a in people if a.id != p.user.id])}
    return p.render(
        "directory.html", title="People", query=q, order=order.value, people=people, rels=rels,
        offset=offset, newer=max(0, offset - PAGE_SIZE) if offset else None,
        older=offset + PAGE_SIZE if len(found) > PAGE_SIZE else None,
    )


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/directory", directory_page)
