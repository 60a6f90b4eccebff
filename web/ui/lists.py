"""The Lists pages: the signed-in person's lists (create one), a list's timeline, and its
settings (rename, replies policy, exclusive, delete, people added from those they follow);
each read and changed through node/lists.py, as the client API does."""

from __future__ import annotations

from aiohttp import web

from node import lists, timelines
from node.pagination import Page as Cursor
from storage.models import TITLE_MAX
from web.ui.core import Page, page
from web.ui.views import post_views

# The replies policies (storage.models.REPLIES_POLICIES) in words, as Mastodon's web UI offers them.
POLICY_WORDS = {
    "list": "Replies to members of the list",
    "followed": "Replies to anyone you follow",
    "none": "No replies to others",
}


@page()
async def lists_page(p: Page) -> web.StreamResponse:
    found = await lists.lists_of(p.ctx, p.user)
    counts = await lists.member_counts(p.ctx, p.user)
    return p.render("lists.html", title="Lists", lists=found, counts=counts, policies=POLICY_WORDS,
                    title_max=TITLE_MAX)


@page()
async def create(p: Page) -> web.StreamResponse:
    made = await lists.create(p.ctx, p.user, p.field("title"), p.field("replies_policy", "list") or "list",
                              p.field("exclusive") == "on")
    return p.redirect(f"/lists/{made.id}/edit")


@page()
async def list_page(p: Page) -> web.StreamResponse:
    list_id = p.path_id("id", "list")
    found = await lists.get_list(p.ctx, p.user, list_id)
    cursor = Cursor.parse(max_id=p.request.query.get("max_id"))
    items = await timelines.list_timeline(p.ctx, p.user, list_id, cursor)
    older = items[-1].id if len(items) >= cursor.limit else None
    return p.render("list.html", title=found.title, list=found, tab="posts",
                    posts=await post_views(p.ctx, p.user, items), older=older)


@page()
async def edit_page(p: Page) -> web.StreamResponse:
    list_id = p.path_id("id", "list")
    found = await lists.get_list(p.ctx, p.user, list_id)
    members = [a for _, a in await lists.members(p.ctx, p.user, list_id, None)]
    return p.render("list.html", title=found.title, list=found, tab="edit", members=members,
                    addable=await lists.addable(p.ctx, p.user, list_id), policies=POLICY_WORDS,
                    title_max=TITLE_MAX, done=p.request.query.get("done"))


@page()
async def update(p: Page) -> web.StreamResponse:
    list_id = p.path_id("id", "list")
    await lists.update(p.ctx, p.user, list_id, title=p.field("title"),
                       replies_policy=p.field("replies_policy", "list") or "list", exclusive=p.field("exclusive") == "on")
    return p.redirect(f"/lists/{list_id}/edit?done=saved")


@page()
async def delete(p: Page) -> web.StreamResponse:
    await lists.delete_list(p.ctx, p.user, p.path_id("id", "list"))
    return p.redirect("/lists")


@page()
async def add(p: Page) -> web.StreamResponse:
    list_id = p.path_id("id", "list")
    await lists.add_members(p.ctx, p.user, list_id, [p.path_id("account_id", "account")])
    return p.redirect(f"/lists/{list_id}/edit")


@page()
async def remove(p: Page) -> web.StreamResponse:
    list_id = p.path_id("id", "list")
    await lists.remove_members(p.ctx, p.user, list_id, [p.path_id("account_id", "account")])
    return p.redirect(f"/lists/{list_id}/edit")


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/lists", lists_page)
    r.add_post("/lists", create)
    r.add_get("/lists/{id}", list_page)
    r.add_get("/lists/{id}/edit", edit_page)
    r.add_post("/lists/{id}/edit", update)
    r.add_post("/lists/{id}/delete", delete)
    r.add_post("/lists/{id}/accounts/{account_id}/add", add)
    r.add_post("/lists/{id}/accounts/{account_id}/remove", remove)
