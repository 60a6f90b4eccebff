"""Scheduled posts in the web UI: the composer's "Schedule" time (web/ui/pages_posts.py) and
the Scheduled posts page, listing them soonest first with a new time and a cancel each
(node/scheduled.py, the same as the client API's /api/v1/scheduled_statuses)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web

from node import audience_words, scheduled
from node.audience import Audience
from storage.errors import Invalid
from web.ui.core import Page, page


def form_time(local: str, tz_offset: str) -> datetime:
    """A `datetime-local` value in the browser's time, given its offset (JavaScript's
    `getTimezoneOffset`, minutes behind UTC; absent or odd: UTC), as UTC."""
    text = local.strip()
    try:
        when = datetime.fromisoformat(text) if 0 < len(text) <= 32 else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is not None:
        raise Invalid("choose a date and time to post it at")
    try:
        offset = max(-1440, min(1440, int(tz_offset or "0")))
    except ValueError:
        offset = 0
    return (when + timedelta(minutes=offset)).replace(tzinfo=UTC)


async def _page(p: Page, status: int = 200, error: str | None = None) -> web.Response:
    rows = await scheduled.all_of(p.ctx, p.user)
    words = {a.visibility: a.label for a in audience_words.audiences(p.ctx)}
    items = [{
        "id": row.id,
        "utc": row.scheduled_at.astimezone(UTC).isoformat(),
        "shown": row.scheduled_at.astimezone(UTC).strftime("%-d %b %Y, %H:%M UTC"),
        "text": row.text,
        "summary": row.spoiler_text,
        "audience": words.get(Audience(row.visibility), row.visibility),
        "media": len(row.media_ids.split(",")) if row.media_ids else 0,
        "reply": row.in_reply_to_id is not None,
        "failure": row.failure,
    } for row in rows]
    return p.render("scheduled.html", status, title="Scheduled posts", items=items, error=error)


@page()
async def list_page(p: Page) -> web.StreamResponse:
    return await _page(p)


@page()
async def retime(p: Page) -> web.StreamResponse:
    scheduled_id = p.path_id("scheduled_id", "scheduled post")
    try:
        when = form_time(p.field("scheduled_at"), p.field("tz_offset"))
        await scheduled.retime(p.ctx, p.user, scheduled_id, when)
    except Invalid as exc:
        return await _page(p, exc.status, exc.reason)
    return p.redirect("/scheduled")


@page()
async def cancel(p: Page) -> web.StreamResponse:
    await scheduled.cancel(p.ctx, p.user, p.path_id("scheduled_id", "scheduled post"))
    return p.redirect("/scheduled")


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/scheduled", list_page)
    r.add_post(r"/scheduled/{scheduled_id:\d+}/time", retime)
    r.add_post(r"/scheduled/{scheduled_id:\d+}/cancel", cancel)
