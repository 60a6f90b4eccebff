"""Notifications and search."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from node import accounts, filters, notifications, posts
from node.filters_match import FilterContext
from node.pagination import Page as Cursor
from node.search import search
from storage.errors import NotFound
from storage.models import Account, Notification, Post
from web.ui.core import Page, page
from web.ui.views import post_views

WORDS = {
    "follow": "followed you",
    "follow_request": "asked to follow you",
    "mention": "mentioned you",
    "reply": "replied to your post",
    "like": "liked your post",
    "boost": "boosted your post",
}


@dataclass(frozen=True)
class NotificationView:
    item: Notification
    who: Account
    words: str
    post: Post | None
    filtered: list[str]  # titles of the reader's `warn` filters its post matches


@page()
async def notifications_page(p: Page) -> web.StreamResponse:
    cursor = Cursor.parse(max_id=p.request.query.get("max_id"))
    items = await notifications.list_notifications(p.ctx, p.user.id, cursor)
    views = []
    active = await filters.active(p.ctx, p.user)  # the reader's filters, as the client API applies them
    for n in items:
        try:
            who = await accounts.get_account(p.ctx, n.from_account_id)
            post = await posts.get_post(p.ctx, p.me, n.post_id) if n.post_id else None
        except NotFound:
            continue  # the post was deleted or is no longer visible
        titles: list[str] = []
        if post is not None and active:
            found = filters.judge(active, FilterContext.NOTIFICATIONS, post, post, [])
            if found is None:
                continue  # a `hide` filter
            titles = [m.filter.title for m in found]
        views.append(NotificationView(n, who, WORDS.get(n.type, n.type), post, titles))
    if items and cursor.max_id is None:
        await notifications.mark_read(p.ctx, p.user.id, items[0].id)
        p.unread = 0
    return p.render(
        "notifications.html", title="Notifications", items=views,
        older=items[-1].id if len(items) >= cursor.limit else None,
    )


@page(signed_in=False)
async def search_page(p: Page) -> web.StreamResponse:
    query = p.request.query.get("q", "").strip()
    # Signed-in people may look up user@other.node (a WebFinger fetch); anonymous readers not.
    results = await search(p.ctx, p.me, query[:500], resolve=True)
    return p.render(
        "search.html", title="Search", query=query, results=results,
        posts=await post_views(p.ctx, p.me, results.statuses),
    )


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/notifications", notifications_page)
    app.router.add_get("/search", search_page)
