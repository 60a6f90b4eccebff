"""A page of statuses read in one filter context: the viewer's filters loaded and compiled
once for the request, `hide` matches left out, `warn` ones marked `filtered`.

Paging stays exact: the Link header is made from the ids the page *read*, not those it
shows, so a hidden post is never read twice nor skipped past. And a page that `hide` filters
thinned is refilled: reading older (the default and `max_id` direction), further pages are
read until `limit` statuses are shown, the timeline ends or `MAX_READS` pages were read —
so a run of hidden posts does not end a client's scrolling with an empty page. Pages read
newer (`min_id`, `since_id`) are not refilled; their Link header still covers what they read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from aiohttp import web

from node import filters
from node.context import NodeContext
from node.filters_match import FilterContext
from node.pagination import Page
from storage.models import Account, Post
from web.api.auth import link_header
from web.api.filter_entities import FilterScope
from web.api.serializers import JSON
from web.api.statuses import render_many

MAX_READS = 4
Fetch = Callable[[Page], Awaitable[list[Post]]]


async def scope_for(ctx: NodeContext, viewer: Account | None, context: FilterContext) -> FilterScope | None:
    """The viewer's active filters for one request (None for an anonymous reader)."""
    if viewer is None:
        return None
    return FilterScope(context, await filters.active(ctx, viewer))


async def filtered_page(
    ctx: NodeContext, viewer: Account | None, page: Page, fetch: Fetch, context: FilterContext,
    keep: Callable[[Post], bool] = lambda _: True,
) -> tuple[list[JSON], list[int]]:
    """The statuses of one page, and the ids that bound it for the Link header."""
    scope = await scope_for(ctx, viewer, context)
    items = await fetch(page)
    read = [p.id for p in items]
    body = await render_many(ctx, viewer, [p for p in items if keep(p)], scope)
    reads = 1
    refill = scope is not None and scope.applies() and page.min_id is None and page.since_id is None
    while refill and len(body) < page.limit and len(items) == page.limit and reads < MAX_READS:
        items = await fetch(replace(page, max_id=read[-1]))
        reads += 1
        more = await render_many(ctx, viewer, [p for p in items if keep(p)], scope)
        room = page.limit - len(body)
        body += more[:room]
        # The page ends at the last status shown when this read filled it, else at what it read.
        read += [int(more[room - 1]["id"])] if len(more) > room else [p.id for p in items]
    return body, read


async def respond(
    request: web.Request, ctx: NodeContext, viewer: Account | None, page: Page, fetch: Fetch,
    context: FilterContext, keep: Callable[[Post], bool] = lambda _: True,
) -> web.Response:
    body, read = await filtered_page(ctx, viewer, page, fetch, context, keep)
    return web.json_response(body, headers=link_header(request, read))
