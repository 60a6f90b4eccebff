"""Statuses: post (with Atrium's audiences and Idempotency-Key), read, delete, favourite, reblog."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from node import interactions, post_views, posts, preferences, scheduled
from node.audience import Audience
from node.context import NodeContext
from node.outbox import open_web_may_see
from node.posts import NewPost
from storage.errors import Invalid, NotFound
from storage.ids import parse_id
from storage.models import Account, Post
from web.api import filter_entities, serializers
from web.api.auth import Params, ctx_of, flag, id_param, optional_user, params, path_id, require_user, text_param
from web.api.filter_entities import FilterScope
from web.api.polls import poll_of
from web.api.scheduled_statuses import scheduled_status
from web.api.serializers import JSON


def visibility_of(p: Params, default: Audience = Audience.PUBLIC) -> Audience:
    """The Atrium visibility a request asks for (`visibility` plus `local_only`); `default`
    when it names none (the author's preference, on a new post)."""
    asked = text_param(p, "visibility") or default.value
    visibility = Audience.from_mastodon(asked)  # Mastodon's words (`private`) and Atrium's own
    if visibility is None:
        raise Invalid(f"unknown visibility {asked!r}: one of {', '.join(Audience.mastodon_words())}")
    if flag(p, "local_only", False):
        if not visibility.rules.may_be_local_only:
            raise Invalid(f"local_only cannot be combined with {asked} visibility")
        visibility = Audience.LOCAL
    return visibility


async def render_many(
    ctx: NodeContext, viewer: Account | None, items: list[Post], scope: FilterScope | None = None
) -> list[JSON]:
    """Statuses for a page of posts; a boost carries its original, or is left out when the
    original is gone or no longer visible to the viewer. With the viewer's filters (`scope`),
    a post a `hide` filter matches is left out and the others carry `filtered`."""
    originals: dict[int, Post] = {}
    for post in items:
        if post.reblog_of_id is not None and post.reblog_of_id not in originals:
            try:
                originals[post.reblog_of_id] = await posts.get_post(ctx, viewer, post.reblog_of_id)
            except NotFound:
                continue
    extras = await post_views.extras(ctx, viewer, [p.id for p in items] + list(originals))
    judging = scope is not None and scope.applies()
    out = []
    for post in items:
        if post.reblog_of_id is not None and post.reblog_of_id not in originals:
            continue
        proper = originals[post.reblog_of_id] if post.reblog_of_id is not None else post
        filtered: list[JSON] = []
        if judging and scope is not None:
            found = scope.judge(post, proper, extras.media.get(proper.id, []))
            if found is None:
                continue  # a `hide` filter: never sent
            filtered = [filter_entities.result(m) for m in found]
        if post.reblog_of_id is None:
            status = serializers.status(ctx, post, extras)
        else:
            reblog = serializers.status(ctx, proper, extras) | {"filtered": filtered}
            status = serializers.status(ctx, post, extras, reblog=reblog)
        out.append(status | {"filtered": filtered})
    return out


async def render(ctx: NodeContext, viewer: Account | None, post: Post, scope: FilterScope | None = None) -> JSON:
    """One status; NotFound when it cannot be shown (a `hide` filter of `scope` among the reasons)."""
    rendered = await render_many(ctx, viewer, [post], scope)
    if not rendered:
        raise NotFound("Record not found")
    return rendered[0]


def refuse_polls(p: Params) -> None:
    """An edit that changes a poll is refused, never kept without it: a poll's options stay as
    voted on (the poll is kept through edits of the text)."""
    if p.get("poll") or p.get("poll[options]"):
        raise Invalid("a poll cannot be edited: delete the post and post a new poll")


def media_ids_of(p: Params) -> tuple[int, ...] | None:
    """`media_ids[]` (a form's list, or a JSON array): None when not sent at all."""
    raw = p.get("media_ids")
    if raw is None:
        return None
    values = raw if isinstance(raw, list) else [raw]
    ids = []
    for value in values:
        text = str(value).strip()
        if not text:
            continue  # a form's way of sending an empty list
        parsed = parse_id(text)
        if parsed is None:
            raise Invalid(f"media id {text[:40]!r} is not one")
        ids.append(parsed)
    return tuple(ids)


async def create(request: web.Request) -> web.Response:
    author = await require_user(request, "write:statuses")
    p = await params(request)
    poll = poll_of(p)
    ctx = ctx_of(request)
    prefs = await preferences.of(ctx, author.id)  # what a post that does not say starts from
    new = NewPost(
        text=text_param(p, "status") or "",
        visibility=visibility_of(p, prefs.api_audience),
        summary=text_param(p, "spoiler_text") or "",
        sensitive=bool(flag(p, "sensitive", prefs.sensitive)),
        in_reply_to_id=id_param(p, "in_reply_to_id"),
        language=(text_param(p, "language") or prefs.language),
        media_ids=media_ids_of(p) or (),
        poll=poll,
    )
    if (when := text_param(p, "scheduled_at")) is not None:
        if poll is not None:
            raise Invalid("a scheduled post cannot carry a poll")
        # Kept for later (node/scheduled.py): the answer is a ScheduledStatus, not a Status.
        row = await scheduled.schedule(ctx, author, new, scheduled.parse_time(when))
        return web.json_response(await scheduled_status(ctx, row))
    # The web UI's compose form posts through the same call: one allowance, one idempotency.
    post = await posts.post_as(ctx, author, new, request.headers.get("Idempotency-Key"))
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


def _acting(action: Callable[[NodeContext, Account, int], Awaitable[Post]], scope: str) -> Handler:
    """A handler that likes, boosts or takes either back, answering with the post it acted on
    (a boost for `reblog`), read back with the viewer's rights and its author loaded."""

    async def handler(request: web.Request) -> web.Response:
        ctx = ctx_of(request)
        account = await require_user(request, scope)
        acted_on = await action(ctx, account, path_id(request))
        return web.json_response(await render(ctx, account, await posts.get_post(ctx, account, acted_on.id)))

    return handler


favourite = _acting(interactions.like, "write:favourites")
unfavourite = _acting(interactions.unlike, "write:favourites")
reblog = _acting(interactions.boost, "write:statuses")
unreblog = _acting(interactions.unboost, "write:statuses")


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/statuses", create)
    app.router.add_get(r"/api/v1/statuses/{id}", show)
    app.router.add_delete(r"/api/v1/statuses/{id}", remove)
    app.router.add_post(r"/api/v1/statuses/{id}/favourite", favourite)
    app.router.add_post(r"/api/v1/statuses/{id}/unfavourite", unfavourite)
    app.router.add_post(r"/api/v1/statuses/{id}/reblog", reblog)
    app.router.add_post(r"/api/v1/statuses/{id}/unreblog", unreblog)
