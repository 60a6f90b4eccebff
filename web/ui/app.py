"""Mount the web UI on the node's aiohttp application."""

from __future__ import annotations

import re

from aiohttp import web

from web.keys import CTX
from web.ui import (
    lists,
    nav,
    pages_auth,
    pages_communities,
    pages_communities_manage,
    pages_delete,
    pages_directory,
    pages_explore,
    pages_export,
    pages_filters,
    pages_inbox,
    pages_lists,
    pages_people,
    pages_pins,
    pages_polls,
    pages_posts,
    pages_scheduled,
    pages_security,
    pages_sso,
    pages_timelines,
)
from web.ui.attachments import blurred, composer_limits
from web.ui.core import JINJA
from web.ui.render import STATIC, make_env
from web.ui.risky import RISKY

# ActivityPub URLs a browser may open: /users/{name} and /users/{name}/statuses/{id}.
AP_ACTOR = re.compile(r"^/users/([^/]+)$")
AP_NOTE = re.compile(r"^/users/([^/]+)/statuses/(\d+)$")
AP_TYPES = ("application/activity+json", "application/ld+json", "application/json")
# The pages of a local actor and note, which ActivityPub clients may be given as `url`.
PAGE_ACTOR = re.compile(r"^/@([^/@]+)$")
PAGE_NOTE = re.compile(r"^/@([^/@]+)/(\d+)$")


def wants_html(request: web.Request) -> bool:
    """A browser asking for a page: it names text/html and no ActivityPub or JSON type."""
    accept = request.headers.get("Accept", "").lower()
    return "text/html" in accept and not any(t in accept for t in AP_TYPES)


@web.middleware
async def browser_negotiation(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """Send browsers from an actor or note URL to its page, and ActivityPub clients from a page
    to the actor or note; each answer applies its own visibility rules (the page the viewer's
    session, the note authorized fetch), so nothing more is shown either way."""
    if request.method == "GET" and wants_html(request):
        if m := AP_ACTOR.match(request.path):
            raise web.HTTPSeeOther(f"/@{m.group(1)}", headers={"Vary": "Accept"})
        if m := AP_NOTE.match(request.path):
            raise web.HTTPSeeOther(f"/@{m.group(1)}/{m.group(2)}", headers={"Vary": "Accept"})
    elif request.method == "GET" and any(t in request.headers.get("Accept", "").lower() for t in AP_TYPES[:2]):
        if m := PAGE_ACTOR.match(request.path):
            raise web.HTTPSeeOther(f"/users/{m.group(1)}", headers={"Vary": "Accept"})
        if m := PAGE_NOTE.match(request.path):
            raise web.HTTPSeeOther(f"/users/{m.group(1)}/statuses/{m.group(2)}", headers={"Vary": "Accept"})
    return await handler(request)


async def favicon(request: web.Request) -> web.FileResponse:
    """Browsers and feed readers ask for /favicon.ico whatever the page names."""
    return web.FileResponse(STATIC / "favicon.ico", headers={"Content-Type": "image/x-icon"})


async def _static_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith("/static/") or request.path == "/favicon.ico":
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Cache-Control", "public, max-age=3600")


def setup(app: web.Application) -> None:
    app[JINJA] = make_env()
    app[JINJA].globals["NAV"] = nav
    app[JINJA].globals["RISKY"] = RISKY
    app[JINJA].globals["MAX_POST_CHARS"] = app[CTX].max_post_chars
    app[JINJA].globals["MEDIA_LIMITS"] = composer_limits(app[CTX])
    app[JINJA].globals["POLL_LIMITS"] = pages_polls.COMPOSER_LIMITS
    app[JINJA].globals["blurred"] = blurred
    app.middlewares.append(browser_negotiation)
    app.on_response_prepare.append(_static_headers)
    app.router.add_static("/static/", STATIC, name="static", append_version=False)
    app.router.add_get("/favicon.ico", favicon)
    pages_auth.setup_routes(app)
    pages_sso.setup_routes(app)
    pages_timelines.setup_routes(app)
    pages_explore.setup_routes(app)
    pages_polls.setup_routes(app)  # before pages_posts: its /posts/{id}/{action} would take /vote
    pages_posts.setup_routes(app)
    pages_scheduled.setup_routes(app)
    pages_people.setup_routes(app)
    pages_inbox.setup_routes(app)
    pages_lists.setup_routes(app)
    lists.setup_routes(app)
    pages_security.setup_routes(app)
    pages_delete.setup_routes(app)
    pages_export.setup_routes(app)
    pages_directory.setup_routes(app)
    pages_filters.setup_routes(app)
    pages_communities.setup_routes(app)
    pages_communities_manage.setup_routes(app)
    pages_pins.setup_routes(app)
