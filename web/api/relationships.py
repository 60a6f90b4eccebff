"""Relationships: follow, unfollow, block, mute (and their undoing), remove a follower,
follow requests, the lists of blocks and mutes, and `GET /api/v1/accounts/relationships`.
Every change answers with the Relationship as it stands afterwards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from node import blocks, community_accounts, follows, mutes, relationships
from node.context import NodeContext
from node.pagination import Page
from storage.errors import Invalid
from storage.ids import parse_id
from storage.models import Account
from web.api import serializers
from web.api.accounts import render_accounts
from web.api.auth import ctx_of, flag, link_header, page_of, params, path_id, require_user


async def _answer(request: web.Request, viewer: Account, other_id: int) -> web.Response:
    rel = await relationships.relationship(ctx_of(request), viewer, other_id)
    return web.json_response(serializers.relationship(rel))


async def list_relationships(request: web.Request) -> web.Response:
    """`id[]=1&id[]=2` (or `id=1`); ids this node does not know answer nothing, as Mastodon."""
    viewer = await require_user(request, "read:follows")
    p = await params(request)
    raw = p.get("id", [])
    wanted = raw if isinstance(raw, list) else [raw]
    ids = [i for i in (parse_id(w) for w in wanted) if i is not None]
    ctx = ctx_of(request)
    known = {a.id for a in await relationships.existing(ctx, ids)}
    rels = await relationships.relationships(ctx, viewer, [i for i in ids if i in known])
    return web.json_response([serializers.relationship(r) for r in rels])


async def follow(request: web.Request) -> web.Response:
    """Follow: `following` at once, or `requested` for a locked or remote account until it
    accepts. `reblogs`, `notify` and `languages` are accepted and ignored."""
    viewer = await require_user(request, "write:follows")
    p = await params(request)
    for name in ("reblogs", "notify"):
        flag(p, name)  # validated as Mastodon does, though Atrium keeps no per-follow options
    target_id = path_id(request)
    await community_accounts.follow_account(ctx_of(request), viewer, target_id)  # a community's: joined
    return await _answer(request, viewer, target_id)


Handler = Callable[[web.Request], Awaitable[web.Response]]
# The viewer's change to one account's standing: `(ctx, viewer, other id)`.
Change = Callable[[NodeContext, Account, int], Awaitable[object]]
# One page of accounts with their paging ids: `(ctx, viewer, page)`.
Lister = Callable[[NodeContext, Account, Page], Awaitable[list[tuple[int, Account]]]]


def _changer(scope: str, change: Change, *, known: bool = False) -> Handler:
    """A POST on `/…/{id}/verb` that makes `change` and answers with the Relationship after it.
    `known`: an undo on an id this node does not know answers 404 rather than a no-op."""

    async def handler(request: web.Request) -> web.Response:
        viewer = await require_user(request, scope)
        other_id = path_id(request)
        if known:
            await relationships.existing_one(ctx_of(request), other_id)
        await change(ctx_of(request), viewer, other_id)
        return await _answer(request, viewer, other_id)

    return handler


def _lister(scope: str, rows_of: Lister) -> Handler:
    """A GET of the viewer's accounts of one kind, paged with Mastodon's Link header."""

    async def handler(request: web.Request) -> web.Response:
        viewer = await require_user(request, scope)
        rows = await rows_of(ctx_of(request), viewer, page_of(request))
        body = await render_accounts(ctx_of(request), [a for _, a in rows])
        return web.json_response(body, headers=link_header(request, [i for i, _ in rows]))

    return handler


unfollow = _changer("write:follows", follows.unfollow, known=True)
remove_from_followers = _changer("write:follows", follows.remove_follower, known=True)
# Block: ends follows both ways; a remote account's server is sent the Block.
block = _changer("write:blocks", blocks.block)
unblock = _changer("write:blocks", blocks.unblock, known=True)


async def mute(request: web.Request) -> web.Response:
    """Mute: `notifications` (default true) hides their notifications too. A `duration` other
    than 0 (forever) is refused: mutes here do not expire."""
    viewer = await require_user(request, "write:mutes")
    p = await params(request)
    duration = p.get("duration")
    if duration not in (None, "", 0, "0"):
        raise Invalid("timed mutes are not supported: duration must be 0")
    target_id = path_id(request)
    await mutes.mute(ctx_of(request), viewer, target_id, notifications=bool(flag(p, "notifications", True)))
    return await _answer(request, viewer, target_id)


unmute = _changer("write:mutes", mutes.unmute, known=True)
list_blocks = _lister("read:blocks", blocks.blocked)
list_mutes = _lister("read:mutes", mutes.muted)
follow_requests = _lister("read:follows", follows.requests_page)
authorize = _changer("write:follows", follows.approve)
reject = _changer("write:follows", follows.reject)


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/accounts/relationships", list_relationships)
    for verb, handler in (
        ("follow", follow),
        ("unfollow", unfollow),
        ("remove_from_followers", remove_from_followers),
        ("block", block),
        ("unblock", unblock),
        ("mute", mute),
        ("unmute", unmute),
    ):
        r.add_post(rf"/api/v1/accounts/{{id:\d+}}/{verb}", handler)
    r.add_get("/api/v1/blocks", list_blocks)
    r.add_get("/api/v1/mutes", list_mutes)
    r.add_get("/api/v1/follow_requests", follow_requests)
    r.add_post(r"/api/v1/follow_requests/{id:\d+}/authorize", authorize)
    r.add_post(r"/api/v1/follow_requests/{id:\d+}/reject", reject)
