"""A community's pins from the web UI: a moderator's "Pin to community" / "Unpin" under a post
written to it (the community page, web/ui/communities.py, shows the forms; its pinned posts
come from `pins.pinned`). One's own pins are the post actions of web/ui/pages_posts.py."""

from __future__ import annotations

from aiohttp import web

from node import accounts, pins
from web.ui.core import Page, page


async def _community_pin(p: Page, *, pin: bool) -> web.StreamResponse:
    post_id = p.path_id("post_id", "post")
    community = await accounts.get_account(p.ctx, p.path_id("community_id", "community"))
    change = pins.pin if pin else pins.unpin
    await change(p.ctx, p.user, post_id, on_behalf_of=community)
    return p.redirect(p.next_url("/") + f"#post-{post_id}")


@page()
async def pin_to_community(p: Page) -> web.StreamResponse:
    return await _community_pin(p, pin=True)


@page()
async def unpin_from_community(p: Page) -> web.StreamResponse:
    return await _community_pin(p, pin=False)


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_post(r"/communities/{community_id:\d+}/pins/{post_id:\d+}", pin_to_community)
    r.add_post(r"/communities/{community_id:\d+}/pins/{post_id:\d+}/remove", unpin_from_community)
