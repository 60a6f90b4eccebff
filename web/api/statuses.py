"""Statuses: post (with Atrium's audiences and Idempotency-Key), read, delete, favourite, reblog."""

from __future__ import annotations

from aiohttp import web

from node import idempotency, interactions, post_views, posts
from node.audience import Audience
from node.context import NodeContext
from node.outbox import open_web_may_see
from node.posts import NewPost
from storage.errors import Invalid, NotFound
from storage.ids import parse_id
from storage.models import Account, Post
from web.api import serializers
from web.api.auth import Params, ctx_of, flag, optional_user, params, path_id, require_user, text_param
from web.api.serializers import JSON


def visibility_of(p: Params) -> Audience:
    """The Atrium visibility a request asks for (`visibility` plus `local_only`)."""
    asked = text_param(p, "visibility") or Audience.PUBLIC.rules.mastodon
    visibility = Audience.from_mastodon(asked)  # Mastodon's words (`private`) and Atrium's own
    if visibility is None:
        raise Invalid(f"unknown visibility {asked!r}: one of {', '.join(Audience.mastodon_words())}")
    if flag(p, "local_only", False):
        if not visibility.rules.may_be_local_only:
            raise Invalid(f"local_only cannot be combined with {asked} visibility")
        visibility = Audience.LOCAL
    return visibility


async def render_many(ctx: NodeContext, viewer: Account | None, items: list[Post]) -> list[JSON]:
    """Statuses for a page of posts; a boost carries its original, or is left out when the
    original is gone or no longer visible to the viewer."""
    originals: dict[int, Post] = {}
    for post in items:
        if post.reblog_of_id is not None and post.reblog_of_id not in originals:
            try:
                originals[post.reblog_of_id] = await posts.get_post(ctx, viewer, post.reblog_of_id)
            except NotFound:
                continue
    extras = await post_views.extras(ctx, viewer, [p.id for p in items] + list(originals))
    out = []
    for post in items:
        if post.reblog_of_id is None:
            out.append(serializers.status(ctx, post, extras))
        elif post.reblog_of_id in originals:
            reblog = serializers.status(ctx, originals[post.reblog_of_id], extras)
            out.append(serializers.status(ctx, post, extras, reblog=reblog))
    return out


async def render(ctx: NodeContext, viewer: Account | None, post: Post) -> JSON:
    rendered = await render_many(ctx, viewer, [post])
    if not rendered:
        raise NotFound("Record not found")
    return rendered[0]


def _optional_id(p: Params, name: str) -> int | None:
    raw = text_param(p, name)
    if not raw:
        return None
    post_id = parse_id(raw)
    if post_id is None:
        raise NotFound("Record not found")
    return post_id


async def create(request: web.Request) -> web.Response:
    author = await require_user(request, "write:statuses")
    await ctx_of(request).limits.post_by(ctx_of(request).db, author.id)
    p = await params(request)
    if p.get("media_ids"):
        raise Invalid("media attachments are not supported yet")
    if p.get("poll") or p.get("poll[options]"):
        raise Invalid("polls are not supported yet")
    if p.get("scheduled_at"):
        raise Invalid("scheduled posts are not supported yet")
    new = NewPost(
        text=text_param(p, "status") or "",
        visibility=visibility_of(p),
        summary=text_param(p, "spoiler_text") or "",
        sensitive=bool(flag(p, "sensitive", False)),
        in_reply_to_id=_optional_id(p, "in_reply_to_id"),
        language=(text_param(p, "language") or None),
    )
    ctx = ctx_of(request)
    post = await idempotency.create_post_once(ctx, author, new, request.headers.get("Idempotency-Key"))
    post = await posts.get_post(ctx, author, post.id)  # read back with its author loaded
    return web.json_response(await render(ctx, author, post))


async def show(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await optional_user(request, "read:statuses")
    post = await posts.get_post(ctx, viewer, path_id(request))
    if viewer is None and not open_web_may_see(ctx, post):
        raise NotFound("no such post")
    return web.json_response(await render(ctx, viewer, post))


async def remove(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    actor = await require_user(request, "write:statuses")
    post = await posts.get_post(ctx, actor, path_id(request))
    if post.account_id != actor.id:
        raise NotFound("Record not found")
    body = {**await render(ctx, actor, post), "text": post.source}
    await posts.delete_post(ctx, actor, post.id)
    return web.json_response(body)


async def favourite(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    account = await require_user(request, "write:favourites")
    post = await interactions.like(ctx, account, path_id(request))
    return web.json_response(await render(ctx, account, post))


async def unfavourite(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    account = await require_user(request, "write:favourites")
    post = await interactions.unlike(ctx, account, path_id(request))
    return web.json_response(await render(ctx, account, post))


async def reblog(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    account = await require_user(request, "write:statuses")
    boost = await interactions.boost(ctx, account, path_id(request))
    boost = await posts.get_post(ctx, account, boost.id)
    return web.json_response(await render(ctx, account, boost))


async def unreblog(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    account = await require_user(request, "write:statuses")
    original = await interactions.unboost(ctx, account, path_id(request))
    visible = await posts.get_post(ctx, account, original.id)
    return web.json_response(await render(ctx, account, visible))


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/statuses", create)
    app.router.add_get(r"/api/v1/statuses/{id}", show)
    app.router.add_delete(r"/api/v1/statuses/{id}", remove)
    app.router.add_post(r"/api/v1/statuses/{id}/favourite", favourite)
    app.router.add_post(r"/api/v1/statuses/{id}/unfavourite", unfavourite)
    app.router.add_post(r"/api/v1/statuses/{id}/reblog", reblog)
    app.router.add_post(r"/api/v1/statuses/{id}/unreblog", unreblog)
