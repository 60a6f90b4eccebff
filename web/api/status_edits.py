"""A status's thread context, editing it (the edit federates as Update, the audience stays
exactly as it was), its edit history and its source."""

from __future__ import annotations

from aiohttp import web

from node import media, posts
from node.filters_match import FilterContext
from node.outbox import open_web_may_see
from storage.errors import Invalid, NotFound
from storage.models import Account, Post, PostEdit
from web.api import serializers
from web.api.auth import ctx_of, flag, optional_user, params, path_id, require_user, text_param
from web.api.filtered_pages import scope_for
from web.api.serializers import JSON
from web.api.statuses import media_ids_of, refuse_polls, render, render_many


async def _visible(request: web.Request, viewer: Account | None) -> Post:
    ctx = ctx_of(request)
    post = await posts.get_post(ctx, viewer, path_id(request))
    if viewer is None and not open_web_may_see(ctx, post):
        raise NotFound("no such post")
    return post


async def context(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await optional_user(request, "read:statuses")
    post = await _visible(request, viewer)
    ancestors, descendants = await posts.context(ctx, viewer, post.id)
    if viewer is None:  # the open web: content rules apply to every post of the thread
        ancestors = [p for p in ancestors if open_web_may_see(ctx, p)]
        descendants = [p for p in descendants if open_web_may_see(ctx, p)]
    scope = await scope_for(ctx, viewer, FilterContext.THREAD)
    return web.json_response({
        "ancestors": await render_many(ctx, viewer, ancestors, scope),
        "descendants": await render_many(ctx, viewer, descendants, scope),
    })


async def edit(request: web.Request) -> web.Response:
    """Mastodon's edit takes text, content warning, sensitivity and attachments (`media_ids[]`;
    not sent: unchanged) (and polls, language, which Atrium does not change). The visibility is never part of an edit, so a stock
    client cannot widen or narrow an Atrium audience by editing."""
    ctx = ctx_of(request)
    editor = await require_user(request, "write:statuses")
    p = await params(request)
    refuse_polls(p)
    new_text = text_param(p, "status")
    if new_text is None:
        raise Invalid("status is required")
    await posts.get_post(ctx, editor, path_id(request))  # 404 for what the editor cannot see
    edited = await posts.edit_post(
        ctx,
        editor,
        path_id(request),
        new_text,
        summary=text_param(p, "spoiler_text"),
        sensitive=flag(p, "sensitive", None),
        media_ids=media_ids_of(p),
    )
    return web.json_response(await render(ctx, editor, await posts.get_post(ctx, editor, edited.id)))


def _version(
    author: JSON, at: str | None, content: str, summary: str, sensitive: bool, attachments: list[JSON] | None = None
) -> JSON:
    return {
        "content": content,
        "spoiler_text": summary,
        "sensitive": sensitive,
        "created_at": at,
        "account": author,
        "poll": None,
        "media_attachments": attachments or [],
        "emojis": [],
    }


async def history(request: web.Request) -> web.Response:
    """Every version, oldest first, the current one last (as Mastodon lists them)."""
    ctx = ctx_of(request)
    viewer = await optional_user(request, "read:statuses")
    post = await _visible(request, viewer)
    earlier: list[PostEdit] = await posts.history(ctx, viewer, post.id)
    author = serializers.account(ctx, post.account)
    now = await media.views_of(ctx, viewer, [post])
    before = await media.version_views(ctx, post, [media.ids_of(e.media_ids) for e in earlier])
    out = [
        _version(author, serializers.timestamp(e.created_at), e.content_html, e.summary, e.sensitive,
                 [serializers.attachment(v) for v in views])
        for e, views in zip(earlier, before, strict=True)
    ]
    current_at = serializers.timestamp(post.edited_at or post.created_at)
    current = [serializers.attachment(v) for v in now.get(post.id, [])]
    out.append(_version(author, current_at, post.content_html, post.summary, post.sensitive, current))
    return web.json_response(out)


async def source(request: web.Request) -> web.Response:
    """What the author typed, for a client's edit box."""
    viewer = await require_user(request, "read:statuses")
    post = await _visible(request, viewer)
    return web.json_response({"id": str(post.id), "text": post.source, "spoiler_text": post.summary})


def setup(app: web.Application) -> None:
    app.router.add_get(r"/api/v1/statuses/{id}/context", context)
    app.router.add_put(r"/api/v1/statuses/{id}", edit)
    app.router.add_get(r"/api/v1/statuses/{id}/history", history)
    app.router.add_get(r"/api/v1/statuses/{id}/source", source)
