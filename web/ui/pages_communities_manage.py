"""A community's people (`/communities/{name}/members`): its moderators and members for anyone
who may see it; for its moderators (and this node's admins) the join requests to approve or
reject, an invitation by handle, and removing members, making and unmaking moderators, and
removing posts. Taking something away asks once more on a page of its own (as
web/ui/risky.py's actions do), so a stray click does nothing, with or without JavaScript."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from node import accounts, communities, community_pages, posts, remote
from node.community_pages import CommunityCard
from node.context import NodeContext
from storage.errors import AtriumError, Forbidden, Invalid, NotFound
from storage.models import Account
from web.ui.core import Page, page
from web.ui.pages_communities import community_path, header_values
from web.ui.risky import CONFIRMED, Risky, excerpt

REMOVE_MEMBER = Risky(
    "Remove", "They leave the community at once, stop being a moderator if they were one, and its posts leave "
    "their home timeline. They can ask to join again, or be invited.", with_reason=False)
REMOVE_POST = Risky(
    "Remove", "Takes the post out of the community for everyone: its members here and on other nodes lose it, "
    "and the post is deleted. This cannot be undone.", with_reason=False)


async def _moderated(p: Page) -> CommunityCard:
    """The community of the path, if the signed-in person moderates it."""
    c = await community_pages.card(p.ctx, p.user, p.request.match_info["name"])
    if not c.standing.moderator:
        raise Forbidden("only the community's moderators may do that")
    return c


def _confirm(p: Page, risky: Risky, subject: str, back: str, quote: str = "") -> web.Response:
    return p.render("admin/confirm.html", title=f"{risky.label} {subject}?", risky=risky, subject=subject,
                    quote=quote, reason="", action_url=p.request.path, back=back, confirmed=CONFIRMED)


async def _render(p: Page, status: int = 200, *, error: str | None = None, notice: str | None = None,
                  handle: str = "") -> web.Response:
    c = await community_pages.card(p.ctx, p.me, p.request.match_info["name"])
    roster = await community_pages.roster(p.ctx, c.account.id)
    return p.render(
        "community_members.html", status, title=f"People of {c.account.display_name or c.account.username}",
        c=c, tab="members", roster=roster, error=error, notice=notice, done=p.request.query.get("done"), handle=handle,
        **header_values(p, c),
    )


@page()
async def members_page(p: Page) -> web.StreamResponse:
    return await _render(p)


async def _person(ctx: NodeContext, handle: str) -> Account:
    """Who a moderator names: `name` for someone here, `name@node` for someone on a peer."""
    handle = handle.strip().lstrip("@")
    if not handle:
        raise Invalid("write the handle of the person to invite, like lena or lena@sales.example")
    if "@" in handle:
        try:
            account = await remote.resolve_handle(ctx, handle)
        except AtriumError as exc:
            raise Invalid(f"@{handle} could not be found: {exc.reason}") from exc
    else:
        try:
            account = await accounts.get_local(ctx, handle)
        except NotFound as exc:
            raise Invalid(f"no one here is called @{handle}") from exc
    if account.is_group:
        raise Invalid(f"@{handle} is a community, not a person")
    return account


@page()
async def invite(p: Page) -> web.StreamResponse:
    c = await _moderated(p)
    handle = p.field("handle")
    try:
        person = await _person(p.ctx, handle)
        await communities.invite(p.ctx, p.user, c.account.id, person.id)
    except (Invalid, Forbidden) as exc:
        return await _render(p, exc.status, error=exc.reason, handle=handle)
    return p.redirect(f"{community_path(c.account.username)}/members?done=invited")


Change = Callable[[NodeContext, Account, int, int], Awaitable[object]]


def _on_member(change: Change, done: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A moderator's action on one person of the community (approve, reject, make moderator)."""

    @page()
    async def act(p: Page) -> web.StreamResponse:
        c = await _moderated(p)
        try:
            await change(p.ctx, p.user, c.account.id, p.path_id("account_id", "person"))
        except Invalid as exc:  # the last moderator stepping down, a request already gone
            return await _render(p, exc.status, notice=exc.reason)
        return p.redirect(f"{community_path(c.account.username)}/members?done={done}")

    return act


async def _make_moderator(ctx: NodeContext, actor: Account, community_id: int, account_id: int) -> None:
    await communities.set_moderator(ctx, actor, community_id, account_id, True)


async def _unmake_moderator(ctx: NodeContext, actor: Account, community_id: int, account_id: int) -> None:
    await communities.set_moderator(ctx, actor, community_id, account_id, False)


@page()
async def remove_member(p: Page) -> web.StreamResponse:
    c = await _moderated(p)
    person = await accounts.get_account(p.ctx, p.path_id("account_id", "person"))
    back = f"{community_path(c.account.username)}/members"
    if p.field("confirmed") != CONFIRMED:
        return _confirm(p, REMOVE_MEMBER, f"@{person.acct()} from {c.account.display_name or c.account.username}", back)
    await communities.remove_member(p.ctx, p.user, c.account.id, person.id)
    return p.redirect(back + "?done=removed")


@page()
async def remove_post(p: Page) -> web.StreamResponse:
    c = await _moderated(p)
    post_id = p.path_id("post_id", "post")
    back = community_path(c.account.username)
    if p.field("confirmed") != CONFIRMED:
        post = await posts.get_post(p.ctx, p.user, post_id)
        if post.community_id != c.account.id:
            raise NotFound("no such post in this community")
        return _confirm(p, REMOVE_POST, "this post from the community", back, quote=excerpt(post))
    await communities.remove_post(p.ctx, p.user, c.account.id, post_id)
    return p.redirect(back + "?removed=1")


def setup_routes(app: web.Application) -> None:
    r = app.router
    base = "/communities/{name}"
    r.add_get(base + "/members", members_page)
    r.add_post(base + "/invite", invite)
    r.add_post(base + r"/requests/{account_id:\d+}/approve", _on_member(communities.approve, "approved"))
    r.add_post(base + r"/requests/{account_id:\d+}/reject", _on_member(communities.reject, "rejected"))
    r.add_post(base + r"/moderators/{account_id:\d+}", _on_member(_make_moderator, "moderator"))
    r.add_post(base + r"/moderators/{account_id:\d+}/remove", _on_member(_unmake_moderator, "unmoderator"))
    r.add_post(base + r"/members/{account_id:\d+}/remove", remove_member)
    r.add_post(base + r"/posts/{post_id:\d+}/remove", remove_post)
