"""A community that lives on another node, in the web UI: `/communities/NAME@DOMAIN` (the
directory's rows and a peer Group's `/@NAME@DOMAIN` profile lead here). It shows what this
node knows of it — the posts written to it that reached here, newest first, each one the
viewer may see —, joins and leaves it (`communities.join`/`leave`: a follow of its Group
actor, which its own node decides), and writes to it (`NewPost.community_id`: federation
delivers the post to the community, which re-shares it to its members). A post to a peer's
community keeps the audience its author chooses (node/community_posts.py): the picker offers
only those that can reach the community's node. web/ui/pages_communities.py routes here."""

from __future__ import annotations

from aiohttp import web

from node import audience_words, community_pages, node_names, pins, posts
from node.audience import Audience
from node.community_pages import CommunityCard
from node.context import NodeContext
from node.filters_match import FilterContext
from node.pagination import Page as Cursor
from node.posts import NewPost
from node.trust import Trust
from storage.errors import Forbidden, Invalid, RateLimited
from web.ui.attachments import Attachments, MediaView
from web.ui.core import Page
from web.ui.views import post_views

PAGE_SIZE = 20


def is_peer_handle(name: str) -> bool:
    """A community's name with a domain (`name@domain`) names a peer's community."""
    return "@" in name.lstrip("@")


def _audiences(ctx: NodeContext, c: CommunityCard) -> tuple[list[audience_words.Described], Audience]:
    """The audiences a post to the peer's community may take, and the one chosen first: those a
    community re-shares (not `local`, which never leaves this node), `organization` only toward
    a node of the organisation (anywhere else the policy would keep it from the community)."""
    assert c.account.domain is not None
    in_organization = ctx.policy().trust_of(c.account.domain)[0] is Trust.ORGANIZATION
    wanted = {Audience.PUBLIC, Audience.UNLISTED} | ({Audience.ORGANIZATION} if in_organization else set())
    offered = [a for a in audience_words.audiences(ctx) if a.visibility in wanted]
    return offered, Audience.ORGANIZATION if in_organization else Audience.PUBLIC


async def render_peer(p: Page, name: str, *, status: int = 200, error: str | None = None,
                      kept: dict[int, MediaView] | None = None) -> web.Response:
    c = await community_pages.peer_card(p.ctx, p.me, name.lstrip("@"))
    assert c.account.domain is not None
    cursor = Cursor.parse(max_id=p.request.query.get("max_id"), limit=PAGE_SIZE)
    raw = await community_pages.posts(p.ctx, p.me, c.account.id, cursor)
    # Its pins (read from its `featured` collection when a profile of it was first looked at), on the first page.
    pinned = [] if cursor.max_id is not None else await pins.pinned(p.ctx, p.me, c.account.id)
    pinned_ids = {post.id for post in pinned}
    shown = await post_views(p.ctx, p.me, [*pinned, *[post for post in raw if post.id not in pinned_ids]],
                             FilterContext.PUBLIC)
    audiences, chosen = _audiences(p.ctx, c)
    node_name = (await node_names.peer_name(p.ctx, c.account.domain)) or c.account.domain
    return p.render(
        "community_peer.html", status, title=c.account.display_name or c.account.username, c=c,
        base=f"/communities/{c.account.acct()}", node_of_account=node_name,
        pinned=[v for v in shown if v.id in pinned_ids], posts=[v for v in shown if v.id not in pinned_ids],
        older=raw[-1].id if len(raw) >= cursor.limit else None,
        audiences=audiences, chosen=p.field("visibility") or chosen,
        error=error, text=p.field("text"), summary=p.field("summary"), kept=kept or {},
        sensitive=bool(p.field("sensitive")),
    )


async def write_peer(p: Page, name: str) -> web.StreamResponse:
    """A post written on a peer's community page: to that community, with the audience chosen."""
    c = await community_pages.peer_card(p.ctx, p.user, name.lstrip("@"))
    offered, _ = _audiences(p.ctx, c)
    attachments = Attachments()
    try:
        await attachments.take(p)
        visibility = p.field("visibility")
        if visibility not in {a.visibility for a in offered}:
            raise Invalid("choose who can see the post: an audience that reaches the community")
        new = NewPost(
            text=p.field("text"), visibility=visibility, summary=p.field("summary").strip(),
            sensitive=bool(p.field("sensitive")) and bool(attachments.ids), media_ids=attachments.ids,
            community_id=c.account.id,
        )
        post = await posts.post_as(p.ctx, p.user, new, p.field("post_key") or None)
    except (Invalid, Forbidden, RateLimited) as exc:
        # Nothing typed is lost: the page comes back with the text and the files kept.
        response = await render_peer(p, name, status=exc.status, error=exc.reason, kept=attachments.kept)
        response.headers.update(exc.headers if isinstance(exc, RateLimited) else {})
        return response
    return p.redirect(f"/communities/{c.account.acct()}#post-{post.id}")
