"""Announcements (admins only): write, edit, publish or withdraw, and delete the node's
announcements, and mark one organisation-wide (it then goes to the organisation's peers,
node/announcements.py); the peers' announcements this node shows are listed too. Everyone
sees the published ones as a banner over the timelines (`_announcements.html`) until they
dismiss it (`dismiss`, a form post: no JavaScript needed)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from node import announcements
from node.announcements import Draft
from storage.errors import Forbidden, Invalid, NotFound
from storage.models import Announcement
from web.ui.core import Page, page

ADMINS = ("admin",)
BACK = "/admin/announcements"
ACTIONS = ("publish", "unpublish", "delete")


def _moment(p: Page, name: str) -> datetime | None:
    """A `datetime-local` field, read as UTC (the form says so); empty is none."""
    raw = p.field(name).strip()
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise Invalid(f"{name.replace('_', ' ')} is not a date and time: {raw[:40]!r}") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _draft(p: Page) -> Draft:
    return Draft(
        text=p.field("text"), starts_at=_moment(p, "starts_at"), ends_at=_moment(p, "ends_at"),
        all_day=p.field("all_day") == "1", published=p.field("published") == "1",
        organization_wide=p.field("organization_wide") == "1",
    )


def _form_of(a: Announcement | None) -> dict[str, object]:
    if a is None:
        return {"text": "", "starts_at": "", "ends_at": "", "all_day": False, "published": True, "organization_wide": False}
    return {
        "text": a.source, "all_day": a.all_day, "published": a.published, "organization_wide": a.organization_wide,
        "starts_at": a.starts_at.strftime("%Y-%m-%dT%H:%M") if a.starts_at else "",
        "ends_at": a.ends_at.strftime("%Y-%m-%dT%H:%M") if a.ends_at else "",
    }


async def _render(p: Page, status: int = 200, *, error: str | None = None, editing: int | None = None,
                  typed: bool = False) -> web.Response:
    rows = await announcements.all_announcements(p.ctx)
    edited = next((a for a in rows if a.id == editing and a.origin is None), None)
    form = _form_of(edited)
    if typed:  # a refused form keeps what was typed
        form = {k: p.field(k) for k in ("text", "starts_at", "ends_at")} | {
            k: p.field(k) == "1" for k in ("all_day", "published", "organization_wide")}
    return p.render(
        "admin/announcements.html", status, title="Announcements", rows=rows, error=error, form=form,
        editing=editing, done=p.request.query.get("done"), max_text=announcements.MAX_TEXT,
        org_peers=bool(p.ctx.policy().organization_domains()),
    )


@page(roles=ADMINS)
async def announcements_page(p: Page) -> web.StreamResponse:
    raw = p.request.query.get("edit", "")
    return await _render(p, editing=int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 19 else None)


@page(roles=ADMINS)
async def create(p: Page) -> web.StreamResponse:
    try:
        a = await announcements.create(p.ctx, p.user, _draft(p))
    except Invalid as exc:
        return await _render(p, exc.status, error=exc.reason, typed=True)
    return p.redirect(f"{BACK}?done=created#announcement-{a.id}")


@page(roles=ADMINS)
async def save(p: Page) -> web.StreamResponse:
    announcement_id = p.path_id("announcement_id", "announcement")
    try:
        await announcements.update(p.ctx, p.user, announcement_id, _draft(p))
    except Invalid as exc:
        return await _render(p, exc.status, error=exc.reason, editing=announcement_id, typed=True)
    return p.redirect(f"{BACK}?done=saved#announcement-{announcement_id}")


@page(roles=ADMINS)
async def act(p: Page) -> web.StreamResponse:
    announcement_id = p.path_id("announcement_id", "announcement")
    action = p.request.match_info["action"]
    if action not in ACTIONS:
        raise NotFound("no such action")
    if action == "delete":
        await announcements.remove(p.ctx, p.user, announcement_id)
        return p.redirect(f"{BACK}?done=deleted")
    found = next((a for a in await announcements.all_announcements(p.ctx) if a.id == announcement_id), None)
    if found is None:
        raise NotFound("no such announcement")
    if found.origin is not None:
        raise Forbidden(f"this announcement is {found.origin}'s: only that node can change it")
    draft = Draft(found.source, found.starts_at, found.ends_at, found.all_day, action == "publish", found.organization_wide)
    await announcements.update(p.ctx, p.user, announcement_id, draft)
    return p.redirect(f"{BACK}?done={action}ed#announcement-{announcement_id}")


@page()
async def dismiss(p: Page) -> web.StreamResponse:
    """The banner's Dismiss button: read, and back where the person was."""
    await announcements.dismiss(p.ctx, p.user, p.path_id("announcement_id", "announcement"))
    return p.redirect(p.next_url())


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(BACK, announcements_page)
    r.add_post(BACK, create)
    r.add_post(BACK + r"/{announcement_id:\d+}", save)
    r.add_post(BACK + r"/{announcement_id:\d+}/{action}", act)
    r.add_post(r"/announcements/{announcement_id:\d+}/dismiss", dismiss)
