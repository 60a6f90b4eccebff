"""A community's settings page (`/communities/{name}/settings`), for its moderators and this
node's admins: display name, description, rules, how people join, avatar and header, saved
all at once or not at all (node/community_settings.py). The audience is shown, not offered:
changing it would re-expose, or strand, what was written under it."""

from __future__ import annotations

from aiohttp import web

from node import avatars, community_pages, community_settings
from node.community_pages import CommunityCard
from node.media import Upload
from storage.errors import Forbidden, Invalid
from storage.models import MediaRole
from web.ui.core import Page, page
from web.ui.pages_communities import MODES, community_path, header_values


async def _moderated(p: Page) -> CommunityCard:
    c = await community_pages.card(p.ctx, p.user, p.request.match_info["name"])
    if not c.standing.moderator:
        raise Forbidden("only the community's moderators may change its settings")
    return c


def _render(p: Page, c: CommunityCard, status: int = 200, *, error: str | None = None,
            form: dict[str, str] | None = None) -> web.Response:
    """The page; `form`: the texts as they were sent, shown again with an error."""
    assert c.community is not None
    shown = form if form is not None else {
        "display_name": c.account.display_name, "description": c.account.bio,
        "rules": c.community.rules, "mode": c.community.mode,
    }
    return p.render(
        "community_settings.html", status, title=f"Settings of {c.account.display_name or c.account.username}",
        c=c, tab="settings", error=error, form=shown, modes=MODES, done=p.request.query.get("done") == "1",
        **header_values(p, c),
    )


@page()
async def settings_page(p: Page) -> web.StreamResponse:
    return _render(p, await _moderated(p))


@page(files=avatars.PICTURE_FIELDS)
async def save(p: Page) -> web.StreamResponse:
    c = await _moderated(p)  # before anything sent is looked at
    form = {k: p.field(k) for k in ("display_name", "description", "rules", "mode")}
    pictures: dict[MediaRole, Upload | None] = {}
    for name, role in avatars.PICTURE_FIELDS.items():
        if p.field(f"remove_{name}") == "on":
            pictures[role] = None
        elif name in p.files:
            pictures[role] = p.files[name]
    try:
        await community_settings.update(p.ctx, p.user, c.account.id, community_settings.Settings(
            display_name=form["display_name"], description=form["description"], rules=form["rules"],
            mode=form["mode"], pictures=pictures,
        ))
    except Invalid as exc:  # nothing was changed: the form comes back as it was sent
        return _render(p, c, exc.status, error=exc.reason, form=form)
    return p.redirect(f"{community_path(c.account.username)}/settings?done=1")


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/communities/{name}/settings", settings_page)
    r.add_post("/communities/{name}/settings", save)
