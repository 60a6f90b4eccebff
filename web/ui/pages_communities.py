"""Communities in the web UI: the directory (your communities, then the others, searched by
name and description), the form that makes one, a community's page (its header, rules and
posts, with a composer that writes to it) and joining and leaving. Every action is a plain
form POST that redirects back, so it works without JavaScript. The moderators' page is
web/ui/pages_communities_manage.py; the rules (who may join, what a post's audience is) are
node/communities.py's and node/community_posts.py's."""

from __future__ import annotations

from aiohttp import web

from node import audience_words, communities, community_pages, pins, posts
from node.audience import Audience
from node.community_pages import CommunityCard
from node.context import NodeContext
from node.filters_match import FilterContext
from node.pagination import Page as Cursor
from node.posts import NewPost
from storage.errors import Conflict, Forbidden, Invalid, RateLimited
from storage.models import CommunityMode
from web.ui.attachments import COMPOSER_FILES, Attachments, MediaView
from web.ui.core import Page, page
from web.ui.pages_communities_peer import is_peer_handle, render_peer, write_peer
from web.ui.views import post_views

PAGE_SIZE = 20
RESERVED = {"new"}  # /communities/new is the create form, so no community's page may be there

# How one joins, in plain words (the create form's choices and the page's badge).
MODES = {
    CommunityMode.OPEN: ("Open", "Anyone who can see the community joins at once."),
    CommunityMode.APPROVAL: ("Approval", "People ask to join; a moderator approves each request."),
    CommunityMode.INVITE: ("Invitation only", "Only people a moderator invites can join."),
}


def community_path(name: str) -> str:
    return f"/communities/{name}"


def audience_choices(ctx: NodeContext) -> list[audience_words.Described]:
    """The audiences a community may have, in the words the composer's picker uses."""
    return [a for a in audience_words.audiences(ctx) if a.visibility in communities.AUDIENCES]


def _offset(raw: str | None) -> int:
    if not raw:
        return 0
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise Invalid("the page must be a number")
    return int(raw)


@page()
async def directory(p: Page) -> web.StreamResponse:
    q = (p.request.query.get("q") or "").strip()[: community_pages.MAX_QUERY]
    offset = _offset(p.request.query.get("offset"))
    # Browsing, the communities one is in are listed first, and not again among the others.
    yours = await community_pages.yours(p.ctx, p.user) if not q else []
    found = await community_pages.directory(p.ctx, p.user, q, offset, PAGE_SIZE + 1, others=not q)
    return p.render(
        "communities.html", title="Communities", query=q, offset=offset,
        yours=yours if not offset else [], has_yours=bool(yours),
        found=found[:PAGE_SIZE], modes=MODES,
        newer=max(0, offset - PAGE_SIZE) if offset else None,
        older=offset + PAGE_SIZE if len(found) > PAGE_SIZE else None,
    )


def _create_page(p: Page, status: int = 200, error: str | None = None) -> web.Response:
    return p.render(
        "community_new.html", status, title="Create a community", error=error,
        audiences=audience_choices(p.ctx), modes=MODES,
        form={k: p.field(k) for k in ("name", "display_name", "description", "rules", "audience", "mode")},
    )


@page()
async def new_form(p: Page) -> web.StreamResponse:
    return _create_page(p)


@page()
async def create(p: Page) -> web.StreamResponse:
    try:
        if p.field("name").strip().lstrip("@").lower() in RESERVED:
            raise Invalid("that name is the address of a page here: choose another")
        account = await communities.create_community(
            p.ctx, p.field("name").strip().lstrip("@"),
            audience=p.field("audience") or Audience.ORGANIZATION, mode=p.field("mode") or CommunityMode.OPEN,
            display_name=p.field("display_name").strip() or None, description=p.field("description").strip(),
            rules=p.field("rules").strip(), creator=p.user,
        )
    except (Invalid, Conflict) as exc:  # a bad field or a taken name: the form comes back as typed
        return _create_page(p, exc.status, exc.reason)
    return p.redirect(community_path(account.username) + "?made=1")


async def render_community(
    p: Page, name: str, *, status: int = 200, error: str | None = None, kept: dict[int, MediaView] | None = None
) -> web.Response:
    """A community's page: its header, its pinned posts, the composer (for members), its posts."""
    c = await community_pages.card(p.ctx, p.me, name)
    cursor = Cursor.parse(max_id=p.request.query.get("max_id"), limit=PAGE_SIZE)
    raw = await community_pages.posts(p.ctx, p.me, c.account.id, cursor)
    pinned = await community_pages.pinned(p.ctx, p.me, c.account.id)
    pinned_ids = {post.id for post in pinned}
    shown = await post_views(p.ctx, p.me, [*pinned, *[post for post in raw if post.id not in pinned_ids]],
                             FilterContext.PUBLIC)
    return p.render(
        "community.html", status, title=c.account.display_name or c.account.username, c=c, tab="posts",
        **header_values(p, c),
        pinned=[v for v in shown if v.id in pinned_ids], posts=[v for v in shown if v.id not in pinned_ids],
        older=raw[-1].id if len(raw) >= cursor.limit else None,
        error=error, text=p.field("text"), summary=p.field("summary"), kept=kept or {},
        sensitive=bool(p.field("sensitive")), made=p.request.query.get("made") == "1",
        removed=p.request.query.get("removed") == "1", max_pins=pins.MAX_PINS,
    )


def header_values(p: Page, c: CommunityCard) -> dict[str, object]:
    """What the community's header needs, on each of its pages."""
    assert c.community is not None
    audience = Audience(c.community.audience)
    words = {a.visibility: a.description for a in audience_choices(p.ctx)}
    return {
        "base": community_path(c.account.username),
        "audience_label": audience.rules.label,
        "audience_words": words.get(audience, ""),
        "mode": MODES[CommunityMode(c.community.mode)],
        "rules": [line.strip() for line in c.community.rules.splitlines() if line.strip()],
    }


@page(signed_in=False)
async def community_page(p: Page) -> web.StreamResponse:
    name = p.request.match_info["name"]
    if is_peer_handle(name):  # a peer's community: what this node knows of it
        return await render_peer(p, name)
    return await render_community(p, name)


@page(files=COMPOSER_FILES)
async def write(p: Page) -> web.StreamResponse:
    """A post written on the community's page: to the community, with its audience (the node
    decides it: node/community_posts.py), re-shared to its members."""
    name = p.request.match_info["name"]
    if is_peer_handle(name):
        return await write_peer(p, name)
    c = await community_pages.card(p.ctx, p.user, name)
    assert c.community is not None
    attachments = Attachments()
    try:
        await attachments.take(p)
        new = NewPost(
            text=p.field("text"), visibility=c.community.audience, summary=p.field("summary").strip(),
            sensitive=bool(p.field("sensitive")) and bool(attachments.ids), media_ids=attachments.ids,
            community_id=c.account.id,
        )
        post = await posts.post_as(p.ctx, p.user, new, p.field("post_key") or None)
    except (Invalid, Forbidden, RateLimited) as exc:
        # Nothing typed is lost: the page comes back with the text and the files kept.
        response = await render_community(p, name, status=exc.status, error=exc.reason, kept=attachments.kept)
        response.headers.update(exc.headers if isinstance(exc, RateLimited) else {})
        return response
    return p.redirect(f"{community_path(c.account.username)}#post-{post.id}")


async def _card(p: Page) -> CommunityCard:
    """The community a join or leave names: one of this node's, or a peer's (`name@domain`)."""
    name = p.request.match_info["name"]
    if is_peer_handle(name):
        return await community_pages.peer_card(p.ctx, p.user, name.lstrip("@"))
    return await community_pages.card(p.ctx, p.user, name)


@page()
async def join(p: Page) -> web.StreamResponse:
    c = await _card(p)
    try:
        await communities.join(p.ctx, p.user, c.account.id)
    except (Forbidden, Invalid) as exc:
        if c.community is not None:
            raise
        # A peer's community this node's policy (or its own node) does not let one join: its page, saying why.
        return await render_peer(p, c.account.acct(), status=exc.status, error=exc.reason)
    return p.redirect(p.next_url(community_path(c.account.acct())))


@page()
async def leave(p: Page) -> web.StreamResponse:
    """Leave, or withdraw a request to join."""
    c = await _card(p)
    await communities.leave(p.ctx, p.user, c.account.id)
    return p.redirect(p.next_url(community_path(c.account.acct())))


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/communities", directory)
    r.add_post("/communities", create)
    r.add_get("/communities/new", new_form)
    r.add_get("/communities/{name}", community_page)
    r.add_post("/communities/{name}/posts", write)
    r.add_post("/communities/{name}/join", join)
    r.add_post("/communities/{name}/leave", leave)
