"""Search: accounts, hashtags and posts known here (posts through the full-text index,
node/post_search.py), and resolving what is not known yet —
a remote handle by WebFinger, a post or actor URL by a signed fetch from its own origin.
Resolving is for signed-in people only, and every request it makes goes through the node's
outbound gate, which asks the trust policy about each host first and audits a refusal."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select

from federation.fetch import ACCEPT_ACTIVITY, FetchBudget
from federation.gate import Purpose
from federation.parsing import origin
from node import community_accounts, posts, remote, search_query
from node.context import NodeContext
from node.inbox.notes import MAX_THREAD_FETCHES, fetch_note
from node.post_search import Window, find_posts
from storage.errors import AtriumError
from storage.models import Account, Post, Tag

KINDS = ("accounts", "hashtags", "statuses")
ACTOR_TYPES = ("Person", "Service", "Application", "Group", "Organization")
# `user@host[:port]`, with or without the leading `@`.
HANDLE = re.compile(r"^@?([^@\s/]+)@([^@\s/]+)$")


@dataclass
class Results:
    accounts: list[Account] = field(default_factory=list)
    statuses: list[Post] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)


def _is_url(q: str) -> bool:
    return q.startswith(("https://", "http://")) and " " not in q


async def search(
    ctx: NodeContext,
    viewer: Account | None,
    q: str,
    *,
    kind: str | None = None,
    resolve: bool = False,
    limit: int = 20,
    offset: int = 0,
    window: Window | None = None,
) -> Results:
    """What `q` finds for `viewer`. Only a signed-in viewer may make the node resolve
    (fetch) anything, so an anonymous caller cannot turn it into a crawler. Posts are found
    by the full-text index (node/post_search.py), for signed-in viewers only, with the
    operators of node/search_query.py; `window` pages them (offset and limit by default)."""
    q = q.strip()
    out = Results()
    if not q:
        return out
    # `from:sam@sales.example` is an operator of a post search, not a handle to look up.
    resolve = resolve and viewer is not None and not search_query.has_operator(q)
    wanted = (kind,) if kind else KINDS
    if _is_url(q):
        found = await _by_url(ctx, viewer, q, resolve=resolve)
        if isinstance(found, Account) and "accounts" in wanted:
            out.accounts = await community_accounts.shown(ctx, [found], viewer)
        elif isinstance(found, Post) and "statuses" in wanted:
            out.statuses.append(found)
        return out
    if "accounts" in wanted:
        out.accounts = await _accounts(ctx, q, resolve=resolve, limit=limit, offset=offset)
    if "hashtags" in wanted:
        out.hashtags = await _hashtags(ctx, q, limit=limit, offset=offset)
    out.accounts = await community_accounts.shown(ctx, out.accounts, viewer)
    if "statuses" in wanted and viewer is not None:
        query = search_query.parse(q, ctx.domain)  # Invalid (422) for an operator's bad value
        out.statuses = await find_posts(ctx, viewer, query, window or Window(limit=limit, offset=offset))
    return out


async def _accounts(ctx: NodeContext, q: str, *, resolve: bool, limit: int, offset: int) -> list[Account]:
    handle = HANDLE.match(q)
    if handle is not None:
        if resolve:
            try:
                return [await remote.resolve_handle(ctx, q)]
            except AtriumError:
                return []  # an unknown user or an unreachable peer: no result, not an error
        user, host = handle.groups()
        clause = and_(func.lower(Account.username) == user.lower(),
                      Account.domain.is_(None) if host.lower() == ctx.domain else func.lower(Account.domain) == host.lower())
    else:
        term = q.lstrip("@")
        clause = or_(func.lower(Account.username).startswith(term.lower(), autoescape=True),
                     Account.display_name.icontains(term, autoescape=True))
    stmt = (
        select(Account)
        .where(clause, Account.disabled.is_(False), Account.suspended.is_(False))
        .order_by(Account.domain.is_not(None), Account.username)
        .offset(offset)
        .limit(limit)
    )
    async with ctx.db.reader() as s:
        return list(await s.scalars(stmt))


async def _hashtags(ctx: NodeContext, q: str, *, limit: int, offset: int) -> list[str]:
    term = q.lstrip("#").lower()
    if not term:
        return []
    stmt = select(Tag.name).where(Tag.name.startswith(term, autoescape=True)).order_by(Tag.name).offset(offset).limit(limit)
    async with ctx.db.reader() as s:
        return list(await s.scalars(stmt))


async def _known(ctx: NodeContext, viewer: Account | None, url: str) -> Account | Post | None:
    async with ctx.db.reader() as s:
        post = await s.scalar(select(Post).where(or_(Post.uri == url, Post.url == url)).limit(1))
        if post is not None:
            return post if await posts.viewable(ctx, s, viewer, post) else None
        account = await s.scalar(select(Account).where(or_(Account.actor_uri == url, Account.url == url)).limit(1))
        if account is not None:
            return account
        for prefix in (ctx.base_url + "/@", ctx.base_url + "/users/"):
            name = url.removeprefix(prefix) if url.startswith(prefix) else ""
            if name and "/" not in name:
                return await s.scalar(
                    select(Account).where(func.lower(Account.username) == name.lower(), Account.domain.is_(None))
                )
    return None


async def _by_url(ctx: NodeContext, viewer: Account | None, url: str, *, resolve: bool) -> Account | Post | None:
    known = await _known(ctx, viewer, url)
    if known is not None or not resolve or ctx.fetcher is None:
        return known
    try:
        # A web address (`/@user/1`) answers with a document whose id is its canonical URI:
        # read the id, keep it only on the same origin, then fetch that URI as federation does.
        # (A host the policy does not admit is refused, and audited, at the gate.)
        document = await ctx.fetcher.fetch_json(url, purpose=Purpose.LOOKUP, accept=ACCEPT_ACTIVITY, signed=True)
        object_id = document.get("id")
        if not isinstance(object_id, str) or origin(object_id) != origin(url):
            return None
        if document.get("type") in ACTOR_TYPES:
            return await remote.actor_by_uri(ctx, object_id)
        post = await fetch_note(ctx, object_id, FetchBudget(MAX_THREAD_FETCHES), set(), purpose=Purpose.LOOKUP)
        if post is None:
            return None
        return await posts.get_post(ctx, viewer, post.id)
    except AtriumError:
        return None
