"""Timelines, each filtered for the viewer: home, local, organization, hashtag, account, list.

Home is materialised (fan-out on write, one index range scan to read); the shared timelines
are index scans over posts by (visibility, local, id).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ColumnElement, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from node.audience import Audience
from node.context import NodeContext
from node.lists import belongs, exclusive_member, get_list
from node.mutes import hidden_authors
from node.organization import OrgDomains
from node.pagination import Page, paginate
from node.trust import Trust
from node.visibility import in_organization, in_shared_timelines, not_suspended, timeline_visibilities, visible_clause
from storage.models import Account, Post, PostTag, Tag, TimelineEntry

# The Organisation timeline's audiences: the listed ones that reach the organisation's other
# nodes too (a `local` post stays on the node it was written on).
ORGANIZATION_TIMELINE = Audience.where(lambda a: a.rules.listed and a.federates)
# The viewer's filters are built once, the viewer's id a bound parameter: building them for
# every read was most of a home timeline read's cost (the benchmark's profile).
_VIEWER = bindparam("viewer_id", type_=BigInteger)
_BOOSTED = aliased(Post, name="boosted")
_HIDDEN = hidden_authors(_VIEWER)
_UNMUTED: tuple[ColumnElement[bool], ...] = (
    Post.account_id.not_in(_HIDDEN),
    Post.reblog_of_id.is_(None) | Post.reblog_of_id.not_in(select(_BOOSTED.id).where(_BOOSTED.account_id.in_(_HIDDEN))),
)
_HOME = (
    select(Post)
    .join(TimelineEntry, TimelineEntry.post_id == Post.id)
    .where(
        TimelineEntry.account_id == _VIEWER,
        not_suspended(),
        *_UNMUTED,
        ~exclusive_member(_VIEWER, TimelineEntry.author_id),  # kept for the exclusive list
    )
)


async def home(ctx: NodeContext, viewer: Account, page: Page) -> list[Post]:
    async with ctx.db.reader() as s:
        # Page by the entry's own key (account_id, post_id): an index range scan, no sort.
        return await paginate(s, _HOME, TimelineEntry.post_id, page, _params(viewer))


def _unmuted(viewer: Account | None) -> tuple[ColumnElement[bool], ...]:
    """Keep out posts by accounts the viewer mutes or blocks, and boosts of their posts
    (the statement then needs `_params(viewer)`)."""
    return () if viewer is None else _UNMUTED


def _params(viewer: Account | None) -> dict[str, int] | None:
    return None if viewer is None else {"viewer_id": viewer.id}


def _shared(viewer: Account | None, org_domains: OrgDomains) -> Select[Post]:
    return select(Post).where(
        Post.visibility.in_(timeline_visibilities(viewer, org_domains)),
        # `local` posts exist only where they were written; never show a peer's claim of one.
        (Post.visibility != Audience.LOCAL) | Post.local.is_(True),
        Post.reblog_of_id.is_(None),
        in_shared_timelines(),
    )


async def local(ctx: NodeContext, viewer: Account | None, page: Page) -> list[Post]:
    """Posts written on this node: public ones, and for local users the inward ones too."""
    stmt = _shared(viewer, ctx.org_domains()).where(Post.local.is_(True), *_unmuted(viewer))
    async with ctx.db.reader() as s:
        return await paginate(s, stmt, Post.id, page, _params(viewer))


async def kept_out(ctx: NodeContext, s: AsyncSession) -> list[str]:
    """Domains whose posts stay out of shared timelines: `limited` (and `blocked`) peers."""
    domains = (await s.scalars(select(Account.domain).where(Account.domain.is_not(None)).distinct())).all()
    policy = ctx.policy()
    return [d for d in domains if d and policy.trust_of(d)[0] in (Trust.LIMITED, Trust.BLOCKED)]


async def federated(ctx: NodeContext, viewer: Account | None, page: Page) -> list[Post]:
    """Public posts known to this node, local and remote (not from limited peers)."""
    async with ctx.db.reader() as s:
        stmt = select(Post).where(Post.visibility == Audience.PUBLIC, Post.reblog_of_id.is_(None), in_shared_timelines(), *_unmuted(viewer))
        hidden = await kept_out(ctx, s)
        if hidden:
            stmt = stmt.join(Account, Account.id == Post.account_id).where(
                Account.domain.is_(None) | Account.domain.not_in(hidden)
            )
        return await paginate(s, stmt, Post.id, page, _params(viewer))


def organization_posts(org: OrgDomains) -> Select[Post]:
    """The Organisation timeline's posts (before the viewer's mutes): the author's domain is
    matched against the policy's rules on the author's row, joined by its primary key."""
    return (
        select(Post)
        .join(Account, Account.id == Post.account_id)
        .where(
            Post.visibility.in_(ORGANIZATION_TIMELINE),
            Post.reblog_of_id.is_(None),
            org.members(Account.domain),
            in_shared_timelines(),
        )
    )


async def organization(ctx: NodeContext, viewer: Account | None, page: Page) -> list[Post]:
    """Public and `organization` posts written on this node or on peers trusted as
    `organization` (exact or by wildcard: node/organization.py). Only members of the
    organisation (local users, users on those peers) read it."""
    org = ctx.org_domains()
    if not in_organization(viewer, org):
        return []
    stmt = organization_posts(org).where(*_unmuted(viewer))
    async with ctx.db.reader() as s:
        return await paginate(s, stmt, Post.id, page, _params(viewer))


async def hashtag(ctx: NodeContext, viewer: Account | None, name: str, page: Page) -> list[Post]:
    stmt = (
        _shared(viewer, ctx.org_domains())
        .join(PostTag, PostTag.post_id == Post.id)
        .join(Tag, Tag.id == PostTag.tag_id)
        .where(Tag.name == name.lower().lstrip("#"), *_unmuted(viewer))
    )
    async with ctx.db.reader() as s:
        hidden = await kept_out(ctx, s)
        if hidden:
            stmt = stmt.join(Account, Account.id == Post.account_id).where(
                Account.domain.is_(None) | Account.domain.not_in(hidden)
            )
        return await paginate(s, stmt, Post.id, page, _params(viewer))


async def account(
    ctx: NodeContext, viewer: Account | None, account_id: int, page: Page, *, with_boosts: bool = True
) -> list[Post]:
    """An account's posts (and boosts) that the viewer may see."""
    stmt = select(Post).where(Post.account_id == account_id, visible_clause(viewer, ctx.org_domains()))
    if not with_boosts:
        stmt = stmt.where(Post.reblog_of_id.is_(None))
    async with ctx.db.reader() as s:
        return await paginate(s, stmt, Post.id, page)


async def list_timeline(ctx: NodeContext, viewer: Account, list_id: int, page: Page) -> list[Post]:
    """The posts of the viewer's list (NotFound for anyone else's) that the viewer may see,
    without muted or blocked authors (node/lists.py says why it is a query, not a table)."""
    lst = await get_list(ctx, viewer, list_id)
    stmt = select(Post).where(belongs(lst), visible_clause(viewer, ctx.org_domains()), *_UNMUTED)
    async with ctx.db.reader() as s:
        return await paginate(s, stmt, Post.id, page, _params(viewer))
