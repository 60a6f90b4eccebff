"""Notifications and search (people, hashtags, and posts by the full-text index)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from node import accounts, filters, notifications, posts
from node.filters_match import FilterContext
from node.pagination import Page as Cursor
from node.search import Results, search
from storage.errors import Invalid, NotFound
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
    "poll": "ran a poll that has ended",
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


SEARCH_PAGE = 20


@page(signed_in=False)
async def search_page(p: Page) -> web.StreamResponse:
    """People, hashtags and posts (the full-text index, node/post_search.py, with Mastodon's
    operators); an operator's bad value is said on the page, beside the form."""
    query = p.request.query.get("q", "").strip()
    raw_offset = p.request.query.get("offset", "0")
    offset = int(raw_offset) if raw_offset.isascii() and raw_offset.isdigit() and len(raw_offset) < 7 else 0
    error = ""
    try:
        # Signed-in people may look up user@other.node (a WebFinger fetch); anonymous readers not.
        results = await search(p.ctx, p.me, query[:500], resolve=offset == 0, limit=SEARCH_PAGE, offset=offset)
    except Invalid as exc:
        error, results = exc.reason, Results()
    return p.render(
        "search.html", title="Search", query=query, results=results, error=error,
        posts=await post_views(p.ctx, p.me, results.statuses),
        more=offset + SEARCH_PAGE if len(results.statuses) >= SEARCH_PAGE else None,
    )


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/notifications", notifications_page)
    app.router.add_get("/search", search_page)
