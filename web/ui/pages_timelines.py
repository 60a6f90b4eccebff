"""Timelines: home, organisation, local, federated, hashtag; and the fragment that polling
fetches so new posts appear without a reload."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from node import announcements, audience_words, preferences, tags, timelines
from node.context import NodeContext
from node.filters_match import FilterContext
from node.pagination import Page as Cursor
from node.text import is_tag_name
from storage.errors import NotFound
from storage.models import Account, Post
from web.ui import pages_auth
from web.ui.core import Page, page
from web.ui.views import post_views

Source = Callable[[NodeContext, Account | None, Cursor], Awaitable[list[Post]]]


async def _home(ctx: NodeContext, viewer: Account | None, cursor: Cursor) -> list[Post]:
    return await timelines.home(ctx, viewer, cursor) if viewer is not None else []


# name -> (title, what it holds, source, needs a signed-in viewer)
TIMELINES: dict[str, tuple[str, str, Source, bool]] = {
    "home": ("Home", "Posts from people you follow, and your own.", _home, True),
    "organization": ("Organisation", "Posts from everyone in the organisation's nodes.", timelines.organization, True),
    "local": ("This node", "Posts written by people on this node.", timelines.local, False),
    "federated": ("Federated", "Public posts this node knows of, from here and elsewhere.", timelines.federated, False),
}


def _cursor(p: Page) -> Cursor:
    return Cursor.parse(max_id=p.request.query.get("max_id"), since_id=p.request.query.get("since_id"))


async def _source(p: Page, name: str) -> tuple[Source | None, str, str]:
    if name.startswith("tag:"):
        tag = name[4:]

        async def by_tag(ctx: NodeContext, viewer: Account | None, cursor: Cursor) -> list[Post]:
            return await timelines.hashtag(ctx, viewer, tag, cursor)

        return by_tag, f"#{tag}", f"Posts tagged #{tag} that you may see."
    if name not in TIMELINES:
        raise NotFound("no such timeline")
    title, blurb, source, needs_user = TIMELINES[name]
    if needs_user and p.me is None:
        return None, title, blurb
    return source, title, blurb


async def _timeline(p: Page, name: str, compose: bool, **extra: Any) -> web.StreamResponse:
    source, title, blurb = await _source(p, name)
    if source is None:
        return p.redirect("/signin?next=" + p.request.path)
    raw = await source(p.ctx, p.me, _cursor(p))
    # The composer starts from the person's preferences (node/preferences.py).
    prefs = await preferences.of(p.ctx, p.me.id) if p.me is not None else preferences.Preferences()
    views = await post_views(p.ctx, p.me, raw, _context(name))
    poll = f"/timeline/{name}/new"
    return p.render(
        "timeline.html",
        title=title,
        blurb=blurb,
        timeline=name,
        posts=views,
        newest=raw[0].id if raw else 0,
        older=raw[-1].id if len(raw) >= _cursor(p).limit else None,
        poll=poll if "max_id" not in p.request.query else None,
        compose=compose and p.me is not None,
        audiences=audience_words.audiences(p.ctx),
        chosen=prefs.web_audience,
        sensitive=prefs.sensitive,
        reply_to=None,
        text="",
        summary="",
        error=None,
        # The banner: what the person has not dismissed yet (node/announcements.py).
        announcements=await announcements.active(p.ctx, p.me) if p.me is not None else [],
        **extra,
    )


def _context(name: str) -> FilterContext:
    """The filter context a timeline is read in: home, or a shared one."""
    return FilterContext.HOME if name == "home" else FilterContext.PUBLIC


@page(signed_in=False)
async def home(p: Page) -> web.StreamResponse:
    if p.me is None:
        return await pages_auth.start(p)
    return await _timeline(p, "home", True)


@page()
async def organization(p: Page) -> web.StreamResponse:
    return await _timeline(p, "organization", True)


@page(signed_in=False)
async def local(p: Page) -> web.StreamResponse:
    return await _timeline(p, "local", True)


@page(signed_in=False)
async def federated(p: Page) -> web.StreamResponse:
    return await _timeline(p, "federated", True)


@page(signed_in=False)
async def hashtag(p: Page) -> web.StreamResponse:
    name = p.request.match_info["name"].lower().lstrip("#")[:255]
    # Signed in, a hashtag one could follow offers Follow / Unfollow (node/tags.py).
    following = None if p.me is None or not is_tag_name(name) else name in await tags.following(p.ctx, p.me, [name])
    return await _timeline(p, f"tag:{name}", False, tag=name, following=following)


@page(signed_in=False)
async def newer(p: Page) -> web.StreamResponse:
    """Posts newer than `since_id`, as the HTML the page's list holds (for polling)."""
    source, _, _ = await _source(p, p.request.match_info["name"])
    if source is None or not p.request.query.get("since_id"):
        return p.render("_posts.html", posts=[], newest=0)
    raw = await source(p.ctx, p.me, Cursor.parse(since_id=p.request.query.get("since_id"), limit=40))
    views = await post_views(p.ctx, p.me, raw, _context(p.request.match_info["name"]))
    return p.render("_posts.html", posts=views, newest=raw[0].id if raw else 0)


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/", home)
    r.add_get("/organization", organization)
    r.add_get("/local", local)
    r.add_get("/federated", federated)
    r.add_get("/tags/{name}", hashtag)
    r.add_get("/timeline/{name}/new", newer)
