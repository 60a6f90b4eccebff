"""The signed-in person's own lists: direct messages (one conversation per thread), bookmarks,
favourites, and the people they block and mute — each paged, each private to its owner, each
read from the same node module the client API reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from node import accounts, audience_words, blocks, bookmarks, conversations, domain_blocks, favourites, mutes
from node.context import NodeContext
from node.pagination import Page as Cursor
from storage.errors import NotFound
from storage.ids import parse_id
from storage.models import Account, Post
from web.ui.core import Page, page
from web.ui.risky import confirm_page, needs_confirming
from web.ui.views import post_views, profile_path

PEOPLE_LIMIT = 40
DOMAINS_LIMIT = 200  # blocked domains shown on the blocked people's page
T = TypeVar("T")


def _cursor(p: Page, limit: int | None = None) -> Cursor:
    return Cursor.parse(max_id=p.request.query.get("max_id"), limit=limit)


def _older(ids: list[int], cursor: Cursor) -> int | None:
    """The cursor of the next (older) page, when this one is full."""
    return ids[-1] if ids and len(ids) >= cursor.limit else None


def _path_id(p: Page, name: str) -> int:
    found = parse_id(p.request.match_info[name])
    if found is None:
        raise NotFound("no such item")
    return found


@page()
async def conversations_page(p: Page) -> web.StreamResponse:
    cursor = _cursor(p)
    items = await conversations.conversations(p.ctx, p.user, cursor)
    views = {v.id: v for v in await post_views(p.ctx, p.user, [c.last for c in items])}
    return p.render(
        "conversations.html",
        title="Direct messages",
        items=[(c, views.get(c.last.id)) for c in items],
        older=_older([c.last.id for c in items], cursor),
    )


@page()
async def conversation_page(p: Page) -> web.StreamResponse:
    """One conversation, oldest message first, with a reply to its people; reading it marks it
    read."""
    conversation_id = _path_id(p, "id")
    cursor = _cursor(p)
    found = await conversations.mark_read(p.ctx, p.user, conversation_id)
    newest_first = await conversations.messages(p.ctx, p.user, conversation_id, cursor)
    others = [a for a in found.others if a.id != p.user.id]
    return p.render(
        "conversation.html",
        title="With " + ", ".join(a.display_name or a.username for a in found.others),
        conversation=found,
        posts=list(reversed(await post_views(p.ctx, p.user, newest_first))),
        earlier=_older([m.id for m in newest_first], cursor),
        audiences=audience_words.audiences(p.ctx),
        chosen=found.last.visibility,  # a reply stays as private as the conversation
        reply_to=found.last,
        reply_text="".join(f"@{a.acct()} " for a in others),
    )


# which -> (title, what the page holds, an empty page's heading and what it says to do)
SAVED = {
    "bookmarks": (
        "Bookmarks",
        "Posts you keep for later. Only you can see your bookmarks.",
        ("No bookmarks yet", "Press “Bookmark” under a post to keep it here for later."),
    ),
    "favourites": (
        "Favourites",
        "Posts you liked, the latest like first.",
        ("No favourites yet", "Posts you like with ♥ are listed here, so you can find them again."),
    ),
}
Listing = Callable[[NodeContext, Account, Cursor], Awaitable[list[tuple[int, T]]]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _saved_page(which: str, listing: Listing[Post]) -> Handler:
    """The page of one list of posts (bookmarks or favourites), paged by the list's own ids."""
    title, blurb, empty = SAVED[which]

    @page()
    async def show(p: Page) -> web.StreamResponse:
        cursor = _cursor(p)
        rows = await listing(p.ctx, p.user, cursor)
        return p.render(
            "saved.html",
            title=title,
            blurb=blurb,
            empty=empty,
            posts=await post_views(p.ctx, p.user, [post for _, post in rows]),
            older=_older([i for i, _ in rows], cursor),
        )

    return show


def _people_page(which: str, listing: Listing[Account]) -> Handler:
    """The blocked or the muted people, paged by the block's or mute's id."""

    @page()
    async def show(p: Page) -> web.StreamResponse:
        cursor = _cursor(p, PEOPLE_LIMIT)
        rows = await listing(p.ctx, p.user, cursor)
        domains = []
        if which == "blocks":
            domains = [b.domain for b in await domain_blocks.blocked_domains(p.ctx, p.user, Cursor(limit=DOMAINS_LIMIT))]
        return p.render(
            "blocked.html",
            title="Blocked and muted people",
            which=which,
            people=[a for _, a in rows],
            domains=domains,
            older=_older([i for i, _ in rows], cursor),
        )

    return show


@page()
async def block_domain(p: Page) -> web.StreamResponse:
    """Block a remote account's whole domain, after the page that says what that does."""
    target = await accounts.get_account(p.ctx, _path_id(p, "account_id"))
    if target.domain is None:
        raise NotFound("people on this node have no other domain to block")
    back = p.next_url(profile_path(target))
    if needs_confirming(p, "block_domain"):
        return confirm_page(p, "block_domain", target.domain, back)
    await domain_blocks.block(p.ctx, p.user, target.domain)
    return p.redirect(back)


@page()
async def unblock_domain(p: Page) -> web.StreamResponse:
    await domain_blocks.unblock(p.ctx, p.user, p.field("domain"))
    return p.redirect(p.next_url("/blocks"))


def _act(change: Callable[[NodeContext, Account, int], Awaitable[object]], param: str, back: str) -> Handler:
    """A form's action on one post or account (bookmark, unblock, ...), then back to the page."""

    @page()
    async def act(p: Page) -> web.StreamResponse:
        await change(p.ctx, p.user, _path_id(p, param))
        return p.redirect(p.next_url(back))

    return act


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/conversations", conversations_page)
    r.add_get(r"/conversations/{id:\d+}", conversation_page)
    r.add_post(r"/conversations/{id:\d+}/remove", _act(conversations.remove, "id", "/conversations"))
    r.add_get("/bookmarks", _saved_page("bookmarks", bookmarks.bookmarks))
    r.add_get("/favourites", _saved_page("favourites", favourites.favourites))
    r.add_post(r"/bookmarks/{post_id:\d+}", _act(bookmarks.bookmark, "post_id", "/bookmarks"))
    r.add_post(r"/bookmarks/{post_id:\d+}/remove", _act(bookmarks.unbookmark, "post_id", "/bookmarks"))
    r.add_get("/blocks", _people_page("blocks", blocks.blocked))
    r.add_get("/mutes", _people_page("mutes", mutes.muted))
    r.add_post(r"/accounts/{account_id:\d+}/unblock", _act(blocks.unblock, "account_id", "/blocks"))
    r.add_post(r"/accounts/{account_id:\d+}/unmute", _act(mutes.unmute, "account_id", "/mutes"))
    r.add_post(r"/accounts/{account_id:\d+}/block_domain", block_domain)
    r.add_post("/domain_blocks/unblock", unblock_domain)
