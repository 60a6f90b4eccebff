"""Explore: what is trending inside the organisation (hashtags, posts) and people to follow;
and following a hashtag from its page."""

from __future__ import annotations

from aiohttp import web

from node import suggestions, tags, trends
from web.ui.core import Page, page
from web.ui.views import post_views

SHOWN = 10


@page()
async def explore(p: Page) -> web.StreamResponse:
    trending = await trends.tags(p.ctx, p.me, limit=SHOWN)
    followed = await tags.following(p.ctx, p.me, [t.key for t in trending])
    posts = await trends.statuses(p.ctx, p.me, limit=SHOWN)
    people = await suggestions.suggestions(p.ctx, p.user, limit=SHOWN)
    return p.render(
        "explore.html",
        title="Explore",
        tags=[(t, t.key in followed, [d.uses for d in reversed(t.history)]) for t in trending],
        posts=await post_views(p.ctx, p.me, posts),
        people=people,
        window=trends.WINDOW_DAYS,
    )


async def _follow(p: Page, on: bool) -> web.StreamResponse:
    change = tags.follow if on else tags.unfollow
    name = await change(p.ctx, p.user, p.request.match_info["name"])
    return p.redirect(p.next_url(f"/tags/{name}"))


@page()
async def follow_tag(p: Page) -> web.StreamResponse:
    return await _follow(p, True)


@page()
async def unfollow_tag(p: Page) -> web.StreamResponse:
    return await _follow(p, False)


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/explore", explore)
    r.add_post("/tags/{name}/follow", follow_tag)
    r.add_post("/tags/{name}/unfollow", unfollow_tag)
