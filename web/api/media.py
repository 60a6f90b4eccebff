"""Media uploads (Mastodon's `POST /api/v2/media` and v1), reading and describing one's own
uploads (`GET`/`PUT /api/v1/media/:id`). An upload is processed before the answer, so it is
ready to attach (`media_ids[]` on a status) as soon as the client has its id."""

from __future__ import annotations

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from node import media
from node.media import Upload
from storage.errors import Invalid
from web.api import serializers
from web.api.auth import ctx_of, params, path_id, require_user, text_param

# The form fields beside the file (description, focus) are short: more is not a form.
FIELD_BYTES = 16 * 1024
# Room for the multipart framing and those fields around the file itself.
OVERHEAD_BYTES = 64 * 1024
CHUNK = 64 * 1024


def _too_large(cap: int) -> Invalid:
    return Invalid(f"file too large: at most {cap} bytes", status=413)


async def _read_part(part: BodyPartReader, cap: int, error: Invalid) -> bytes:
    """A part's bytes, read in chunks, refused as soon as it passes `cap`."""
    data = bytearray()
    while chunk := await part.read_chunk(CHUNK):
        data += chunk
        if len(data) > cap:
            raise error
    return bytes(data)


async def _form(request: web.Request) -> tuple[Upload, dict[str, str]]:
    """The multipart form's `file` and its short text fields, streamed with the node's cap
    (the app's small body limit is for JSON and forms; the file is read here, never buffered
    whole before its size is known)."""
    cap = ctx_of(request).media_limits.max_upload_bytes
    if request.content_length is not None and request.content_length > cap + OVERHEAD_BYTES:
        raise _too_large(cap)  # refused from the header, before reading a byte
    if not request.content_type.startswith("multipart/"):
        raise Invalid("send the file as multipart/form-data, in a field named file")
    fields: dict[str, str] = {}
    upload: Upload | None = None
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise Invalid("nested multipart bodies are not accepted")
            if part.name == "file" and upload is None:
                upload = Upload(await _read_part(part, cap, _too_large(cap)), part.filename)
            elif part.name:
                raw = await _read_part(part, FIELD_BYTES, Invalid(f"{part.name} too long"))
                fields[part.name] = raw.decode("utf-8", "replace")
            else:
                await part.release()
    except (ValueError, HttpProcessingError, AssertionError) as exc:  # malformed multipart
        raise Invalid("the body is not a valid multipart form") from exc
    if upload is None or not upload.data:
        raise Invalid("no file: send it in a field named file")
    return upload, fields


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
