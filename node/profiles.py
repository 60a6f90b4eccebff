"""What a profile shows beyond the account: its counts, and — for a person of another node not
known here yet — their recent public posts and counts, read from their node.

A remote person's page would otherwise stay empty until someone here follows them and they
post again. The first time a signed-in person opens it, the node reads the person's actor, the
first page of their outbox and the sizes of their followers and following collections: each a
request through the outbound gate (so the trust policy is asked about the host first), all
within one fetch budget. Only public and unlisted posts on the person's own origin are kept:
an outbox is what anyone may read, and nothing narrower is taken from it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import func, select

from federation.fetch import FetchBudget
from federation.gate import Purpose
from federation.parsing import InvalidActivity, ap_to_post, origin, parse_actor
from node import relationships, remote
from node.audience import Audience
from node.context import NodeContext
from node.inbox.notes import store_note
from node.pins_remote import read_featured
from node.relationships import Counts
from storage.errors import AtriumError
from storage.models import Account, Post, Tombstone

# Requests one profile's first look may make: its actor, outbox, outbox page, followers and
# following collections, its pinned posts (its node's NodeInfo, for its name, is
# node.node_names' own two).
PROFILE_FETCHES = 6
RECENT_POSTS = 20  # outbox items read at most
NOTE_TYPES = ("Note", "Article", "Page", "Question")


async def counts(ctx: NodeContext, account: Account) -> Counts:
    """A local account's counts as this node holds them (node.relationships); a remote one's
    as its own server gave them, or what is known here where that is more (someone here
    followed them since: their server's count is the older word)."""
    here = (await relationships.counts(ctx, [account.id]))[account.id]
    if account.domain is None:
        return here
    return replace(
        here,
        statuses=max(account.posts_count or 0, here.statuses),
        following=max(account.following_count or 0, here.following),
        followers=max(account.followers_count or 0, here.followers),
    )


def needs_first_look(account: Account) -> bool:
    """A remote account whose node has not been read for its profile yet."""
    return account.domain is not None and account.posts_count is None and account.actor_uri is not None


def _total(document: dict[str, Any]) -> int | None:
    total = document.get("totalItems")
    return total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None


async def _collection_total(ctx: NodeContext, uri: str | None, budget: FetchBudget) -> int | None:
    if uri is None or ctx.fetcher is None:
        return None
    try:
        return _total(await ctx.fetcher.fetch_object(uri, purpose=Purpose.COLLECTION, budget=budget))
    except AtriumError:  # FetchError and InvalidActivity are AtriumErrors too
        return None


def _items(page: dict[str, Any]) -> list[Any]:
    items = page.get("orderedItems", page.get("items"))
    return items[:RECENT_POSTS] if isinstance(items, list) else []


async def _outbox_items(ctx: NodeContext, outbox: str, budget: FetchBudget) -> tuple[int | None, list[Any]]:
    """(the outbox's totalItems, the items of its first page)."""
    assert ctx.fetcher is not None
    collection = await ctx.fetcher.fetch_object(outbox, purpose=Purpose.COLLECTION, budget=budget)
    first = collection.get("first")
    if isinstance(first, dict):
        page: dict[str, Any] = first
    elif isinstance(first, str) and origin(first) == origin(outbox):
        page = await ctx.fetcher.fetch_object(first, purpose=Purpose.COLLECTION, budget=budget)
    else:
        page = collection
    return _total(collection), _items(page)


async def _keep_note(ctx: NodeContext, account: Account, item: Any) -> bool:
    """Store one outbox item if it is a public or unlisted note of this very person, on their
    own origin, not stored or deleted already. Whether it was stored."""
    if not isinstance(item, dict) or item.get("type") != "Create" or not isinstance(item.get("object"), dict):
        return False  # a bare URI would cost a request each: the page's embedded notes suffice
    obj = item["object"]
    if obj.get("type") not in NOTE_TYPES:
        return False
    try:
        note = ap_to_post(obj)
        if note.attributed_to != account.actor_uri or origin(note.id) != origin(account.actor_uri or ""):
            return False
    except InvalidActivity:
        return False
    if not Audience.addressed(note.to, note.cc, account.followers_uri, note.scope).rules.anyone_may_see:
        return False
    async with ctx.db.reader() as s:
        known = await s.scalar(select(Post.id).where(Post.uri == note.id))
        if known is not None or await s.get(Tombstone, note.id) is not None:
            return False
    # Context for the profile, not news: no home timeline, no notification.
    await store_note(ctx, note, account, [], notify_people=False)
    return True


async def first_look(ctx: NodeContext, account: Account, budget: FetchBudget | None = None) -> Account:
    """Read a remote person's recent public posts and counts from their node (see the module's
    words); the account as stored after. A refusal or failure keeps what is known: the page
    shows it, and the next visit tries again."""
    if not needs_first_look(account) or ctx.fetcher is None:
        return account
    budget = budget or FetchBudget(PROFILE_FETCHES)
    assert account.actor_uri is not None
    try:
        document = await ctx.fetcher.fetch_object(account.actor_uri, purpose=Purpose.ACTOR, budget=budget)
        account = await remote.actor_from_document(ctx, account.actor_uri, document)
        actor = parse_actor(document)
        total, items = await _outbox_items(ctx, actor.outbox, budget) if actor.outbox else (None, [])
    except AtriumError:
        return account
    for item in items:
        try:
            await _keep_note(ctx, account, item)
        except AtriumError:
            continue  # one unusable note does not cost the others
    await read_featured(ctx, account, document, budget)  # its pinned posts (node/pins_remote.py)
    followers = await _collection_total(ctx, actor.followers, budget)
    following = await _collection_total(ctx, actor.following, budget)
    async with ctx.db.session() as s:
        row = await s.get(Account, account.id)
        if row is None:
            return account
        stored = await s.scalar(select(func.count()).select_from(Post).where(Post.account_id == account.id))
        row.posts_count = total if total is not None else int(stored or 0)
        row.followers_count = followers
        row.following_count = following
    return row
