"""Bookmarks: `POST /api/v1/statuses/:id/bookmark` and `unbookmark`, and the signed-in
account's own list, `GET /api/v1/bookmarks` (nobody else's is ever readable)."""

from __future__ import annotations

from aiohttp import web

from node import bookmarks, posts
from web.api.auth import ctx_of, link_header, page_of, path_id, require_user
from web.api.statuses import render, render_many


async def _mark(request: web.Request, bookmarked: bool) -> web.Response:
    """Bookmark or unbookmark the post in the path; answer with it as the viewer now sees it."""
    ctx = ctx_of(request)
    viewer = await require_user(request, "write:bookmarks")
    change = bookmarks.bookmark if bookmarked else bookmarks.unbookmark
    post = await change(ctx, viewer, path_id(request))
    body = await render(ctx, viewer, await posts.get_post(ctx, viewer, post.id))
    return web.json_response({**body, "bookmarked": bookmarked})


async def bookmark(request: web.Request) -> web.Response:
    return await _mark(request, True)


async def unbookmark(request: web.Request) -> web.Response:
    return await _mark(request, False)


async def list_bookmarks(request: web.Request) -> web.Response:
    """Newest bookmark first, paged by the bookmark's id (Link header)."""
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:bookmarks")
    rows = await bookmarks.bookmarks(ctx, viewer, page_of(request))
    body = [{**status, "bookmarked": True} for status in await render_many(ctx, viewer, [post for _, post in rows])]
    return web.json_response(body, headers=link_header(request, [i for i, _ in rows]))


def setup(app: web.Application) -> None:
    app.router.add_post(r"/api/v1/statuses/{id:\d+}/bookmark", bookmark)
    app.router.add_post(r"/api/v1/statuses/{id:\d+}/unbookmark", unbookmark)
    app.router.add_get("/api/v1/bookmarks", list_bookmarks)
