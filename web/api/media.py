"""Media uploads (Mastodon's `POST /api/v2/media` and v1), reading and describing one's own
uploads (`GET`/`PUT /api/v1/media/:id`). An upload is processed before the answer, so it is
ready to attach (`media_ids[]` on a status) as soon as the client has its id."""

from __future__ import annotations

from aiohttp import web

from node import media
from node.media import Upload
from storage.errors import Invalid
from web.api import serializers
from web.api.auth import ctx_of, params, path_id, require_user, text_param
from web.multipart import read_file_form


async def _form(request: web.Request) -> tuple[Upload, dict[str, str]]:
    """The multipart form's `file` and its short text fields, streamed with the node's cap."""
    form = await read_file_form(request, ("file",), ctx_of(request).media_limits.max_upload_bytes,
                                not_multipart="send the file as multipart/form-data, in a field named file")
    upload = form.files.get("file")
    if upload is None:
        raise Invalid("no file: send it in a field named file")
    return upload, form.fields


async def create(request: web.Request) -> web.Response:
    account = await require_user(request, "write:media")
    upload, fields = await _form(request)
    ctx = ctx_of(request)
    focus = media.parse_focus(fields["focus"]) if fields.get("focus") else (0.0, 0.0)
    row = await media.upload(ctx, account, upload, description=fields.get("description", ""), focus=focus)
    return web.json_response(serializers.attachment(await media.view(ctx, row)))


async def show(request: web.Request) -> web.Response:
    account = await require_user(request, "write:media")
    ctx = ctx_of(request)
    row = await media.own_media(ctx, account, path_id(request))
    return web.json_response(serializers.attachment(await media.view(ctx, row)))


async def change(request: web.Request) -> web.Response:
    account = await require_user(request, "write:media")
    ctx = ctx_of(request)
    p = await params(request)
    focus = text_param(p, "focus")
    row = await media.update(
        ctx, account, path_id(request), description=text_param(p, "description"),
        focus=media.parse_focus(focus) if focus else None,
    )
    return web.json_response(serializers.attachment(await media.view(ctx, row)))


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v2/media", create)
    app.router.add_post("/api/v1/media", create)
    app.router.add_get(r"/api/v1/media/{id}", show)
    app.router.add_put(r"/api/v1/media/{id}", change)
