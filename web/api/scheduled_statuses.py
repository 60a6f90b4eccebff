"""Scheduled statuses, as Mastodon's `/api/v1/scheduled_statuses`: the caller's own list (Link
pagination), one, a new time (`PUT`, `scheduled_at` only, as Mastodon) and a cancel; anyone
else's is 404. Made by `POST /api/v1/statuses` with `scheduled_at` (web/api/statuses.py)."""

from __future__ import annotations

from aiohttp import web

from node import media, scheduled
from node.audience import Audience
from node.context import NodeContext
from storage.errors import Invalid
from storage.models import MediaAttachment, ScheduledStatus
from web.api import serializers
from web.api.auth import ctx_of, link_header, page_of, params, path_id, require_user, text_param
from web.api.serializers import JSON


def _iso(row: ScheduledStatus) -> str:
    return row.scheduled_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def scheduled_status(
    ctx: NodeContext, row: ScheduledStatus, uploads: list[MediaAttachment] | None = None
) -> JSON:
    """Mastodon's ScheduledStatus entity (with Atrium's audience and a failed post's reason)."""
    if uploads is None:
        uploads = (await scheduled.attachments_of(ctx, [row]))[row.id]
    attachments = [serializers.attachment(await media.view(ctx, m)) for m in uploads]
    ids = media.ids_of(row.media_ids)
    audience = Audience(row.visibility)
    return {
        "id": str(row.id),
        "scheduled_at": _iso(row),
        "params": {
            "text": row.text,
            "poll": None,
            "media_ids": [str(i) for i in ids] or None,
            "sensitive": row.sensitive,
            "spoiler_text": row.spoiler_text or None,
            "visibility": audience.rules.mastodon,
            "atrium_visibility": audience.value,
            "local_only": audience == Audience.LOCAL,
            "in_reply_to_id": None if row.in_reply_to_id is None else str(row.in_reply_to_id),
            "language": row.language,
            "application_id": None if row.application_id is None else str(row.application_id),
            "scheduled_at": None,
            "idempotency": None,
            "with_rate_limit": False,
        },
        "media_attachments": attachments,
        "failure": row.failure,
    }


async def list_scheduled(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:statuses")
    rows = await scheduled.page(ctx, viewer, page_of(request))
    uploads = await scheduled.attachments_of(ctx, rows)
    body = [await scheduled_status(ctx, row, uploads[row.id]) for row in rows]
    return web.json_response(body, headers=link_header(request, [row.id for row in rows]))


async def show(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "read:statuses")
    return web.json_response(await scheduled_status(ctx, await scheduled.one(ctx, viewer, path_id(request))))


async def update(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "write:statuses")
    scheduled_id = path_id(request)
    await scheduled.one(ctx, viewer, scheduled_id)  # another's is 404 before its parameters are judged
    when = text_param(await params(request), "scheduled_at")
    if when is None:
        raise Invalid("scheduled_at is required")
    row = await scheduled.retime(ctx, viewer, scheduled_id, scheduled.parse_time(when))
    return web.json_response(await scheduled_status(ctx, row))


async def cancel(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    viewer = await require_user(request, "write:statuses")
    await scheduled.cancel(ctx, viewer, path_id(request))
    return web.json_response({})


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/scheduled_statuses", list_scheduled)
    app.router.add_get(r"/api/v1/scheduled_statuses/{id}", show)
    app.router.add_put(r"/api/v1/scheduled_statuses/{id}", update)
    app.router.add_delete(r"/api/v1/scheduled_statuses/{id}", cancel)
